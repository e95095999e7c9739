"""Decode untrusted image bytes into a ``Frame``, or raise a typed ``InputError``.

Why so defensive: every byte here comes from an applicant's phone or a web form. The
format is sniffed from the bytes (never the file name), the byte size and the declared pixel
count are checked before any pixel is decoded, and whatever a third-party decoder raises on
damaged input becomes ``CorruptImage``. Supported: JPEG, PNG, WebP (first frame), HEIF/HEIC
(iPhones shoot it by default), TIFF, and the first page of a PDF (document uploads).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from ekyc.capture._exif import read_capture_metadata
from ekyc.config import DecodeLimits
from ekyc.errors import (
    CorruptImage,
    DecompressionBomb,
    EkycError,
    ImageTooLarge,
    UnsupportedFormat,
)
from ekyc.types import CaptureMetadata, Frame, RGBImage

__all__ = ["decode_image", "sniff_format"]

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_heif_lock = threading.Lock()
_heif_registered = False


def sniff_format(head: bytes) -> str | None:
    """Name the container format from the first bytes, or None when it is not one we know.

    >>> sniff_format(bytes.fromhex("89504e470d0a1a0a"))
    'PNG'
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "AVIF"
    return None


def decode_image(
    source: bytes | str | os.PathLike[str], limits: DecodeLimits | None = None
) -> Frame:
    """Decode a photo or document upload into an upright RGB ``Frame``.

    EXIF orientation is applied, so pixel coordinates everywhere downstream refer to the
    image as a person sees it. Grey, alpha (composited on white), palette, CMYK and 16-bit
    inputs become RGB uint8.

    Args:
        source: The file's bytes, or a path to it.
        limits: Byte, pixel and format limits; ``DecodeLimits()`` when omitted.

    Raises:
        ImageTooLarge: more bytes than ``limits.max_bytes``.
        DecompressionBomb: the header declares more than ``limits.max_pixels`` pixels.
        UnsupportedFormat: not one of ``limits.allowed_formats``.
        CorruptImage: empty, truncated or otherwise undecodable.

    Example:
        >>> frame = decode_image("card.jpg")  # doctest: +SKIP
        >>> frame.image.shape, frame.metadata.focal_length_35mm  # doctest: +SKIP
        ((3024, 4032, 3), 26.0)
    """
    limits = limits or DecodeLimits()
    data = _read_bounded(source, limits.max_bytes)
    if not data:
        raise CorruptImage("the file is empty", size_bytes=0)
    fmt = sniff_format(data[:32])
    if fmt is None or fmt not in limits.allowed_formats:
        shown = fmt or "unknown"
        raise UnsupportedFormat(
            f"{shown} is not an accepted image format; send JPEG, PNG, WebP, HEIF or PDF",
            detected=shown,
            allowed=sorted(limits.allowed_formats),
        )
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        if fmt == "PDF":
            from ekyc.capture._pdf import render_first_page

            image = render_first_page(data, limits)
            metadata = read_capture_metadata(None, fmt, (image.shape[1], image.shape[0]))
        else:
            image, metadata = _decode_raster(data, fmt, limits)
    except EkycError:
        raise
    except Exception as exc:
        # Decoders raise OSError, ValueError, SyntaxError, struct.error, IndexError... on
        # damaged input; the caller only needs to know the file is unusable.
        detail = str(exc)[:160] or type(exc).__name__
        raise CorruptImage(f"the {fmt} file could not be decoded: {detail}", format=fmt) from exc
    return Frame(image=image, metadata=metadata, source_sha256=sha256)


def _read_bounded(source: bytes | str | os.PathLike[str], max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise ImageTooLarge(
                f"the file has {len(data)} bytes; the limit is {max_bytes}",
                size_bytes=len(data),
                max_bytes=max_bytes,
            )
        return data
    path = Path(source)
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise CorruptImage(f"no such file: {path.name}", path=str(path)) from exc
    except IsADirectoryError as exc:
        raise CorruptImage(f"{path.name} is a directory, not an image", path=str(path)) from exc
    except OSError as exc:
        raise CorruptImage(
            f"{path.name} could not be read: {exc.strerror}", path=str(path)
        ) from exc
    if len(data) > max_bytes:
        raise ImageTooLarge(
            f"{path.name} is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes
        )
    return data


def _register_heif() -> None:
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


def _decode_raster(data: bytes, fmt: str, limits: DecodeLimits) -> tuple[RGBImage, CaptureMetadata]:
    if fmt == "HEIF":
        _register_heif()
    with warnings.catch_warnings():
        # PIL warns (and, past twice its own limit, raises) about large images; our own
        # cap below is the one that decides.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
        except Image.DecompressionBombError as exc:
            raise DecompressionBomb(
                f"the image declares more than {limits.max_pixels} pixels",
                max_pixels=limits.max_pixels,
            ) from exc
        width, height = img.size
        if width <= 0 or height <= 0:
            raise CorruptImage(f"the {fmt} header declares {width}x{height} pixels")
        if width * height > limits.max_pixels:
            raise DecompressionBomb(
                f"the image declares {width}x{height} pixels; the limit is {limits.max_pixels}",
                width=width,
                height=height,
                max_pixels=limits.max_pixels,
            )
        metadata = read_capture_metadata(img, fmt, (width, height))
        img.seek(0)  # animated WebP/PNG and multi-page TIFF: the first frame
        factor = 1
        if fmt == "JPEG" and limits.max_side and max(width, height) > limits.max_side:
            # DCT scaling: decodes at 1/2, 1/4 or 1/8 size for a fraction of the work.
            # The power of two nearest the needed reduction; area resampling does the rest.
            factor = min(8, 2 ** round(math.log2(max(width, height) / limits.max_side)))
            img.draft("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
        fast = _decode_jpeg_cv2(data, img, factor)
        if fast is None:
            img.load()
            # In place: no copy of the decoded pixels when the orientation is already upright.
            ImageOps.exif_transpose(img, in_place=True)
    rgb = fast if fast is not None else _to_rgb8(img)
    if limits.max_side and max(rgb.shape[:2]) > limits.max_side:
        scale = limits.max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    return rgb, metadata


# OpenCV's JPEG reads at 1/1, 1/2, 1/4 and 1/8 of the size (libjpeg's DCT scaling), with
# the EXIF orientation left to ``_upright``.
_ORIENTATION_TAG = 0x0112
# ``IMREAD_COLOR_RGB``: libjpeg writes RGB itself, the same pixels as BGR then
# ``cvtColor`` (every shot of 3 generated applicants, full and half size), without the
# 36 MB conversion pass: decode CPU 154 -> 118 ms per 12 MP shot (paired, load 12).
_CV2_JPEG_FLAGS = {
    1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}  # fmt: skip


def _decode_jpeg_cv2(data: bytes, img: Image.Image, factor: int) -> RGBImage | None:
    """A colour JPEG decoded by OpenCV, upright; None where Pillow must decode it.

    The same libjpeg decode as Pillow's (the same pixels, tested) for less CPU: 38 vs 65 ms
    per 12 MP phone shot decoded at half size (paired, load 14). Only a whole
    (EOI-terminated) YCbCr/RGB stream is taken here; grey, CMYK and truncated files, whose
    conversions and errors are Pillow's, go to Pillow. ``img`` is the opened (header-only,
    ``draft``-ed) image: what size Pillow would decode to.
    """
    # MPO (a JPEG followed by more, as phones with gain maps or depth send): its first
    # image, which is what libjpeg stops after; a cut file seldom ends on an EOI marker.
    if img.format not in ("JPEG", "MPO") or img.mode != "RGB" or not data.endswith(b"\xff\xd9"):
        return None
    flags = _CV2_JPEG_FLAGS.get(factor)
    if flags is None:
        return None
    flags |= cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if rgb is None or rgb.ndim != 3 or (rgb.shape[1], rgb.shape[0]) != img.size:
        return None
    # The orientation exactly as ``exif_transpose`` reads it (damaged EXIF raises there too).
    orientation = img.getexif().get(_ORIENTATION_TAG, 1)
    return _upright(np.asarray(rgb, np.uint8), orientation)


def _upright(rgb: RGBImage, orientation: object) -> RGBImage:
    """``rgb`` turned as ``ImageOps.exif_transpose`` turns it for this EXIF orientation."""
    turn = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return rgb if turn is None else np.ascontiguousarray(turn(rgb))


# ``ImageOps.exif_transpose``'s transposition per EXIF orientation, on (H, W, 3) arrays.
_TRANSPOSE: dict[int, Callable[[RGBImage], RGBImage]] = {
    2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
    3: lambda a: a[::-1, ::-1],  # ROTATE_180
    4: lambda a: a[::-1],  # FLIP_TOP_BOTTOM
    5: lambda a: a.transpose(1, 0, 2),  # TRANSPOSE
    6: lambda a: np.rot90(a, -1),  # ROTATE_270: a quarter turn clockwise
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # TRANSVERSE
    8: lambda a: np.rot90(a, 1),  # ROTATE_90: a quarter turn anticlockwise
}


def _to_rgb8(img: Image.Image) -> RGBImage:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or grey.max(initial=0) > 255 else 255.0
        grey8 = np.clip(grey * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey8[:, :, None], 3, axis=2))
    if mode in ("P", "LA", "La", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa"):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    rgb = img.convert("RGB") if img.mode != "RGB" else img
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
