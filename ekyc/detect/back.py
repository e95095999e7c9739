"""The My Number card's back carries the individual number: it is never captured or kept.

The image-based method needs the back of a driver's licence or residence card, never the
My Number card's (its number is a specific personal identifier the bank must not collect).
Whatever shot an applicant sends, if it shows a My Number card's back the step is refused
with ``StepNotAllowed`` before anything is stored, logged or written as evidence.
"""

from __future__ import annotations

from ekyc.errors import StepNotAllowed
from ekyc.types import CardDetection, DocumentType, Side

__all__ = ["refuse_my_number_back", "shows_my_number_back"]


def shows_my_number_back(detection: CardDetection | None) -> bool:
    """True when the detected card is a My Number card seen from the back."""
    return (
        detection is not None
        and detection.document_type is DocumentType.MY_NUMBER_CARD
        and detection.side is Side.BACK
    )


def refuse_my_number_back(detection: CardDetection | None) -> None:
    """Raise ``StepNotAllowed`` for a My Number card's back, whatever step it came in.

    Raises:
        StepNotAllowed: with ``reason="my_number_back"``; the caller must drop the image.
    """
    if shows_my_number_back(detection):
        raise StepNotAllowed(
            "the back of the My Number card carries the individual number and must not be "
            "photographed; it was discarded (個人番号カードの裏面は撮影できません)",
            reason="my_number_back",
        )
