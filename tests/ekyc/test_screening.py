"""ekyc.screening: the key-field gate (which first reads of the name, date of birth and expiry
stand), and the tilted shot's reasons."""

from __future__ import annotations

import datetime as dt

from ekyc.read.fields import FieldName
from ekyc.read.ocr import RETRY_BELOW_CONFIDENCE, FieldRead, legible
from ekyc.screening import EDGE_BLURRED, JUDGED, ShotScreening, key_field_problems, tilt_problems
from ekyc.types import DocumentType, Side, TiltCheck
from ekyc.verdict import ReasonCode


def _read(field: FieldName, value: object, confidence: float) -> FieldRead:
    return FieldRead(field, "text", value, confidence, (0, 0, 10, 10), 0.0)  # type: ignore[arg-type]


def test_a_sure_read_with_a_value_is_legible_and_asks_nothing() -> None:
    name = _read(FieldName.NAME, "山田太郎", 0.91)
    birth = _read(FieldName.BIRTH_DATE, dt.date(1980, 1, 2), RETRY_BELOW_CONFIDENCE)
    assert legible(name)
    assert legible(birth)
    assert key_field_problems((name, birth)) == ()


def test_an_unsure_or_empty_key_field_asks_a_judged_retake_naming_the_fields() -> None:
    unsure = _read(FieldName.NAME, "山田大郎", RETRY_BELOW_CONFIDENCE - 0.01)
    no_date = _read(FieldName.BIRTH_DATE, None, 0.93)  # read, but no valid date in it
    assert not legible(unsure)
    assert not legible(no_date)
    (problem,) = key_field_problems((unsure, no_date))
    assert problem.code is ReasonCode.KEY_FIELDS_ILLEGIBLE
    assert problem.code in JUDGED
    assert problem.detail == "name: unsure (0.59), birth_date: nothing usable (0.93)"
    assert "山田" not in problem.detail  # never the text read
    assert "shoot again" in problem.retake_message
    assert "もう一度撮影" in problem.retake_message


def test_retake_reason_asks_for_key_fields_only_where_they_were_read() -> None:
    import numpy as np

    from ekyc.types import CardDetection, CardQuad

    corners = np.float32([[0, 0], [856, 0], [856, 540], [0, 540]])
    detection = CardDetection(CardQuad(corners, 1.0), False, DocumentType.DRIVERS_LICENSE,
                              Side.FRONT, 0.9)  # fmt: skip
    empty = _read(FieldName.NAME, None, 0.0)
    frame = object()
    kept = ShotScreening(frame, detection)  # type: ignore[arg-type]
    assert kept.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT) is None
    asked = ShotScreening(frame, detection, key_fields=(empty,))  # type: ignore[arg-type]
    problem = asked.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert problem is not None
    assert problem.code is ReasonCode.KEY_FIELDS_ILLEGIBLE


def test_a_tilt_too_blurred_to_show_its_edge_asks_to_hold_still_not_flat() -> None:
    def check(thick: bool, blurred: bool, tilt: float = 42.0) -> TiltCheck:
        return TiltCheck(tilt, 30.0, 60.0, thick, 2.0 if thick else 0.0, "exif", blurred)

    (problem,) = tilt_problems(check(False, True))
    assert problem.code is ReasonCode.POOR_QUALITY
    assert problem.detail == EDGE_BLURRED
    assert problem.code in JUDGED
    assert "hold" in problem.retake_message
    assert "動かさず" in problem.retake_message
    assert not check(False, True).passed  # never a pass
    (flat,) = tilt_problems(check(False, False))
    assert flat.code is ReasonCode.FLAT_REPRODUCTION
    (angle,) = tilt_problems(check(False, True, tilt=20.0))  # the angle first
    assert angle.code is ReasonCode.TILT_NOT_SHOWN
    assert tilt_problems(check(True, False)) == ()


def test_a_key_field_read_surely_under_a_finger_asks_a_retake_about_the_finger() -> None:
    """A thumb over the given name leaves the family name read surely (consumed seed 35001):
    legible, but not the whole field."""
    import dataclasses

    from ekyc.screening import FINGER, FINGER_MAX_FRACTION

    name = _read(FieldName.NAME, "田中", 0.96)
    birth = _read(FieldName.BIRTH_DATE, dt.date(1965, 11, 2), 0.92)
    edge = dataclasses.replace(name, finger_fraction=FINGER_MAX_FRACTION)  # at the limit
    assert key_field_problems((edge, birth)) == ()
    covered = dataclasses.replace(name, finger_fraction=0.33)
    assert legible(covered)
    (problem,) = key_field_problems((covered, birth))
    assert problem.code is ReasonCode.KEY_FIELDS_ILLEGIBLE
    assert problem.code in JUDGED
    assert problem.detail == f"name: {FINGER} (33%)"
    assert "田中" not in problem.detail
    assert "finger covers the name:" in problem.retake_message
    assert "指が氏名に掛かって" in problem.retake_message
    unsure = _read(FieldName.BIRTH_DATE, None, 0.2)  # both kinds, unread first
    (both,) = key_field_problems((covered, unsure))
    assert both.detail == f"birth_date: nothing usable (0.20), name: {FINGER} (33%)"
    assert "指が氏名に掛かって" in both.retake_message  # the finger's advice, naming its field


def test_an_expiry_with_no_date_under_a_finger_asks_a_retake_about_the_finger() -> None:
    """``verify`` takes an expiry's date at any confidence and sends a card without one to a
    person (``FIELD_UNREADABLE``): consumed seed 50096 (studied only), a thumb over a
    residence card's expiry, read ``26日 まで有効`` on the front and the tilted shot alike.
    Without a finger a missing date is left to ``verify``'s second reads."""
    import dataclasses

    from ekyc.read.ocr import SCREENED_FIELDS
    from ekyc.screening import FINGER

    assert FieldName.EXPIRY_DATE in SCREENED_FIELDS
    name = _read(FieldName.NAME, "WANGXIAOMING", 0.92)
    birth = _read(FieldName.BIRTH_DATE, dt.date(1952, 2, 14), 0.92)
    unsure = _read(FieldName.EXPIRY_DATE, dt.date(2026, 9, 26), 0.3)  # a date: verify has it
    assert key_field_problems((name, birth, unsure)) == ()
    no_date = _read(FieldName.EXPIRY_DATE, None, 0.62)  # blurred, say: read again at the end
    assert key_field_problems((name, birth, no_date)) == ()
    thumb = dataclasses.replace(no_date, finger_fraction=0.4)
    (covered,) = key_field_problems((name, birth, thumb))
    assert covered.code is ReasonCode.KEY_FIELDS_ILLEGIBLE
    assert covered.code in JUDGED
    assert covered.detail == f"expiry_date: {FINGER} (40%)"
    assert "finger covers the expiry date:" in covered.retake_message
    assert "指が有効期限に掛かって" in covered.retake_message
    read_under = dataclasses.replace(unsure, finger_fraction=0.4)  # read: no retake
    assert key_field_problems((name, birth, read_under)) == ()
    (both,) = key_field_problems((_read(FieldName.NAME, None, 0.1), birth, thumb))
    assert both.detail == f"name: nothing usable (0.10), expiry_date: {FINGER} (40%)"
    assert "A finger covers the expiry date:" in both.retake_message


def test_finger_fraction_finds_a_thumb_pale_or_dark_not_ink_nor_a_warm_light() -> None:
    import cv2
    import numpy as np

    from ekyc.read.ocr import finger_fraction

    field = np.full((60, 400, 3), 238, np.uint8)  # a 40 x 6 mm field at 10 px/mm
    for x in range(20, 300, 40):  # bold strokes of black and blurred grey print
        cv2.rectangle(field, (x, 12), (x + 12, 48), (20, 20, 20), -1)
    field[:, 200:] = cv2.GaussianBlur(field[:, 200:], (0, 0), 4)
    assert finger_fraction(field, 10.0) == 0.0
    warm = (field * np.float32([1.0, 0.9, 0.78])).astype(np.uint8)  # warm light, dimmer
    assert finger_fraction(warm, 10.0) == 0.0
    for skin in ((225, 182, 160), (120, 80, 62)):  # pale and dark thumbs
        thumb = field.copy()
        cv2.circle(thumb, (340, 30), 45, skin, -1)
        covered = float(np.mean(np.all(thumb == skin, axis=2)))
        assert abs(finger_fraction(thumb, 10.0) - covered) < 0.03
        lit = (thumb * np.float32([1.0, 0.9, 0.78])).astype(np.uint8)
        assert abs(finger_fraction(lit, 10.0) - covered) < 0.03
        # given the glyph height, a thumb beside the print still counts (0.7 glyph off)...
        assert abs(finger_fraction(thumb, 10.0, text_px=36.0) - covered) < 0.03
    # ... and one over blank paper 3+ glyphs past the text's end covers no character
    short = np.full((60, 600, 3), 238, np.uint8)
    for x in range(20, 140, 40):
        cv2.rectangle(short, (x, 12), (x + 12, 48), (20, 20, 20), -1)
    cv2.circle(short, (420, 30), 45, (225, 182, 160), -1)
    assert finger_fraction(short, 10.0) > 0.1
    assert finger_fraction(short, 10.0, text_px=36.0) == 0.0


def test_a_washed_out_front_portrait_asks_a_retake_about_the_light() -> None:
    """Eyes faded past the limit by a veil of light: the front is asked again on arrival with
    advice about the light; the clipped glare is named first, a hidden face before both."""
    import numpy as np

    from ekyc.screening import FADED_MAX_RATIO, WASHED, portrait_problems
    from ekyc.types import CardDetection, CardQuad

    assert portrait_problems(1, 0.0, FADED_MAX_RATIO) == ()  # at the limit: kept
    assert portrait_problems(1, 0.0, None) == ()
    (washed,) = portrait_problems(1, 0.0, 0.9)
    assert washed.code is ReasonCode.GLARE_ON_FIELDS
    assert washed.code in JUDGED
    assert washed.detail == f"{WASHED} (its eyes faded to 0.90)"
    assert "washes out the photo" in washed.retake_message
    assert "顔写真が光で白く飛んで" in washed.retake_message
    (glared,) = portrait_problems(1, 0.05, 0.9)
    assert WASHED not in glared.detail
    (none,) = portrait_problems(0, None, None)
    assert none.code is ReasonCode.NO_FACE_ON_CARD
    corners = np.float32([[0, 0], [856, 0], [856, 540], [0, 540]])
    detection = CardDetection(CardQuad(corners, 1.0), False, DocumentType.DRIVERS_LICENSE,
                              Side.FRONT, 0.9)  # fmt: skip
    seen = ShotScreening(object(), detection, portrait_faces=1, portrait_glare=0.0,  # type: ignore[arg-type]
                         portrait_faded=0.9)  # fmt: skip
    problem = seen.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert problem is not None
    assert WASHED in problem.detail
