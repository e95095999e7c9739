"""Ground-truth records: structured field values, image encoding with EXIF, JSON Lines I/O."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.synth.identity import REFERENCE_DATE, Identity
from ekyc.types import DocumentType, Side

FORMATS = ("jpg", "png", "heic")
PHONES = (
    ("Apple", "iPhone 13"),
    ("Google", "Pixel 7"),
    ("SONY", "XQ-CT44"),
    ("SHARP", "SH-53C"),
    ("samsung", "SC-51C"),
    ("FCNT", "F-52B"),
)
_EXIF_IFD = 0x8769
_TAG_MAKE, _TAG_MODEL, _TAG_DATETIME = 0x010F, 0x0110, 0x0132
_TAG_DATETIME_ORIGINAL, _TAG_FOCAL, _TAG_FOCAL_35 = 0x9003, 0x920A, 0xA405


def field_values(identity: Identity, doc_type: DocumentType, side: Side) -> dict[str, object]:
    """The values printed on this face, as data (ISO dates), for the manifest."""
    out: dict[str, object] = {"name": identity.name, "birth_date": identity.birth.isoformat()}
    if side is Side.FRONT or doc_type is DocumentType.RESIDENCE_CARD:
        out["address"] = identity.address
    if doc_type is not DocumentType.RESIDENCE_CARD and identity.kana.strip("　"):
        out["name_kana"] = identity.kana
    if side is Side.FRONT:
        out["sex"] = identity.sex
        out["issue_date"] = identity.issue.isoformat()
        out["expiry_date"] = identity.expiry.isoformat() if identity.expiry else None
        out["expired_on_reference_date"] = identity.expired
        out["reference_date"] = REFERENCE_DATE.isoformat()
    if doc_type is DocumentType.DRIVERS_LICENSE and side is Side.FRONT:
        out["license_number"] = identity.document_number
        out["band"] = identity.band
    elif doc_type is DocumentType.MY_NUMBER_CARD and side is Side.BACK:
        out["individual_number"] = identity.document_number
        out["individual_number_is_synthetic"] = True  # never a real person's number
    elif doc_type is DocumentType.RESIDENCE_CARD and side is Side.FRONT:
        out.update(
            card_number=identity.document_number,
            nationality=identity.nationality,
            status=identity.status,
        )
    elif doc_type in (DocumentType.PASSPORT, DocumentType.HEALTH_INSURANCE_CARD):
        out["document_number"] = identity.document_number
    return out


def exif_bytes(make: str, model: str, focal_35mm: float, taken_at: dt.datetime) -> bytes:
    """EXIF with Make/Model, DateTimeOriginal and FocalLengthIn35mmFilm (0xA405)."""
    exif = Image.Exif()
    exif[_TAG_MAKE] = make
    exif[_TAG_MODEL] = model
    stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[_TAG_DATETIME] = stamp
    sub = exif.get_ifd(_EXIF_IFD)
    sub[_TAG_DATETIME_ORIGINAL] = stamp
    sub[_TAG_FOCAL_35] = max(1, round(focal_35mm))
    sub[_TAG_FOCAL] = round(focal_35mm / 7.0, 2)  # a phone-like ~1/7" crop factor, informative only
    return exif.tobytes()


def capture_info(seed: int) -> tuple[str, str, dt.datetime]:
    """A phone make/model and capture time drawn from ``seed`` (fixed, not the clock)."""
    rng = np.random.default_rng([seed, 99])
    make, model = PHONES[int(rng.integers(0, len(PHONES)))]
    base = dt.datetime.combine(REFERENCE_DATE, dt.time(9, 0))
    return make, model, base + dt.timedelta(seconds=int(rng.integers(0, 86400 * 30)))


def encode(image: npt.NDArray[np.uint8], fmt: str, quality: int, exif: bytes) -> bytes:
    """Encode an RGB image as ``jpg``, ``png`` or ``heic`` with the given EXIF block."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    buf = io.BytesIO()
    pil = Image.fromarray(image)
    if fmt == "jpg":
        pil.save(buf, "JPEG", quality=quality, exif=exif, subsampling=2)
    elif fmt == "png":
        pil.save(buf, "PNG", exif=exif, compress_level=1)
    else:
        import pillow_heif

        heif = pillow_heif.from_pillow(pil)
        heif.save(buf, quality=quality, exif=exif)
    return buf.getvalue()


def _default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (DocumentType, Side)):
        return obj.value
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(record: dict[str, object]) -> str:
    """One manifest line (sorted keys, no NaN)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=_default, allow_nan=False)


def write_manifest(records: Iterable[dict[str, object]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(dumps(rec) + "\n")


def read_manifest(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
