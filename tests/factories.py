"""Test images the project makes itself: encoded in every format decode must handle."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ekyc.demo import render_sample_scene


def scene(width: int = 320, height: int = 180, seed: int = 7) -> np.ndarray:
    """A small sharp card-like scene (see ekyc.demo)."""
    return render_sample_scene(seed=seed, size=(width, height))


def encode(img: Image.Image | np.ndarray, fmt: str, **params: object) -> bytes:
    """Encode with PIL (HEIF through pillow_heif)."""
    pil = Image.fromarray(img) if isinstance(img, np.ndarray) else img
    buf = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.from_pillow(pil).save(buf, quality=90)
    else:
        pil.save(buf, fmt, **params)
    return buf.getvalue()


def jpeg_with_exif(
    img: np.ndarray,
    *,
    orientation: int = 1,
    focal_35mm: int | None = 26,
    make: str = "TestMake",
    model: str = "TestModel",
    taken: str = "2026:11:26 10:00:00",
) -> bytes:
    """A JPEG whose EXIF carries orientation, camera, time and 35 mm focal length."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken
    if focal_35mm is not None:
        sub[0xA405] = focal_35mm
    return encode(img, "JPEG", quality=92, exif=exif)
