"""Step 6: the eKYC session opened by the mailed URL, its shots and the 7-year record."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Engine

from ekyc.errors import StepNotAllowed
from ekyc.liveness import AttackType, LivenessResult, Reason
from ekyc.screening import CardProblem
from ekyc.types import DocumentType, Shot
from ekyc.verdict import ReasonCode
from loanflow import applications, ekyc_session, staff_views
from loanflow.application_tables import Application, EkycStatus, EkycVerification
from loanflow.db import SessionFactory
from loanflow.errors import (
    CodeExpired,
    DocumentRejected,
    InvalidTransition,
    NotFound,
    Replay,
    RetakeNeeded,
)
from loanflow.verifier import Decision, DecodeCheckVerifier, required_shots

from .conftest import FakeClock, Mailbox, snapshot
from .factories import activate, image_bytes, ready_to_submit
from .test_applications import EKYC_MAIL, ekyc_token

EMAIL = "hanako@example.jp"


@pytest.fixture
def submitted(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> tuple[str, str, str]:
    """(applicant id, application id, eKYC token read from the mail)."""
    applicant, _ = activate(db, clock, mailbox, EMAIL)
    application_id = ready_to_submit(db, clock, applicant)
    applications.submit(db, applicant, application_id, clock=clock)
    mailbox.deliver(db)
    return applicant, application_id, ekyc_token(mailbox)


def _take_all(db: SessionFactory, clock: FakeClock, token: str, document: DocumentType) -> None:
    ekyc_session.choose_document(db, token, document, clock=clock)
    for seed, shot in enumerate(required_shots(document)):
        ekyc_session.add_shot(db, token, shot, image_bytes("JPEG", (320, 200), seed), clock=clock)


def test_shots_verified_and_recorded_for_seven_years(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    applicant, application_id, token = submitted
    view = ekyc_session.open_session(db, token, clock=clock)
    assert (view.application_id, view.document_type, view.shots_taken) == (application_id, None, ())
    _take_all(db, clock, token, DocumentType.DRIVERS_LICENSE)
    retake = image_bytes("PNG", (320, 200), seed=9)
    ekyc_session.add_shot(db, token, Shot.SELFIE, retake, clock=clock)  # the latest counts
    clock.advance(minutes=10)
    record = ekyc_session.finish(db, token, DecodeCheckVerifier(), clock=clock)
    assert record.decision is Decision.REVIEW  # no face comparison: a person decides
    assert "FACE_NOT_COMPARED" in record.reasons
    assert set(record.image_sha256) == {Shot.FRONT, Shot.TILT, Shot.BACK, Shot.SELFIE}
    assert record.retain_until == datetime(2032, 4, 25, 1, 10, tzinfo=UTC)
    with engine.connect() as connection:
        row = connection.execute(sa.select(EkycVerification)).one()
        status = connection.scalar(sa.select(Application.ekyc_status))
    assert (row.method, row.document_type, row.verifier) == (
        "image_and_selfie",
        "drivers_license",
        "decode-check@1",
    )
    assert row.image_sha256 == {shot.value: sha for shot, sha in record.image_sha256.items()}
    assert status == EkycStatus.REVIEW.value
    before = snapshot(engine)
    with pytest.raises(Replay):  # the URL is spent
        ekyc_session.open_session(db, token, clock=clock)
    with pytest.raises(InvalidTransition):  # the reissue link is hidden once done
        ekyc_session.reissue_url(db, applicant, application_id, clock=clock)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.exec_driver_sql("UPDATE ekyc_verifications SET decision = 'accept'")
    assert snapshot(engine) == before


def test_expired_url_changes_nothing(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    _, _, token = submitted
    clock.advance(hours=3)
    ekyc_session.open_session(db, token, clock=clock)  # the last valid instant
    clock.advance(seconds=1)
    before = snapshot(engine)
    with pytest.raises(CodeExpired):
        ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    with pytest.raises(NotFound):
        ekyc_session.open_session(db, "x" * 43, clock=clock)
    assert snapshot(engine) == before


def test_reissue_invalidates_the_old_url(
    db: SessionFactory,
    clock: FakeClock,
    mailbox: Mailbox,
    submitted: tuple[str, str, str],
) -> None:
    applicant, application_id, old = submitted
    clock.advance(hours=4)
    ekyc_session.reissue_url(db, applicant, application_id, clock=clock)
    mailbox.deliver(db)
    assert len(mailbox.received(EMAIL, EKYC_MAIL)) == 2
    new = ekyc_token(mailbox)
    with pytest.raises(CodeExpired) as info:
        ekyc_session.open_session(db, old, clock=clock)
    assert info.value.context["reason"] == "reissued"
    assert ekyc_session.open_session(db, new, clock=clock).application_id == application_id


@pytest.mark.models
@pytest.mark.parametrize("shot", [Shot.BACK, Shot.FRONT, Shot.SELFIE])
def test_my_number_back_sent_as_any_step_is_screened_out(
    db: SessionFactory,
    engine: Engine,
    clock: FakeClock,
    submitted: tuple[str, str, str],
    shot: Shot,
) -> None:
    # A licence session takes a back; a My Number back sent there (or as a front or the
    # selfie) passes the step rules and decodes: only a look at the image keeps it out.
    from tests.ekyc.detect.cards import card_scene, rgb
    from tests.ekyc.test_pipeline import _jpeg, verifier

    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    steps = required_shots(DocumentType.DRIVERS_LICENSE)
    for taken in steps[: steps.index(shot)]:
        ekyc_session.add_shot(db, token, taken, image_bytes("JPEG", (320, 200)), clock=clock)
    before = snapshot(engine)
    back = _jpeg(rgb(card_scene("back", DocumentType.MY_NUMBER_CARD, 3)))
    with pytest.raises(StepNotAllowed) as info:
        ekyc_session.add_shot(db, token, shot, back, clock=clock, screen=verifier())
    assert info.value.context["reason"] == "my_number_back"
    assert snapshot(engine) == before
    side = "back" if shot is Shot.BACK else "front"
    licence = _jpeg(rgb(card_scene(side, DocumentType.DRIVERS_LICENSE, 3)))
    digest = ekyc_session.add_shot(db, token, shot, licence, clock=clock, screen=verifier())
    assert shot in ekyc_session.open_session(db, token, clock=clock).shots_taken
    assert len(digest) == 64


@pytest.mark.models
def test_a_my_number_back_held_up_in_the_selfie_is_screened_out(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    # Held below the face, the card is not the largest outline in the selfie: the selfie
    # step looks for it there too, and keeps the selfie only when none is seen.
    from benchmarks.synth.selfie import astronaut_face, render_selfie
    from tests.ekyc.detect.cards import held_back_selfie
    from tests.ekyc.test_pipeline import HELD_BACK_SEEDS, _jpeg, verifier

    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    before = snapshot(engine)
    held = _jpeg(held_back_selfie(HELD_BACK_SEEDS[0]))
    with pytest.raises(StepNotAllowed) as info:
        ekyc_session.add_shot(db, token, Shot.SELFIE, held, clock=clock, screen=verifier())
    assert info.value.context["reason"] == "my_number_back"
    assert snapshot(engine) == before
    selfie, _ = render_selfie(astronaut_face(), (720, 1280), np.random.default_rng([3000, 77]))
    ekyc_session.add_shot(db, token, Shot.SELFIE, _jpeg(selfie), clock=clock, screen=verifier())
    assert Shot.SELFIE in ekyc_session.open_session(db, token, clock=clock).shots_taken


@pytest.mark.models
def _refusals_added(before: dict, after: dict) -> list[tuple[str, str]]:
    """(shot, reason) of the refusals recorded between two snapshots; nothing else changed."""
    assert {k: v for k, v in after.items() if k != "ekyc_refusals"} == {
        k: v for k, v in before.items() if k != "ekyc_refusals"
    }
    added = after["ekyc_refusals"][len(before["ekyc_refusals"]) :]
    return [(row[2], row[3]) for row in added]  # (id, session_id, shot, reason, refused_at)


def test_a_card_step_without_the_chosen_cards_side_is_refused_for_a_retake(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    # Fail-closed: a card step keeps only a shot whose card is whole and read as the
    # chosen document's side for that step; anything else is asked again, unstored, and
    # the refusal (why, when; never the bytes) is recorded.
    from tests.ekyc.detect.cards import card_scene, rgb
    from tests.ekyc.test_pipeline import _jpeg, applicant, verifier

    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    front = _jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 4)))
    tilted = applicant(7000, DocumentType.DRIVERS_LICENSE).shots["tilt"]
    table = image_bytes("JPEG", (1280, 720))
    before = snapshot(engine)
    with pytest.raises(RetakeNeeded) as empty:
        ekyc_session.add_shot(db, token, Shot.FRONT, table, clock=clock, screen=verifier())
    assert empty.value.context == {"reason": "card_not_found", "shot": "front", "observed": ""}
    assert _refusals_added(before, snapshot(engine)) == [("front", "card_not_found")]
    ekyc_session.add_shot(db, token, Shot.FRONT, front, clock=clock, screen=verifier())
    ekyc_session.add_shot(db, token, Shot.TILT, tilted, clock=clock, screen=verifier())
    before = snapshot(engine)
    with pytest.raises(RetakeNeeded) as wrong:  # the front again where the back belongs
        ekyc_session.add_shot(db, token, Shot.BACK, front, clock=clock, screen=verifier())
    assert wrong.value.context["reason"] == "wrong_side"
    assert wrong.value.context["observed"] == "expected the back, saw the front"
    assert "retakes_left" not in wrong.value.context  # not a judgement: asked again always
    assert _refusals_added(before, snapshot(engine)) == [("back", "wrong_side")]


def test_the_retake_rule_caps_judgements_but_never_card_problems() -> None:
    # Pure: what the daemon and benchmarks.verify_rates --screened both apply.
    glare = CardProblem(ReasonCode.GLARE_ON_FIELDS)
    lefts = [ekyc_session.asks_retake(glare, asked) for asked in range(4)]
    assert lefts == [1, 0, None, None]
    assert ekyc_session.JUDGED_RETAKES == 2  # the list above spells out a cap of two
    cut = CardProblem(ReasonCode.CARD_CUT_OFF)
    assert all(ekyc_session.asks_retake(cut, asked) is not None for asked in range(10))


def _failed(*reasons: Reason, attack: AttackType | None = None) -> LivenessResult:
    return LivenessResult(False, 0.5, 1.0, reasons, attack_type=attack)


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (_failed(Reason.ACTION_MISSING, Reason.FACE_TURNED_AT_REST), "face_turned_at_rest"),
        (_failed(Reason.NO_FACE, Reason.ACTION_MISSING, Reason.FACE_TURNED_AT_REST),
         "face_turned_at_rest"),
        (_failed(Reason.ACTION_MISSING, Reason.EYES_NOT_OPEN), "eyes_not_open"),
        (_failed(Reason.ACTION_MISSING, Reason.MOUTH_OPEN_AT_REST), "mouth_open_at_rest"),
        # not about the posture, or not only: no retake, the finish judges it
        (LivenessResult(True, 1.0, 1.0), None),
        (_failed(Reason.ACTION_MISSING), None),
        (_failed(Reason.NO_FACE), None),
        (_failed(Reason.ACTIONS_OUT_OF_ORDER, Reason.FACE_TURNED_AT_REST,
                 attack=AttackType.REPLAYED_SEQUENCE), None),
        (_failed(Reason.ACTION_MISSING, Reason.FACE_CHANGED, Reason.FACE_TURNED_AT_REST), None),
        (_failed(Reason.CHALLENGE_EXPIRED, Reason.ACTION_MISSING, Reason.EYES_NOT_OPEN), None),
        (_failed(Reason.ACTION_MISSING, Reason.SELFIE_NOT_IN_SEQUENCE,
                 Reason.MOUTH_OPEN_AT_REST), None),
        (_failed(Reason.STATIC_SEQUENCE, attack=AttackType.STATIC_IMAGE), None),
    ],
)  # fmt: skip
def test_a_challenge_is_asked_again_only_for_what_the_applicant_can_fix(
    result: LivenessResult, code: str | None
) -> None:
    advice = ekyc_session.challenge_retake(result)
    assert (advice.code if advice is not None else None) == code
    if advice is not None:
        assert advice.message_ja
        assert advice.message_en


def test_a_challenge_retake_advises_on_every_posture_reason_and_is_capped() -> None:
    advice = ekyc_session.challenge_retake(
        _failed(Reason.ACTION_MISSING, Reason.EYES_NOT_OPEN, Reason.MOUTH_OPEN_AT_REST)
    )
    assert advice is not None
    assert advice.reason is Reason.EYES_NOT_OPEN  # the first the evaluator gave
    assert "eyes" in advice.message_en
    assert "mouth" in advice.message_en
    lefts = [ekyc_session.asks_challenge_retake(asked) for asked in range(4)]
    assert lefts == [1, 0, None, None]
    assert ekyc_session.CHALLENGE_RETAKES == 2
    assert ekyc_session.asks_challenge_retake(0, limit=0) is None


def test_challenge_refusals_are_counted_capped_and_shown_to_the_reviewer(
    db: SessionFactory, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    _, application_id, token = submitted
    advice = ekyc_session.challenge_retake(
        _failed(Reason.ACTION_MISSING, Reason.FACE_TURNED_AT_REST)
    )
    assert advice is not None
    assert ekyc_session.challenge_retakes_asked(db, token, clock=clock) == 0
    lefts = [ekyc_session.refuse_challenge(db, token, advice, clock=clock, limit=2)
             for _ in range(3)]  # fmt: skip
    assert lefts == [1, 0, None]
    assert ekyc_session.challenge_retakes_asked(db, token, clock=clock) == 2
    seen = staff_views.bank_refusals(db, application_id)
    assert [(r.shot, r.reason) for r in seen] == [("challenge", "face_turned_at_rest")] * 2
    assert ekyc_session.latest_selfie(db, token, clock=clock) is None
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    selfie = image_bytes("JPEG", (320, 200), 5)
    ekyc_session.add_shot(db, token, Shot.SELFIE, selfie, clock=clock)
    assert ekyc_session.latest_selfie(db, token, clock=clock) == selfie


def test_a_tilted_step_without_thickness_is_asked_again_a_limited_number_of_times(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    # A photocopy shown tilted: the screen judges it as verify would (no tilt or no
    # thickness) and the step is asked again JUDGED_RETAKES times; the next one is kept for
    # the verification to decide, so a copy gets no endless tries, nor a genuine card that
    # the judgement misread a dead end.
    from tests.ekyc.test_pipeline import applicant, verifier

    _, application_id, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    copy = applicant(7000, DocumentType.DRIVERS_LICENSE, "flat_copy").shots["tilt"]
    before = snapshot(engine)
    reasons = []
    for left in reversed(range(ekyc_session.JUDGED_RETAKES)):
        with pytest.raises(RetakeNeeded) as asked:
            ekyc_session.add_shot(db, token, Shot.TILT, copy, clock=clock, screen=verifier())
        assert asked.value.context["retakes_left"] == left
        assert asked.value.context["reason"] in {"tilt_not_shown", "flat_reproduction"}
        assert "45" in asked.value.message
        reasons.append(("tilt", asked.value.context["reason"]))
    assert _refusals_added(before, snapshot(engine)) == reasons
    digest = ekyc_session.add_shot(db, token, Shot.TILT, copy, clock=clock, screen=verifier())
    assert digest == hashlib.sha256(copy).hexdigest()
    assert ekyc_session.open_session(db, token, clock=clock).shots_taken == (Shot.TILT,)
    # The reviewer sees how the kept shot was reached.
    seen = staff_views.bank_refusals(db, application_id)
    assert [(r.shot, r.reason) for r in seen] == [(Shot.TILT, reason) for _, reason in reasons]


def test_a_selfie_without_a_face_is_asked_again_a_limited_number_of_times(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    # Judged on arrival as verify would (no face: NO_FACE_IN_SELFIE, a reject at the end):
    # asked again JUDGED_RETAKES times, then kept; the applicant's own selfie is kept at once.
    from tests.ekyc.test_pipeline import _jpeg, applicant, verifier

    _, application_id, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    wall = _jpeg(np.full((1280, 720, 3), (96, 120, 150), np.uint8))
    for left in reversed(range(ekyc_session.JUDGED_RETAKES)):
        with pytest.raises(RetakeNeeded) as asked:
            ekyc_session.add_shot(db, token, Shot.SELFIE, wall, clock=clock, screen=verifier())
        assert asked.value.context["reason"] == "no_face_in_selfie"
        assert asked.value.context["retakes_left"] == left
        assert asked.value.context["observed"] == "0 faces"
    ekyc_session.add_shot(db, token, Shot.SELFIE, wall, clock=clock, screen=verifier())
    seen = staff_views.bank_refusals(db, application_id)
    assert [(r.shot, r.reason) for r in seen] == [(Shot.SELFIE, "no_face_in_selfie")] * 2
    selfie = applicant(7000, DocumentType.DRIVERS_LICENSE).shots["selfie"]
    digest = ekyc_session.add_shot(db, token, Shot.SELFIE, selfie, clock=clock, screen=verifier())
    assert digest == hashlib.sha256(selfie).hexdigest()


def test_my_number_back_is_never_stored(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.MY_NUMBER_CARD, clock=clock)
    before = snapshot(engine)
    with pytest.raises(DocumentRejected) as info:
        ekyc_session.add_shot(db, token, Shot.BACK, image_bytes(), clock=clock)
    assert info.value.context["reason"] == "my_number_back"
    with pytest.raises(DocumentRejected):  # no photo: not accepted by the image method
        ekyc_session.choose_document(db, token, DocumentType.HEALTH_INSURANCE_CARD, clock=clock)
    with pytest.raises(InvalidTransition, match="missing") as missing:
        ekyc_session.finish(db, token, DecodeCheckVerifier(), clock=clock)
    assert missing.value.context["missing"] == ["front", "tilt", "selfie"]
    assert snapshot(engine) == before
    _take_all(db, clock, token, DocumentType.MY_NUMBER_CARD)
    record = ekyc_session.finish(db, token, DecodeCheckVerifier(), clock=clock)
    assert Shot.BACK not in record.image_sha256


def test_a_truncated_full_size_shot_is_refused_unstored(
    db: SessionFactory, engine: Engine, clock: FakeClock, submitted: tuple[str, str, str]
) -> None:
    # Shots are decoded on arrival at most 2048 px wide (DCT scaling): a 12 MP JPEG cut
    # short must still fail that decode, and nothing is stored.
    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    blocks = np.random.default_rng(1).integers(0, 256, (378, 504, 3), dtype=np.uint8)
    buffer = io.BytesIO()  # 4032x3024 of 8 px blocks: a 12 MP JPEG under the 5 MB cap
    Image.fromarray(np.kron(blocks, np.ones((8, 8, 1), np.uint8))).save(buffer, "JPEG")
    whole = buffer.getvalue()
    before = snapshot(engine)
    with pytest.raises(DocumentRejected) as info:
        ekyc_session.add_shot(db, token, Shot.FRONT, whole[: len(whole) - 4096], clock=clock)
    assert info.value.context["reason"] == "corrupt_image"
    assert snapshot(engine) == before
    assert len(ekyc_session.add_shot(db, token, Shot.FRONT, whole, clock=clock)) == 64


@pytest.mark.models
def test_a_screened_shot_is_decoded_once_under_the_sessions_limits(
    db: SessionFactory,
    engine: Engine,
    clock: FakeClock,
    submitted: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a screen the upload is decoded by the screen alone, under the session's limits:
    # a format the pipeline reads but a session does not take is still refused, unstored.
    import ekyc.capture.decode
    import ekyc.pipeline
    from tests.ekyc.detect.cards import card_scene, rgb
    from tests.ekyc.test_pipeline import _fresh, _jpeg, verifier

    decodes: list[int] = []
    real = ekyc.capture.decode.decode_image

    def counted(*args, **kwargs):  # the real decoder, counted
        decodes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ekyc.pipeline, "decode_image", counted)
    monkeypatch.setattr(ekyc_session.ekyc, "decode_image", counted)
    screen = _fresh(verifier())  # nothing screened yet, so nothing decoded yet
    _, _, token = submitted
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    before = snapshot(engine)
    with pytest.raises(DocumentRejected) as refused:
        ekyc_session.add_shot(db, token, Shot.FRONT, image_bytes("TIFF", (320, 200)),
                              clock=clock, screen=screen)  # fmt: skip
    assert refused.value.context["reason"] == "unsupported_format"
    assert snapshot(engine) == before
    decodes.clear()
    front = _jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 4)))
    ekyc_session.add_shot(db, token, Shot.FRONT, front, clock=clock, screen=screen)
    assert len(decodes) == 1
    assert Shot.FRONT in ekyc_session.open_session(db, token, clock=clock).shots_taken
