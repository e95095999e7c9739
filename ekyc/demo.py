"""``ekyc demo``: generate sample shots, push them through the pipeline, print what happened.

The shots are drawn here (a card-like object on a textured table), so the demo runs on a
fresh machine with no data and no network. Each sample exercises one behaviour a user
would meet: EXIF orientation and metadata, HEIC, PDF, blur, darkness, glare, and the typed
errors for a truncated file, a decompression bomb and an unsupported format.
"""

from __future__ import annotations

import io
import json
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from PIL import Image

from ekyc.types import RGBImage

__all__ = ["render_sample_scene", "run_demo", "write_samples"]

_SIZE = (1280, 720)


def render_sample_scene(seed: int = 7, size: tuple[int, int] = _SIZE) -> RGBImage:
    """A sharp, evenly lit card-like object with text and a face-like oval on a table."""
    rng = np.random.default_rng(seed)
    width, height = size
    grain = cv2.resize(
        rng.normal(0, 1, (90, 160)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    table = np.stack([120 + 25 * grain, 90 + 20 * grain, 60 + 15 * grain], axis=2)
    img = np.clip(table, 0, 255).astype(np.uint8)
    k = width / 1280  # everything scales with the width: one scene at any resolution
    card_w, card_h = int(width * 0.5), int(width * 0.5 * 53.98 / 85.60)
    x0, y0 = (width - card_w) // 2, (height - card_h) // 2
    cv2.rectangle(img, (x0, y0), (x0 + card_w, y0 + card_h), (236, 240, 232), -1, cv2.LINE_AA)
    band = y0 + card_h // 2
    cv2.rectangle(img, (x0, band), (x0 + card_w, band + round(18 * k)), (80, 170, 90), -1)
    for row in range(5):
        baseline = y0 + round((45 + row * 34 + (18 if row >= 3 else 0)) * k)
        cv2.putText(
            img,
            f"NAME {row} 2026-11-{row + 10:02d}",
            (x0 + round(20 * k), baseline),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.75 * k,
            (30, 30, 30),
            max(1, round(2 * k)),
            cv2.LINE_AA,
        )
    centre = (x0 + int(card_w * 0.8), y0 + int(card_h * 0.45))
    cv2.ellipse(
        img, centre, (card_w // 10, card_h // 5), 0, 0, 360, (200, 160, 140), -1, cv2.LINE_AA
    )
    return np.asarray(img, dtype=np.uint8)


def _with_glare(img: RGBImage, centre: tuple[int, int], radius_px: int) -> RGBImage:
    """A lamp's reflection: a clipped white core fading into a bright halo."""
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    dist = np.hypot(xx - centre[0], yy - centre[1]) / radius_px
    boost = np.clip(1.6 - dist, 0.0, 1.0)[:, :, None]
    return np.asarray(np.clip(img + boost * 400.0, 0, 255), dtype=np.uint8)


def _jpeg(img: RGBImage, *, orientation: int = 1, quality: int = 92) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "ekyc-demo"  # Make
    exif[0x0110] = "synthetic camera"  # Model
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2026:11:26 10:00:00"  # DateTimeOriginal
    sub[0xA405] = 26  # FocalLengthIn35mmFilm, a typical phone main camera
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, exif=exif)
    return buf.getvalue()


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge image: must be refused before decoding."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _encode(img: RGBImage, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt, **params)
    return buf.getvalue()


def write_samples(out_dir: Path) -> list[tuple[str, Path]]:
    """Write the demo's sample files; returns (what it shows, path) pairs."""
    import pillow_heif

    out_dir.mkdir(parents=True, exist_ok=True)
    scene = render_sample_scene()
    glare = _with_glare(scene, centre=(600, 330), radius_px=120)
    samples: list[tuple[str, str, Callable[[], bytes]]] = [
        (
            "sharp card, EXIF-rotated JPEG",
            "front.jpg",
            lambda: _jpeg(np.ascontiguousarray(np.rot90(scene, 1)), orientation=6),
        ),
        ("same shot as HEIC (iPhone default)", "front.heic", lambda: _heif(pillow_heif, scene)),
        (
            "defocused",
            "blurred.jpg",
            lambda: _jpeg(np.asarray(cv2.GaussianBlur(scene, (0, 0), 6), np.uint8)),
        ),
        ("too dark", "dark.jpg", lambda: _jpeg((scene * 0.12).astype(np.uint8))),
        ("lamp glare", "glare.jpg", lambda: _jpeg(glare)),
        ("document upload as PDF", "document.pdf", lambda: _encode(scene, "PDF", resolution=150.0)),
        ("truncated upload", "truncated.jpg", lambda: _jpeg(scene)[:5000]),
        ("decompression bomb", "bomb.png", _bomb_png),
        ("GIF (not a camera format)", "animation.gif", lambda: _encode(scene, "GIF")),
    ]
    written = []
    for label, name, make in samples:
        path = out_dir / name
        path.write_bytes(make())
        written.append((label, path))
    return written


def _heif(pillow_heif: object, img: RGBImage) -> bytes:
    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(Image.fromarray(img))  # type: ignore[attr-defined]
    heif.save(buf, quality=90)
    return buf.getvalue()


def run_demo(out_dir: str | None = None, *, as_json: bool = False, out: TextIO) -> int:
    """Generate the samples, decode and judge each, print one line per sample."""
    from ekyc.cli.quality import quality_record

    with tempfile.TemporaryDirectory(prefix="ekyc-demo-") as tmp:
        folder = Path(out_dir) if out_dir else Path(tmp)
        samples = write_samples(folder)
        if not as_json:
            out.write(f"ekyc demo: {len(samples)} generated shots in {folder}\n\n")
        for label, path in samples:
            record = quality_record(str(path)) | {"sample": label}
            if as_json:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            if record["error"] is not None:
                verdict = f"refused: {record['error']['code']} ({record['error']['message']})"
            elif record["passed"]:
                verdict = f"{record['format']} {record['width']}x{record['height']}, quality ok"
            else:
                verdict = (
                    f"{record['format']} {record['width']}x{record['height']}, "
                    f"quality FAIL: {', '.join(record['failures'])}"
                )
            out.write(f"{path.name:<14} {label:<36} {verdict}\n")
    return 0
