"""Capture metadata from EXIF, best effort: a damaged EXIF block loses metadata, not the image."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PIL import Image

from ekyc.types import CaptureMetadata

_log = logging.getLogger(__name__)

_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_FOCAL_35MM = 0xA405


def read_capture_metadata(
    img: Image.Image | None, fmt: str, size: tuple[int, int]
) -> CaptureMetadata:
    """Read orientation, time, camera and 35 mm focal length; absent values stay None."""
    if img is None:
        return CaptureMetadata(source_format=fmt, original_size=size)
    try:
        exif = img.getexif()
        sub: dict[int, Any] = dict(exif.get_ifd(_EXIF_IFD))
    except Exception as exc:  # damaged EXIF: keep the pixels, drop the metadata
        _log.info("ignoring unreadable EXIF (%s)", type(exc).__name__)
        return CaptureMetadata(source_format=fmt, original_size=size)
    orientation = exif.get(_ORIENTATION, 1)
    return CaptureMetadata(
        source_format=fmt,
        taken_at=_parse_time(sub.get(_DATETIME_ORIGINAL) or exif.get(0x0132)),
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        focal_length_35mm=_positive(sub.get(_FOCAL_35MM)),
        exif_orientation=orientation
        if isinstance(orientation, int) and 1 <= orientation <= 8
        else 1,
        original_size=size,
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    cleaned = value.strip("\x00 \t\r\n")
    return cleaned[:64] or None


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if 0 < number < 10_000 else None


def _parse_time(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
