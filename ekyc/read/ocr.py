"""Read the key fields of a rectified card: crop, scale, OCR, normalise.

Only the few regions of ``ekyc.read.fields`` are read (four or five short lines): 125-150 ms
of CPU a card with the in-process engine, 1.5 s with one ``tesseract`` process a card
(``benchmarks/ocr.py``, 2-core machine under load). The My Number card's back is refused.

A field can be read with its background flattened (``flatten_background``): a finger, a
shadow or a coloured panel next to the text stops looking like ink to the engine. Names are
read that way first (``FLATTENED_FIRST``), the other fields plain; the cross-check reads a
field that failed again the other way (``ekyc.stages.reading``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.read.fields import FieldName, FieldRegion, field_regions
from ekyc.read.normalize import ERAS, address_key, name_key, normalize_width, parse_date
from ekyc.read.tesseract import GreyImage, LineRead, LineReader, OcrUnavailable, TesseractCli
from ekyc.types import DocumentType, RectifiedCard, RGBImage, Side

__all__ = [
    "FLATTENED_FIRST",
    "KEY_FIELDS",
    "SCREENED_FIELDS",
    "FieldRead",
    "FieldReads",
    "charset_for",
    "default_reader",
    "finger_fraction",
    "flattened",
    "legible",
    "read_fields",
]

logger = logging.getLogger(__name__)

TARGET_GLYPH_PX = 32
"""Glyph height the crops are scaled to; the LSTM reads lines normalised to 36 px."""

RETRY_GLYPH_PX = 26
RETRY_BELOW_CONFIDENCE = 0.6
"""Tesseract sometimes finds no text line at all in a clean crop at one scale and reads it
at another (``高橋　健一`` at 32 px: nothing; at 26 or 36 px: exact). Lines read with less
than this confidence are read again at ``RETRY_GLYPH_PX`` and the surer read is kept: +2 to
+4 points of exact names on photographed scenes, for 10-20 % more OCR time
(``benchmarks/ocr.py``)."""
EMPTY_GLYPH_PX = 20
"""Lines still read as nothing at all after the retry are read once more at this height.
``渡辺　誠`` (a wide gap, a one-glyph given name) reads as nothing at 24-48 px on clean
crops and exactly at 20 px (confidence 0.83-0.90). 20 px is only a last resort: there the
engine makes sure substitutions that larger glyphs do not (蓮 read as 夢 at 0.45-0.82 on 6
of 180 names that 32 px read exactly). On 180 dev fronts (21000-21029 and 23000-23029 per
type, ``_DATE``'s capture set-up) exact first-read names 166 -> 168 with it, read at 20 px
whenever still unsure instead: 167; dates of birth 168 either way."""

_PAD_PX = 6
FLATTEN_KERNEL_PX = 15
"""Side of the closing that estimates a line's background at ``TARGET_GLYPH_PX`` glyphs:
wider than a stroke, narrower than a finger. On 90 photographed fronts (1280x720, seeds
40000-40089, rectified at 10 px/mm) a second read flattened with 15 px turned 8 of 18 cards
with an unmatched field into matches (9 px: 9, 25 px: 5); flattened alone it loses some
addresses that the plain read gets, hence a second read, not a replacement."""
FLATTENED_FIRST = frozenset({FieldName.NAME})
"""Fields whose first read is flattened. On 180 photographed fronts (dev seeds 21000-21029
and 23000-23029 of each type, 1280x720 retaken until the capture gate passes, true
corners, 10 px/mm) exact first reads of the name: plain 153 (85.0 %), flattened 166
(92.2 %), either 167: a finger or the portrait's edge in the name's box is read as
characters (``佐藤 さくら ea``) or hides the line (nothing read) unless flattened, and a
plain read only once saves a name the flattened one misses. Addresses read plain 79 of 90
exact, flattened 77; dates of birth 83 either way: they stay plain first. Same CPU a line."""
_GLARE_LEVEL = 250  # every channel at or above: a specular highlight, not ink or paper
_DIGITS = "0123456789"
_LATIN_NAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.-'"
_DATE = _DIGITS + "年月日生まで有効元" + "".join(ERAS) + " "
"""What a field can print is the engine's whitelist (``charset_for``): a glyph is read as
its nearest character inside it (目 as 日, 唱和 as 昭和, never a Latin letter in a date).
On 120 photographed fronts retaken until the capture gate passes (1280x720, seeds
40000-40039 of each type, true corners, 10 px/mm), whitelisting dates and residence-card
names took exact first reads of the date of birth from 95.0 to 95.8 % (names 93.3 % both),
CPU per card unchanged. Kanji names are not whitelisted: the 21 k kana and kanji made each
line ~6x slower (70 ms against 11) for one more exact name in 120."""

FieldValue = str | dt.date | None


@dataclass(frozen=True, slots=True)
class FieldRead:
    """One field as read: raw OCR text, its normalised value, the engine's confidence.

    Attributes:
        field: Which field.
        raw_text: What the engine returned (the evidence a reviewer sees).
        value: The comparison form: a ``date`` for dates, ``name_key`` / ``address_key`` for
            names and addresses, the digits of a licence number; None when nothing usable
            was read (no text, or no valid date in it).
        confidence: The engine's mean word confidence in [0, 1].
        box: ``(x0, y0, x1, y1)`` of the region in the rectified card's pixels.
        glare_fraction: Share of the region's pixels saturated by a highlight.
        view: Which image and preprocessing gave the read: ``"front"``, or a second read
            such as ``"front/flattened"`` or ``"tilt"`` (the tilted shot of the same card).
        finger_fraction: Share of the region under a finger (``finger_fraction``); measured
            on the screened fields only (``SCREENED_FIELDS``; ~5-10 ms a
            field at 10 px/mm), 0.0 on the others.
    """

    field: FieldName
    raw_text: str
    value: FieldValue
    confidence: float
    box: tuple[int, int, int, int]
    glare_fraction: float
    view: str = "front"
    finger_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if not 0.0 <= self.glare_fraction <= 1.0:
            raise ValueError(f"glare_fraction must be in [0, 1], got {self.glare_fraction}")
        if not 0.0 <= self.finger_fraction <= 1.0:
            raise ValueError(f"finger_fraction must be in [0, 1], got {self.finger_fraction}")


@dataclass(frozen=True, slots=True)
class FieldReads:
    """All key fields read on one face of one document, with the time it took."""

    document_type: DocumentType
    side: Side
    fields: tuple[FieldRead, ...]
    elapsed_ms: float

    def get(self, field: FieldName) -> FieldRead | None:
        """The read of ``field``, or None when this document does not print it."""
        return next((f for f in self.fields if f.field is field), None)


@functools.cache
def default_reader() -> LineReader:
    """The in-process engine when libtesseract loads, else the ``tesseract`` binary (cached).

    Raises:
        OcrUnavailable: when neither is usable.
    """
    try:
        from ekyc.read.tesslib import TesseractLib

        return TesseractLib()
    except OcrUnavailable as exc:
        logger.warning("in-process tesseract unavailable (%s); using the binary", exc.message)
        return TesseractCli()


def normalize_value(field: FieldName, text: str) -> FieldValue:
    """The comparison form of ``text`` read in ``field`` (see ``FieldRead.value``)."""
    if field.is_date:
        return parse_date(text)
    if field is FieldName.NAME:
        key = name_key(text)
    elif field is FieldName.ADDRESS:
        key = address_key(text)
    else:
        key = "".join(ch for ch in normalize_width(text) if ch.isdigit())
    return key or None


def _region_box(region: FieldRegion, px_per_mm: float, shape: tuple[int, ...]) -> tuple[int, ...]:
    x0, y0, x1, y1 = (round(v * px_per_mm) for v in region.rect_mm)
    return (max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1))


def prepare_line(crop: RGBImage, text_px: float, target_px: int = TARGET_GLYPH_PX,
                 flatten: bool = False) -> GreyImage:  # fmt: skip
    """Grey, scaled so glyphs are ``target_px`` high, padded by replicating the border.

    With ``flatten`` the line is divided by its background (``flatten_background``).
    """
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    scale = target_px / max(text_px, 1.0)
    if abs(scale - 1.0) > 0.05:
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=interpolation)
    pad = _PAD_PX
    padded: GreyImage = np.asarray(
        cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE), dtype=np.uint8
    )
    if flatten:
        padded = flatten_background(padded, round(FLATTEN_KERNEL_PX * target_px / TARGET_GLYPH_PX))
    return np.asarray(padded, dtype=np.uint8)


def flatten_background(grey: GreyImage, kernel_px: int = FLATTEN_KERNEL_PX) -> GreyImage:
    """``grey`` divided by its background, estimated by a ``kernel_px`` square closing.

    The closing erases strokes thinner than the kernel, leaving paper, panels, shadows and
    fingers; after the division each of those is white and only the strokes stay dark.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_px, kernel_px))
    background = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, kernel).astype(np.float32)
    flat = grey.astype(np.float32) * 255.0 / np.maximum(background, 1.0)
    return np.asarray(np.clip(flat, 0.0, 255.0), dtype=np.uint8)


def charset_for(document_type: DocumentType, field: FieldName) -> str | None:
    """The characters ``field`` prints on ``document_type`` (None: any), the OCR whitelist.

    Dates: digits, 年月日, the era names, 元, 生 and まで有効. Names: upper-case Latin on a
    residence card (the foreign resident's name in the passport's script), kana and kanji
    on the other cards. Licence numbers: digits. Addresses mix every script: no whitelist.

    >>> charset_for(DocumentType.RESIDENCE_CARD, FieldName.NAME)
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,.-'"
    """
    if field.is_date:
        return _DATE
    if field is FieldName.LICENSE_NUMBER:
        return _DIGITS
    if field is FieldName.NAME:
        return _LATIN_NAME if document_type is DocumentType.RESIDENCE_CARD else None
    return None


def _read_with_retry(
    engine: LineReader,
    crops: list[RGBImage],
    text_px: list[float],
    regions: tuple[FieldRegion, ...],
    document_type: DocumentType,
    flatten: list[bool],
) -> list[LineRead]:
    """Read every crop at ``TARGET_GLYPH_PX``, unsure ones again, still empty ones once more.

    Again: at ``RETRY_GLYPH_PX``; once more, lines still read as nothing, at ``EMPTY_GLYPH_PX``.

    Unsure: a confidence under ``RETRY_BELOW_CONFIDENCE``, or a date field with no valid
    date in it. Of the two reads the one with a valid date wins, else the surer one: on the
    120 fronts of ``_DATE``'s note, exact first reads of the date of birth 95.8 -> 96.7 %,
    of the expiry 95.8 -> 96.7 %, CPU per card unchanged (a third scale, 40 px, added none).
    """
    fields = [r.field for r in regions]
    charsets = [charset_for(document_type, f) for f in fields]
    lines = [
        prepare_line(c, px, flatten=f) for c, px, f in zip(crops, text_px, flatten, strict=True)
    ]
    reads = list(engine.read_lines(lines, charsets))

    def read_again(redo: list[int], glyph_px: int) -> None:
        """Read lines ``redo`` at ``glyph_px``; a better-ranked read replaces the one held."""
        if not redo:
            return
        redo_lines = [prepare_line(crops[i], text_px[i], glyph_px, flatten=flatten[i])
                      for i in redo]  # fmt: skip
        retried = engine.read_lines(redo_lines, [charsets[i] for i in redo])
        for i, read in zip(redo, retried, strict=True):
            if _rank(fields[i], read) > _rank(fields[i], reads[i]):
                reads[i] = read

    unsure = [
        i for i, read in enumerate(reads) if _rank(fields[i], read) < (1, RETRY_BELOW_CONFIDENCE)
    ]
    read_again(unsure, RETRY_GLYPH_PX)
    read_again([i for i, read in enumerate(reads) if not read.text], EMPTY_GLYPH_PX)
    return reads


def flattened(field: FieldName, second: bool = False) -> bool:
    """Whether ``field``'s first read (or with ``second``, its read the other way) is flattened.

    >>> flattened(FieldName.NAME), flattened(FieldName.NAME, second=True)
    (True, False)
    """
    return (field in FLATTENED_FIRST) != second


KEY_FIELDS = (FieldName.NAME, FieldName.BIRTH_DATE)
"""The fields a front must show legibly on arrival (``legible``; the screen's key-field
gate, ``ekyc.screening.key_field_problems``): the two the application is checked on for
every document, and the two whose misreads send a genuine applicant to a person."""

SCREENED_FIELDS = (*KEY_FIELDS, FieldName.EXPIRY_DATE)
"""The fields the screen reads on a front on arrival (``Verifier.screen_shot``): the key
fields and the expiry, which every verification needs (no date read: ``FIELD_UNREADABLE``,
a review). Consumed seed 50096 (studied only): a thumb over a residence card's expiry on the
front and on the tilted shot alike, both read ``…26日 まで有効`` and the applicant went to a
person; the screen read neither field there. ``verify`` of the same bytes reuses these reads."""


def legible(read: FieldRead) -> bool:
    """Whether a read is sure enough to stand: a value, read surely enough.

    Surely enough: at least ``RETRY_BELOW_CONFIDENCE``, under which a line is read again.

    A line the engine cannot read surely after its retries is blurred, covered or faded,
    and then usually misread. On 180 dev fronts (``_DATE``'s set-up: seeds 21000-21029 and
    23000-23029 per type, retaken until the capture gate passes, 10 px/mm) 21 of the 24
    first reads of a name or date of birth that were not exact were not legible (no valid
    date, or a confidence under 0.6), and 1 of the 336 exact ones (``森 蓮`` at 0.56): 1 of
    the 161 fronts with both read exactly would be asked again. Image measures did worse on
    the same crops: edge steepness over local contrast flagged 20 exact fields to catch 2
    misreads, skin colour 50 to catch 7 (the My Number card's pink); glare over 3 % of the
    box, added to confidence, flagged 4 more exact fields to catch 1 more misread.
    """
    return read.value is not None and read.confidence >= RETRY_BELOW_CONFIDENCE


def _rank(field: FieldName, read: LineRead) -> tuple[int, float]:
    """(1 unless a date field without a valid date, confidence): higher is the better read."""
    return (int(not field.is_date or parse_date(read.text) is not None), read.confidence)


# ``finger_fraction``: a pixel is skin where its red over blue is this many times the region's
# paper's, and its red over green too (after a 0.2 mm blur, levels + 10 against the dark
# end's noise), in a blob at least ``_FINGER_MIN_MM`` across. Ratios, since a warm or dim
# light scales the channels (dev 68349: a brown thumb under warm light only 21 levels redder
# than blue against the paper's difference); ink, paper and a tinted print keep the paper's
# balance, a thumb, pale or dark, is ~1.3-2 times redder against blue.
_FINGER_RED_BLUE = 1.2
_FINGER_RED_GREEN = 1.1
_FINGER_MIN_MM = 2.0


def finger_fraction(crop: RGBImage, px_per_mm: float, text_px: float | None = None) -> float:
    """Share of a field's region under a finger: skin-coloured against the region's paper.

    Why: a thumb over part of a name leaves the rest legible, and the OCR reads the visible
    part surely (consumed seed 35001, studied only: the family name alone at 0.96), so a
    legibility check alone lets it through and the application's name then mismatches. The
    paper is the median colour of the region's brightest quarter (a thumb, 15-20 mm wide,
    covers less than three quarters of a key field). Dev front scenes 68200-68499 (300
    fronts, true corners, 600 key-field regions): within 0.05 of the drawn thumb's cover of
    the region but for two under-read (0.33 -> 0.17, 0.39 -> 0.22), and never over 0.03 where
    no thumb was drawn.
    """
    if crop.size == 0:
        return 0.0
    smooth = cv2.GaussianBlur(crop, (0, 0), 0.2 * px_per_mm).astype(np.float32) + 10.0
    grey = smooth.mean(axis=2)
    paper = np.median(smooth[grey >= np.percentile(grey, 75)], axis=0)
    red, green, blue = smooth[..., 0], smooth[..., 1], smooth[..., 2]
    skin = ((red / blue > _FINGER_RED_BLUE * paper[0] / paper[2])
            & (red / green > _FINGER_RED_GREEN * paper[0] / paper[1])).astype(np.uint8)  # fmt: skip
    size = max(3, round(_FINGER_MIN_MM * px_per_mm) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    finger = cv2.morphologyEx(skin, cv2.MORPH_OPEN, kernel)
    if text_px is not None and _clear_of_text(finger, grey, float(np.mean(paper)), text_px):
        return 0.0
    return float(np.mean(finger))


# A finger whose columns lie this many glyph heights or more beyond the field's printed text
# (either end) is over blank paper: it hides no character of the field.
_FINGER_CLEAR_GLYPHS = 3.0
_INK_LEVEL = 0.55  # ink: darker than this share of the paper's level


def _clear_of_text(finger: npt.NDArray[Any], grey: npt.NDArray[np.float32], paper: float,
                   text_px: float) -> bool:  # fmt: skip
    """Whether the ``finger`` blobs lie ``_FINGER_CLEAR_GLYPHS`` glyphs or more off the text.

    Why: a key field's box is wider than most values (a short name leaves half of it blank),
    and a thumb over the blank end covers a share of the box but no character. Dev fronts
    72000-72215 (216, true corners): 11 name or date-of-birth regions read surely with a
    drawn thumb over > 0.10, none a false skin read; 6 read right, 2 of those with the thumb
    3.6 and 9.2 glyphs beyond the text's end; every thumb over or beside a character (the
    5 wrong reads among them) was within 0.0-0.84 glyphs of the ink. Three glyphs, since a
    hidden given name begins one space (about one glyph) after the family name (consumed
    seed 35001: the thumb over the given name). No ink seen (the text all under the finger):
    not clear.
    """
    near = cv2.dilate(finger, np.ones((5, 5), np.uint8))
    ink = (grey < _INK_LEVEL * paper) & (near == 0)
    ink_cols = np.flatnonzero(ink.sum(axis=0) >= 2)
    finger_cols = np.flatnonzero(finger.sum(axis=0) > 0)
    if not len(ink_cols) or not len(finger_cols):
        return not len(finger_cols)
    gap = max(int(finger_cols[0] - ink_cols[-1]), int(ink_cols[0] - finger_cols[-1]))
    return gap >= _FINGER_CLEAR_GLYPHS * text_px


def read_fields(
    card: RectifiedCard | RGBImage,
    document_type: DocumentType,
    side: Side = Side.FRONT,
    *,
    reader: LineReader | None = None,
    px_per_mm: float | None = None,
    only: Collection[FieldName] | None = None,
    flatten: bool | None = None,
    view: str = "front",
) -> FieldReads:
    """OCR the key fields of one rectified card face.

    Args:
        card: The rectified card, or its RGB image at ``px_per_mm`` (default: the ID-1 width,
            85.60 mm, divided into the image width).
        document_type: The recognised document; its regions come from ``FIELD_REGIONS``.
        side: The face shown; the My Number card's back raises ``StepNotAllowed``.
        reader: The OCR engine (``default_reader()`` when None).
        px_per_mm: Resolution of a bare image.
        only: Read just these fields (a second read of the ones that failed).
        flatten: Flatten every line's background first (``flatten_background``), or none;
            None: each field as read first (``FLATTENED_FIRST``).
        view: Which image this is, recorded in each read (``view/flattened`` for a
            flattened line).

    Raises:
        StepNotAllowed: for the My Number card's back.
        OcrUnavailable: when no OCR engine can run.
    """
    start = time.perf_counter()
    image = card.image if isinstance(card, RectifiedCard) else card
    if isinstance(card, RectifiedCard):
        px_per_mm = card.px_per_mm
    ppm = px_per_mm if px_per_mm is not None else image.shape[1] / 85.60
    regions = tuple(
        r for r in field_regions(document_type, side) if only is None or r.field in only
    )
    boxes = [_region_box(r, ppm, image.shape) for r in regions]
    crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes]
    engine = reader if reader is not None else default_reader()
    flat = [flattened(r.field) if flatten is None else flatten for r in regions]
    reads = (
        _read_with_retry(
            engine, crops, [r.text_mm * ppm for r in regions], regions, document_type, flat
        )
        if regions
        else []
    )
    fields = tuple(
        FieldRead(
            field=region.field,
            raw_text=read.text,
            value=normalize_value(region.field, read.text),
            confidence=read.confidence,
            box=(box[0], box[1], box[2], box[3]),
            glare_fraction=float(np.mean(crop.min(axis=2) >= _GLARE_LEVEL)) if crop.size else 0.0,
            view=f"{view}/flattened" if line_flat else view,
            finger_fraction=(
                finger_fraction(crop, ppm, region.text_mm * ppm)
                if region.field in SCREENED_FIELDS
                else 0.0
            ),
        )
        for region, read, box, crop, line_flat in zip(
            regions, reads, boxes, crops, flat, strict=True
        )
    )
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    return FieldReads(document_type, side, fields, elapsed_ms)
