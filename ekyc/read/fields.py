"""Where each key field sits on each accepted document, in card millimetres: the one table.

The rectangles are ``(x0, y0, x1, y1)`` in millimetres from the card's top-left corner (the
rectified card's pixel convention divided by ``px_per_mm``). They were measured on the
synthetic generator's layouts (``benchmarks/synth/layout_*.py``: the union of 150 rendered
identities' field boxes, widened to the next printed rule or element), so they match the
synthetic cards exactly. Real cards need the same table measured on real specimens
(``shared/data/jp_id_templates`` shows the structure only); a test checks the table against
the generator so the two cannot drift apart silently.

The My Number card's individual number is never read: it is printed on the back, no region
for it exists, and asking for the back's regions raises ``StepNotAllowed``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ekyc.errors import StepNotAllowed
from ekyc.types import DocumentType, Side

__all__ = ["FIELD_REGIONS", "FieldName", "FieldRegion", "field_regions"]


class FieldName(enum.Enum):
    """The key fields the OCR cross-check reads (names match the synthetic manifest's)."""

    NAME = "name"
    BIRTH_DATE = "birth_date"
    ADDRESS = "address"
    EXPIRY_DATE = "expiry_date"
    LICENSE_NUMBER = "license_number"

    @property
    def is_date(self) -> bool:
        """Dates are normalised to ``datetime.date`` and compared exactly."""
        return self in (FieldName.BIRTH_DATE, FieldName.EXPIRY_DATE)


@dataclass(frozen=True, slots=True)
class FieldRegion:
    """One field's rectangle on a card and the nominal height of its printed glyphs.

    Attributes:
        field: Which field.
        rect_mm: ``(x0, y0, x1, y1)`` in card millimetres; wide enough for the longest value,
            clear of the neighbouring rules and labels (they confuse single-line OCR).
        text_mm: Font size the value is printed at; the reader scales each crop so that
            glyphs come out at the OCR engine's preferred height.
    """

    field: FieldName
    rect_mm: tuple[float, float, float, float]
    text_mm: float

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.rect_mm
        if not (0.0 <= x0 < x1 and 0.0 <= y0 < y1):
            raise ValueError(f"rect_mm must be (x0, y0, x1, y1) with x0 < x1, got {self.rect_mm}")
        if not self.text_mm > 0:
            raise ValueError(f"text_mm must be > 0, got {self.text_mm}")


_F = FieldName
FIELD_REGIONS: dict[tuple[DocumentType, Side], tuple[FieldRegion, ...]] = {
    (DocumentType.DRIVERS_LICENSE, Side.FRONT): (
        FieldRegion(_F.NAME, (10.7, 3.0, 54.6, 8.3), 3.7),
        FieldRegion(_F.BIRTH_DATE, (55.5, 3.0, 82.4, 8.3), 2.5),
        FieldRegion(_F.ADDRESS, (10.7, 10.7, 82.6, 14.3), 2.7),
        FieldRegion(_F.EXPIRY_DATE, (3.0, 19.2, 53.7, 23.6), 3.6),
        # Between the printed 第 (ends near 14.3 mm) and 号 (starts at 50.0 mm).
        FieldRegion(_F.LICENSE_NUMBER, (15.0, 37.2, 49.7, 41.9), 4.2),
    ),
    (DocumentType.MY_NUMBER_CARD, Side.FRONT): (
        # x1 = 73.3: the card-type box (個人番号カード) starts at 73.6 mm.
        FieldRegion(_F.NAME, (8.8, 3.0, 73.3, 8.0), 3.6),
        FieldRegion(_F.ADDRESS, (8.8, 9.3, 73.3, 13.0), 2.6),
        FieldRegion(_F.BIRTH_DATE, (28.4, 18.6, 55.4, 22.3), 2.5),
        FieldRegion(_F.EXPIRY_DATE, (55.6, 18.7, 84.6, 22.3), 2.3),
    ),
    (DocumentType.RESIDENCE_CARD, Side.FRONT): (
        # x1 = 61.6: the portrait starts at 62 mm.
        FieldRegion(_F.NAME, (9.5, 9.4, 61.6, 13.3), 3.4),
        FieldRegion(_F.BIRTH_DATE, (11.5, 14.4, 34.4, 17.9), 2.3),
        FieldRegion(_F.ADDRESS, (10.5, 22.8, 61.6, 26.0), 2.0),
        FieldRegion(_F.EXPIRY_DATE, (3.0, 48.6, 71.6, 52.0), 2.2),
    ),
}
"""The key-field regions per accepted ``(document type, side)``; nothing else is read."""


def field_regions(document_type: DocumentType, side: Side) -> tuple[FieldRegion, ...]:
    """The regions to read on this face of this document (empty when none are read).

    Raises:
        StepNotAllowed: for the My Number card's back, which carries the individual number.

    Example:
        >>> [r.field.value for r in field_regions(DocumentType.MY_NUMBER_CARD, Side.FRONT)]
        ['name', 'address', 'birth_date', 'expiry_date']
    """
    if document_type is DocumentType.MY_NUMBER_CARD and side is not Side.FRONT:
        raise StepNotAllowed(
            "the My Number card's back carries the individual number and is never read",
            document_type=document_type.value,
            side=side.value,
        )
    return FIELD_REGIONS.get((document_type, side), ())
