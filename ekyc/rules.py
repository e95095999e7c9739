"""The document rules of the image-based method, in one table.

Which photo IDs a loan applicant may use, which shots each needs, and why the others are
refused. ``DocumentType.accepted`` and ``DocumentType.has_back`` read this table.

* Driver's licence, residence card: front, a tilted shot (about 45 degrees, proving a
  physical card with thickness), back.
* My Number card: front and tilted shot only. Its back carries the individual number,
  which the bank must never capture or store: a back shot is refused (``StepNotAllowed``).
* Health-insurance card: refused, it carries no photo.
* Passport: refused; those issued from 2020-02-04 carry no address.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ekyc.types import DocumentType, Shot

__all__ = ["DOCUMENT_RULES", "DocumentRule", "rule_for"]


@dataclass(frozen=True, slots=True)
class DocumentRule:
    """What the image-based method asks of one document type."""

    document_type: DocumentType
    accepted: bool
    shots: tuple[Shot, ...]
    refusal: str | None = None

    @property
    def has_back(self) -> bool:
        """Whether a back shot is part of the method for this document."""
        return Shot.BACK in self.shots


_CARD_SHOTS = (Shot.FRONT, Shot.TILT, Shot.BACK, Shot.SELFIE)

DOCUMENT_RULES = MappingProxyType({
    DocumentType.DRIVERS_LICENSE: DocumentRule(DocumentType.DRIVERS_LICENSE, True, _CARD_SHOTS),
    DocumentType.RESIDENCE_CARD: DocumentRule(DocumentType.RESIDENCE_CARD, True, _CARD_SHOTS),
    DocumentType.MY_NUMBER_CARD: DocumentRule(
        DocumentType.MY_NUMBER_CARD, True, (Shot.FRONT, Shot.TILT, Shot.SELFIE)),
    DocumentType.HEALTH_INSURANCE_CARD: DocumentRule(
        DocumentType.HEALTH_INSURANCE_CARD, False, (),
        "a health-insurance card carries no photo (顔写真がないため利用できません)"),
    DocumentType.PASSPORT: DocumentRule(
        DocumentType.PASSPORT, False, (),
        "passports issued from 2020-02-04 carry no address (住所欄がないため利用できません)"),
})  # fmt: skip


def rule_for(document_type: DocumentType) -> DocumentRule:
    """The rule of one document type (every member of DocumentType has one)."""
    return DOCUMENT_RULES[document_type]
