"""What one card shot must show, judged the same way on arrival and in ``verify``.

A session stores shots as they arrive and verifies them when all are in. A card shot whose
card is not found, is cut by the frame, or whose layout is not read as the chosen
document's expected side would only come back at the end as a reject or a ``review``, and
its bytes would be kept meanwhile; and a shot whose layout is not read is exactly the one
the My Number back screen cannot vouch for. So the session refuses it on arrival and asks
for a retake (``retake_reason``), with the same rules ``ImageMethod`` records in a verdict
(``card_problems``): one table of what a card shot must show.

A card shot that is found and read can still be blurred, glared over (its fields, or on
the front its printed portrait: ``portrait_problems``), its portrait hidden whole (a finger,
a highlight: no face found on it), not tilted to about 45
degrees, or tilted without its thickness showing (``quality_problems``,
``tilt_problems``), or its name, date of birth or expiry not legible to the OCR (blurred, a
finger over it, faded: ``key_field_problems``): ``verify`` would reject or send it to a person,
so when asked (``Verifier.screen_shot(step=...)``) the screen judges those on arrival too. These are
*judged* problems (``JUDGED``): a caller limits how often it asks again for them, because a
judgement can be wrong about a genuine card and a retake also tells an attacker which
attempt failed; after the limit it keeps the shot and ``verify`` decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ekyc.match.quality import FaceGate
from ekyc.read.crosscheck import GLARE_MAX_FRACTION
from ekyc.read.fields import FieldName
from ekyc.read.ocr import KEY_FIELDS, FieldRead, legible
from ekyc.types import (
    CardDetection,
    DocumentType,
    FaceDetection,
    Frame,
    QualityReport,
    Side,
    TiltCheck,
)
from ekyc.verdict import ReasonCode

__all__ = [
    "EDGE_BLURRED",
    "FADED_MAX_RATIO",
    "FINGER",
    "FINGER_MAX_FRACTION",
    "JUDGED",
    "WASHED",
    "CardProblem",
    "ShotScreening",
    "card_problems",
    "key_field_problems",
    "portrait_glare_problems",
    "portrait_problems",
    "quality_problems",
    "selfie_problems",
    "tilt_problems",
]

JUDGED = frozenset({
    ReasonCode.POOR_QUALITY,
    ReasonCode.GLARE_ON_FIELDS,
    ReasonCode.NO_FACE_ON_CARD,
    ReasonCode.TILT_NOT_SHOWN,
    ReasonCode.FLAT_REPRODUCTION,
    ReasonCode.NO_FACE_IN_SELFIE,
    ReasonCode.SELFIE_QUALITY,
    ReasonCode.KEY_FIELDS_ILLEGIBLE,
})  # fmt: skip
"""Problems a judgement finds in a found, read card or in a selfie (see the module): a
caller limits the retakes it asks for them."""

_BLURRED_OR_DARK = frozenset(
    {"sharpness", "sharpness_in_region", "underexposure", "overexposure", "resolution"}
)

FINGER = "covered by a finger"
"""In ``KEY_FIELDS_ILLEGIBLE``'s detail: a key field read surely but partly under a finger."""

# A key field with more of its region under a finger is asked again even when read surely.
# Dev front scenes 68200-68499 (300, true corners, first reads): of the surely read names
# and dates with over 0.10 covered, 3 were read wrong (0.12, 0.14, 0.41: a family name
# alone, stray kana) and 6 right (0.16-0.24): the price is a retake of a front the OCR read
# anyway, and the retake asked is about a thumb that is over the field.
FINGER_MAX_FRACTION = 0.10

# The front is asked again on arrival when its printed face's eyes are faded past this
# (``PortraitLook.faded``: the worse eye's dark grey level over its bright one; a veil of
# light lifts the dark towards the bright). Dev front scenes 77300-77573 as the bench renders
# them, LFW faces and the astronaut, no glare spot (studied): 0 of 267 clean fronts over it
# (119 screened on arrival: median 0.39 whatever the face's brightness, max 0.71; 148
# rectified on their true corners: max 0.68); make_applicant(3)'s clean fair face 0.62 (0.37
# washed by ``PortraitLook.washed``'s colour rule). A veil (alpha 0.3-0.85) laid over the
# portrait that today's screen keeps: 72 of 107 over it (on the true corners: alpha 0.3-0.5
# 7 of 51, 0.5-0.7 41 of 59, 0.7-0.85 34 of 36); a soft glare spot it keeps: 23 of 46.
FADED_MAX_RATIO = 0.75

WASHED = "portrait washed out"
"""In ``GLARE_ON_FIELDS``'s detail: the front's printed face faded by a veil of light."""

EDGE_BLURRED = "edge_blurred"
"""``POOR_QUALITY``'s detail for a tilted shot whose card edges are too blurred across for
its thickness to show either way (``TiltCheck.edge_blurred``): a retake held still."""


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
        if self.code in (ReasonCode.TILT_NOT_SHOWN, ReasonCode.FLAT_REPRODUCTION):
            return (  # its verdict text speaks of copies: a genuine card's edge was not seen
                "Tilt the card to about 45 degrees so that its edge (thickness) shows, in good "
                "light, and shoot again (カードを45度ほど傾け、厚みが見えるように"
                "もう一度撮影してください)"
            )
        if self.code is ReasonCode.POOR_QUALITY and self.detail == EDGE_BLURRED:
            return (
                "The card's edge is blurred: hold the phone and the card still, tilted to about "
                "45 degrees, and shoot again (カードの縁がぶれています。45度ほど傾けたまま"
                "動かさずにもう一度撮影してください)"
            )
        if self.code is ReasonCode.GLARE_ON_FIELDS and WASHED in self.detail:
            return (
                "A reflection washes out the photo on the card: turn the card a little away "
                "from the light and shoot again (顔写真が光で白く飛んでいます。光が映り込まない"
                "ように少し向きを変えて、もう一度撮影してください)"
            )
        if self.code is ReasonCode.NO_FACE_ON_CARD:
            return (
                "The photo on the card could not be seen: keep fingers and reflections off it "
                "and shoot again (顔写真に指や光が掛からないように、もう一度撮影してください)"
            )
        if self.code is ReasonCode.KEY_FIELDS_ILLEGIBLE and FINGER in self.detail:
            en, ja = _fields_named(self.detail, finger=True)
            return (
                f"A finger covers the {en}: hold the card by its edges, away from the printed "
                f"text, and shoot again (指が{ja}に掛かっています。"
                "文字に掛からないようにカードの端を持って、もう一度撮影してください)"
            )
        if self.code is ReasonCode.KEY_FIELDS_ILLEGIBLE:
            en, ja = _fields_named(self.detail)
            return (
                f"The {en} could not be read: keep fingers and reflections off the text, hold "
                f"the card still and shoot again ({ja}が読み取れません。"
                "指や光が掛からないように、ぶれないようにもう一度撮影してください)"
            )
        if self.code is ReasonCode.SELFIE_QUALITY and "eyes_hidden" in self.detail:
            return (
                "Take off sunglasses and anything that hides your face, and take the selfie "
                "again (サングラスなど顔を隠すものを外して、もう一度撮影してください)"
            )
        if self.code in (ReasonCode.NO_FACE_IN_SELFIE, ReasonCode.SELFIE_QUALITY):
            return (
                "Show your face alone, facing the camera, eyes open, in good light, and take "
                "the selfie again (お一人で正面を向き、明るい場所でもう一度撮影してください)"
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


def quality_problems(report: QualityReport) -> tuple[CardProblem, ...]:
    """The reasons a card shot's quality report gives (blurred or dark, glare on fields)."""
    failed = set(report.failures)
    problems: list[CardProblem] = []
    if failed & _BLURRED_OR_DARK:
        problems.append(
            CardProblem(ReasonCode.POOR_QUALITY, ", ".join(sorted(failed & _BLURRED_OR_DARK)))
        )
    if "glare_in_region" in failed:
        problems.append(CardProblem(ReasonCode.GLARE_ON_FIELDS))
    return tuple(problems)


def portrait_glare_problems(glare: float) -> tuple[CardProblem, ...]:
    """Glare over the card's printed portrait: more than ``GLARE_MAX_FRACTION`` of its face.

    ``glare`` is the share of the portrait's face box in highlights
    (``ekyc.stages.look_at_portrait``). ``verify`` records it beside a face mismatch on the
    least glared view of the portrait (the highlight that drags a genuine score down); on
    arrival the front step is asked again for it, whatever the selfie will show.
    """
    if glare > GLARE_MAX_FRACTION:
        return (CardProblem(ReasonCode.GLARE_ON_FIELDS, f"{glare:.1%} of the portrait's face"),)
    return ()


def portrait_problems(faces: int, glare: float | None, faded: float | None = None
                      ) -> tuple[CardProblem, ...]:  # fmt: skip
    """The front's printed portrait on arrival: hidden whole, glared over, or washed out.

    ``faces``: the faces ``ekyc.stages.look_at_portrait`` found on the rectified front;
    ``glare``: the best one's glare (``portrait_glare_problems``); ``faded``: how far a
    veil of light has faded its eyes (``PortraitLook.faded``). ``verify`` records
    ``NO_FACE_ON_CARD`` for the same look (a reject: there is nothing to match the selfie
    with), so the front step is asked again for it first; a judged retake, since the face
    detector can miss a genuine, faint portrait. A face faded past ``FADED_MAX_RATIO`` is a
    poor sample for the match, and a reflection the applicant can turn the card out of.
    """
    if faces == 0:
        return (CardProblem(ReasonCode.NO_FACE_ON_CARD, "no face on the printed portrait"),)
    found = portrait_glare_problems(glare) if glare is not None else ()
    if not found and faded is not None and faded > FADED_MAX_RATIO:
        detail = f"{WASHED} (its eyes faded to {faded:.2f})"
        found = (CardProblem(ReasonCode.GLARE_ON_FIELDS, detail),)
    return found


def key_field_problems(reads: Iterable[FieldRead]) -> tuple[CardProblem, ...]:
    """The front's screened fields (``ekyc.read.ocr.SCREENED_FIELDS``) the OCR cannot read.

    ``reads``: their first reads on the rectified front, as ``verify`` reads them. A name or
    date of birth that is not ``legible`` (nothing usable, or unsure) gives
    ``KEY_FIELDS_ILLEGIBLE``, whose detail names the fields. So does one read surely but with
    more than ``FINGER_MAX_FRACTION`` of its region under a finger
    (``FieldRead.finger_fraction``): the OCR reads the part left visible as surely as a whole
    name (consumed seed 35001, studied only: a thumb over the given name, the family name
    alone read at 0.96, and a name mismatch at the end). So does an expiry with no date read
    under such a finger (``_readable``). A field not read that is that much under a finger
    is named as covered, so the advice is about the finger. Never the text read, nor anything
    about the application: the answer is the same whoever applies with the card.
    """
    reads = tuple(reads)
    unread = [read for read in reads if not _readable(read)]
    covered = [r for r in reads if r not in unread and r.field in KEY_FIELDS
               and r.finger_fraction > FINGER_MAX_FRACTION]  # fmt: skip
    if not unread and not covered:
        return ()
    detail = ", ".join(
        [f"{read.field.value}: "
         + (f"{FINGER} ({read.finger_fraction:.0%})" if read.finger_fraction > FINGER_MAX_FRACTION
            else ("nothing usable" if read.value is None else "unsure")
            + f" ({read.confidence:.2f})")
         for read in unread]
        + [f"{read.field.value}: {FINGER} ({read.finger_fraction:.0%})" for read in covered]
    )  # fmt: skip
    return (CardProblem(ReasonCode.KEY_FIELDS_ILLEGIBLE, detail),)


# An expiry is asked again only when no date was read *and* a finger lies over
# more than FINGER_MAX_FRACTION of its region. ``verify`` takes the date at any confidence,
# and one the front's first read misses is read again flattened and on the tilted shot; a
# card with no date read anywhere goes to a person (FIELD_UNREADABLE). Consumed seed 50096
# (studied only): a thumb over a residence card's expiry on the front and the tilted shot
# alike, every read ``…26日 まで有効``, a review. Dev fronts 72000-72127 (128, true corners,
# first reads): the expiry had no date on 8, blur or noise, none under a thumb (every one of
# them a retake for nothing had no date alone been asked), and the five with a drawn thumb
# over > 0.10 of the region were read right; one licence's gold band read 0.13 with no thumb.
def _readable(read: FieldRead) -> bool:
    """A name or date of birth ``legible``; an expiry with a date, or with none but no finger."""
    if read.field is FieldName.EXPIRY_DATE:
        return read.value is not None or read.finger_fraction <= FINGER_MAX_FRACTION
    return legible(read)


_FIELD_WORDS = {
    FieldName.NAME: ("name", "氏名"),
    FieldName.BIRTH_DATE: ("date of birth", "生年月日"),
    FieldName.EXPIRY_DATE: ("expiry date", "有効期限"),
}


def _fields_named(detail: str, finger: bool = False) -> tuple[str, str]:
    """The fields a ``KEY_FIELDS_ILLEGIBLE`` detail names, in English and Japanese.

    With ``finger``, those it says are covered by one. The name and date of birth where it
    names none.
    """
    entries = dict(part.split(": ", 1) for part in detail.split(", ") if ": " in part)
    shown = {k for k, v in entries.items() if not finger or v.startswith(FINGER)}
    named = [words for field, words in _FIELD_WORDS.items() if field.value in shown]
    named = named or [_FIELD_WORDS[FieldName.NAME], _FIELD_WORDS[FieldName.BIRTH_DATE]]
    return " and ".join(en for en, _ in named), "・".join(ja for _, ja in named)


def tilt_problems(check: TiltCheck) -> tuple[CardProblem, ...]:
    """Why a tilted shot does not prove a physical card: out of the band, or no thickness.

    No thickness on edges too blurred to show one (``TiltCheck.edge_blurred``: the phone
    moved) is poor quality (``EDGE_BLURRED``), not a flat reproduction: the applicant is
    asked to hold still, and the shot does not pass either way.
    """
    if not check.in_band:
        return (CardProblem(ReasonCode.TILT_NOT_SHOWN, f"{check.tilt_deg:.0f} degrees"),)
    if not check.thickness_visible and check.edge_blurred:
        return (CardProblem(ReasonCode.POOR_QUALITY, EDGE_BLURRED),)
    if not check.thickness_visible:
        return (CardProblem(ReasonCode.FLAT_REPRODUCTION),)
    return ()


def selfie_problems(faces: int, gate: FaceGate, *, arrival: bool = False
                    ) -> tuple[CardProblem, ...]:  # fmt: skip
    """Why a selfie cannot be matched: not exactly one face, or the face gate's issues.

    ``arrival``: the daemon's look on arrival, which also asks again for the gate's advice
    (dark glasses over the eyes: ``SELFIE_QUALITY`` with ``eyes_hidden``); ``verify`` does
    not refuse for it, the face match decides.
    """
    if gate.face is None or faces != 1:
        return (CardProblem(ReasonCode.NO_FACE_IN_SELFIE, f"{faces} faces"),)
    if not gate.passed:
        issues = ", ".join(issue.value for issue in gate.issues)
        return (CardProblem(ReasonCode.SELFIE_QUALITY, issues),)
    if arrival and gate.advice:
        advice = ", ".join(issue.value for issue in gate.advice)
        return (CardProblem(ReasonCode.SELFIE_QUALITY, advice),)
    return ()


@dataclass(frozen=True, slots=True)
class ShotScreening:
    """A decoded shot and the card ``find_card`` saw in it (``None``: no card).

    Produced only for shots that passed the My Number back screen. A selfie's card is
    always ``None``: a selfie is searched for a My Number back alone
    (``ekyc.detect.find_my_number_back``), and one found is refused.
    """

    frame: Frame
    detection: CardDetection | None
    held_back_checked: bool = False
    """Whether the frame was also searched for a My Number back held up in a selfie
    (``ekyc.detect.find_held_my_number_back``), which the whole frame's card may hide."""
    quality: QualityReport | None = None
    """The card's capture quality, when the screen was asked to judge a card step."""
    tilt: TiltCheck | None = None
    """The tilt and thickness check, when the screen was asked to judge the tilted step."""
    face_gate: FaceGate | None = None
    """The selfie's face quality gate, when the screen was asked to judge the selfie."""
    found_faces: tuple[FaceDetection, ...] = ()
    """Faces found in a selfie the screen was asked to judge (``face_gate`` then set), best
    first; ``verify`` of the same bytes reuses them."""
    portrait_glare: float | None = None
    """The glare over the printed portrait's face, when the screen was asked to judge the
    front step and found a face on the card (``portrait_glare_problems``)."""
    portrait_faded: float | None = None
    """How far a veil of light has faded the printed face's eyes, where ``portrait_glare``
    is set (``portrait_problems``)."""
    portrait_faces: int | None = None
    """Faces found on the printed portrait, when the screen was asked to judge the front
    step and rectified its card (``portrait_problems``); ``None`` where it did not look."""
    key_fields: tuple[FieldRead, ...] | None = None
    """The front's screened fields (``SCREENED_FIELDS``: key fields and expiry) as first
    read, when the screen was asked to judge the front step and read its card
    (``key_field_problems``); ``None`` where it did not read."""

    @property
    def faces(self) -> int:
        """How many faces the screen found in the selfie (0 where it did not judge one)."""
        return len(self.found_faces)

    def retake_reason(self, expected: DocumentType, side: Side) -> CardProblem | None:
        """The first reason to ask for this card shot again, or ``None`` to keep it.

        Card problems first (not found, cut, not read, another document or side); then,
        where they were judged, quality, the portrait (hidden, glared over), the key fields
        (not legible) and tilt (``JUDGED``: the caller limits those).
        """
        problems = card_problems(self.detection, expected, side)
        if not problems and self.quality is not None:
            problems = quality_problems(self.quality)
        if not problems and self.portrait_faces is not None:
            problems = portrait_problems(self.portrait_faces, self.portrait_glare,
                                         self.portrait_faded)  # fmt: skip
        if not problems and self.key_fields is not None:
            problems = key_field_problems(self.key_fields)
        if not problems and self.tilt is not None:
            problems = tilt_problems(self.tilt)
        return problems[0] if problems else None

    def selfie_retake_reason(self) -> CardProblem | None:
        """Why to ask for this selfie again (``JUDGED``); ``None`` to keep it or unjudged."""
        if self.face_gate is None:
            return None
        problems = selfie_problems(self.faces, self.face_gate, arrival=True)
        return problems[0] if problems else None
