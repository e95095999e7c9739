"""What one card shot must show, judged the same way on arrival and in ``verify``.

A session stores shots as they arrive and verifies them when all are in. A card shot whose
card is not found, is cut by the frame, or whose layout is not read as the chosen
document's expected side would only come back at the end as a reject or a ``review``, and
its bytes would be kept meanwhile; and a shot whose layout is not read is exactly the one
the My Number back screen cannot vouch for. So the session refuses it on arrival and asks
for a retake (``retake_reason``), with the same rules ``ImageMethod`` records in a verdict
(``card_problems``): one table of what a card shot must show.
"""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.types import CardDetection, DocumentType, Frame, Side
from ekyc.verdict import ReasonCode

__all__ = ["CardProblem", "ShotScreening", "card_problems"]


@dataclass(frozen=True, slots=True)
class CardProblem:
    """One reason a card shot is not what its step expects (``detail`` for people)."""

    code: ReasonCode
    detail: str = ""

    @property
    def retake_message(self) -> str:
        """English and Japanese text asking the applicant for the shot again."""
        if self.code is ReasonCode.LAYOUT_NOT_RECOGNISED:  # its verdict text asks a person
            return (
                "The card could not be read: hold it whole in the guide, without glare, and "
                "shoot again (書類を読み取れません。もう一度撮影してください)"
            )
        return f"{self.code.message}: please shoot again (もう一度撮影してください)"


def card_problems(
    detection: CardDetection | None, expected: DocumentType, side: Side
) -> tuple[CardProblem, ...]:
    """Why ``detection`` is not ``expected``'s ``side``, in the order a person fixes them.

    Empty when the card is whole and its layout reads as the expected document and side.
    """
    if detection is None:
        return (CardProblem(ReasonCode.CARD_NOT_FOUND),)
    problems: list[CardProblem] = []
    if detection.cut_by_border:
        problems.append(CardProblem(ReasonCode.CARD_CUT_OFF))
    found = detection.document_type
    if found is None:
        problems.append(CardProblem(ReasonCode.LAYOUT_NOT_RECOGNISED))
    elif not found.accepted:
        problems.append(CardProblem(ReasonCode.DOCUMENT_NOT_ACCEPTED, found.value))
    elif found is not expected:
        detail = f"expected {expected.value}, saw {found.value}"
        problems.append(CardProblem(ReasonCode.WRONG_DOCUMENT_TYPE, detail))
    elif detection.side is not side:
        problems.append(
            CardProblem(
                ReasonCode.WRONG_SIDE, f"expected the {side.value}, saw the {detection.side.value}"
            )
        )
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class ShotScreening:
    """A decoded shot and the card ``find_card`` saw in it (``None``: no card).

    Produced only for shots that passed the My Number back screen.
    """

    frame: Frame
    detection: CardDetection | None
    held_back_checked: bool = False
    """Whether the frame was also searched for a My Number back held up in a selfie
    (``ekyc.detect.find_held_my_number_back``), which the whole frame's card may hide."""

    def retake_reason(self, expected: DocumentType, side: Side) -> CardProblem | None:
        """The first reason to ask for this card shot again, or ``None`` to keep it."""
        problems = card_problems(self.detection, expected, side)
        return problems[0] if problems else None
