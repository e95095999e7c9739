"""End-to-end verification on generated applicants (benchmarks.synth.applicant)."""

from __future__ import annotations

import functools
import hashlib
import json

import cv2
import numpy as np
import pytest

from benchmarks.synth.applicant import make_applicant
from ekyc.config import PipelineConfig
from ekyc.errors import CorruptImage, StepNotAllowed
from ekyc.match import DEFAULT_EMBEDDER
from ekyc.pipeline import Verifier, _Arrival, _Screened
from ekyc.registry import Registry
from ekyc.types import CaptureMetadata, DocumentType, Frame, Side
from ekyc.verdict import Decision, ReasonCode
from tests.conftest import data_dir
from tests.ekyc.detect.cards import card_scene, held_back_selfie, rgb

pytestmark = pytest.mark.models


@functools.cache
def verifier() -> Verifier:
    return Verifier.from_registry(Registry.from_manifest())


@functools.cache
def applicant(seed: int, doc: DocumentType, impostor: str | None = None, lfw: bool = False):
    faces = data_dir() / "lfw_pairs_aligned112" if lfw else None
    return make_applicant(seed, doc, faces_dir=faces, data_dir=None, impostor=impostor)


@pytest.mark.parametrize("doc", ["passport", "health_insurance_card"])
def test_refused_documents_are_rejected_without_looking(doc):
    verdict = verifier().verify(doc, {})
    assert verdict.decision is Decision.REJECT
    assert verdict.codes == ("DOCUMENT_NOT_ACCEPTED",)
    assert dict(verdict.inputs_sha256) == {}


@pytest.mark.parametrize(
    ("shots", "reason"),
    [
        (
            {"front": b"?", "tilt": b"?", "back": b"not even an image", "selfie": b"?"},
            "my_number_back",
        ),
        ({"front": b"?", "selfie": b"?"}, "missing_shot"),
        ({"front": b"?", "tilt": b"?", "selfie": b"?", "passport": b"?"}, "unknown_shot"),
    ],
)
def test_forbidden_and_missing_shots_are_refused_before_decoding(shots, reason):
    # The bytes are garbage: a decode attempt would raise CorruptImage instead.
    with pytest.raises(StepNotAllowed) as info:
        verifier().verify(DocumentType.MY_NUMBER_CARD, shots)
    assert info.value.context["reason"] == reason


def test_a_my_number_back_sent_as_the_selfie_is_refused():
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    back = card_scene("back", DocumentType.MY_NUMBER_CARD, 3)
    shots = dict(person.shots) | {"selfie": _jpeg(rgb(back))}
    with pytest.raises(StepNotAllowed):
        verifier().verify(person.document_type, shots)


# Generated selfies where ``find_card`` on the whole frame returns the head and shoulders'
# outline, unread, and only the windows below the face find the card held there.
HELD_BACK_SEEDS = (3000, 3007, 3012)


@pytest.mark.parametrize("seed", HELD_BACK_SEEDS)
def test_a_my_number_back_held_up_in_the_selfie_is_refused(seed):
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    selfie = _jpeg(held_back_selfie(seed))
    with pytest.raises(StepNotAllowed) as screened:
        verifier().screen_shot(selfie, selfie=True)
    assert screened.value.context["reason"] == "my_number_back"
    shots = dict(person.shots) | {"selfie": selfie}
    with pytest.raises(StepNotAllowed):
        Verifier.from_registry(Registry.from_manifest()).verify(person.document_type, shots)


def test_a_held_back_in_a_phone_size_selfie_is_found_where_it_is():
    # A 12 MP-like selfie is searched at the 1280 px the windows were set at; the corners
    # come back in the frame's own pixels.
    from ekyc.detect import find_held_my_number_back
    from ekyc.detect.back import _shrink, held_back_half
    from tests.ekyc.detect.cards import layouts

    selfie = held_back_selfie(HELD_BACK_SEEDS[0])
    large = cv2.resize(selfie, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    seen = find_held_my_number_back(selfie, layouts())
    seen_large = find_held_my_number_back(large, layouts())
    assert seen is not None
    assert seen_large is not None
    assert np.abs(seen_large.quad.corners / 2.5 - seen.quad.corners).max() < 3.0
    # The halved selfie the caller shares with the whole frame's search: the same pixels.
    half = held_back_half(large)
    assert half is not None
    assert held_back_half(selfie) is None  # halved from 2,560 px only
    np.testing.assert_array_equal(_shrink(large, 0.4, half), _shrink(large, 0.4, None))


def test_a_corrupt_shot_is_a_typed_error():
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    shots = dict(person.shots) | {"selfie": person.shots["selfie"][:2000]}
    with pytest.raises(CorruptImage):
        verifier().verify(person.document_type, shots)


def test_a_corrupt_shot_is_reported_before_a_refused_card():
    # The shots are examined at once on two threads; the failures still surface in a fixed
    # order: an undecodable shot before a My Number back among the card shots.
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    back = card_scene("back", DocumentType.MY_NUMBER_CARD, 3)
    shots = dict(person.shots) | {"front": _jpeg(rgb(back)),
                                  "selfie": person.shots["selfie"][:2000]}  # fmt: skip
    with pytest.raises(CorruptImage):
        verifier().verify(person.document_type, shots)


def test_one_thread_and_two_give_the_same_verdict():
    person = applicant(7001, DocumentType.RESIDENCE_CARD)
    registry = Registry.from_manifest()
    one = Verifier.from_registry(registry, PipelineConfig(threads=1))
    verdicts = [v.verify(person.document_type, person.shots).to_json() for v in (one, verifier())]
    for verdict in verdicts:
        verdict.pop("timings_ms")
    assert verdicts[0] == verdicts[1]


def _fresh(of: Verifier) -> Verifier:
    """A Verifier with ``of``'s loaded models and nothing screened yet."""
    return Verifier(of.matcher, of.method, of.layouts, of.config, of.match_config,
                    reader=of.reader, passive=of.passive)  # fmt: skip


# What verify does on a shot and does not do again when the daemon screened it as its step.
_DONE_ON_ARRIVAL = {
    "front.detect", "tilt.detect", "back.detect", "selfie.card_check", "selfie.held_card_check",
    "front.quality", "tilt.quality", "back.quality", "tilt.angle", "selfie.faces",
}  # fmt: skip


def test_shots_screened_on_arrival_are_not_looked_at_again_and_give_the_same_verdict():
    # The daemon screens each shot as it arrives, as its step (screen_shot(step=...)), and
    # verifies all at the end: the card found and what was judged on arrival (quality,
    # tilt, the front's portrait, the selfie's faces) are reused, and nothing else changes.
    person = applicant(7001, DocumentType.DRIVERS_LICENSE)
    pipeline = _fresh(verifier())
    plain = pipeline.verify(person.document_type, person.shots)
    assert set(plain.timings_ms) >= _DONE_ON_ARRIVAL
    for name, data in person.shots.items():
        pipeline.screen_shot(data, selfie=name == "selfie", step=name)
    screened = pipeline.verify(person.document_type, person.shots)
    assert not set(screened.timings_ms) & _DONE_ON_ARRIVAL
    verdicts = [plain.to_json(), screened.to_json()]
    for verdict in verdicts:
        verdict.pop("timings_ms")
    assert verdicts[0] == verdicts[1]
    # Verifying does not screen: another Verifier looks for every card itself.
    other = _fresh(verifier())
    assert "front.detect" in other.verify(person.document_type, person.shots).timings_ms


def test_a_screened_card_is_reused_only_for_the_same_bytes_decoded_to_the_same_size():
    front = _jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 3)))
    pipeline = _fresh(verifier())
    seen = pipeline.screen_shot(front)
    again = pipeline._screened.get(pipeline._decode(front)[0])
    assert again is not None
    assert again.detection is seen.detection
    other = _jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 4)))
    assert pipeline._screened.get(pipeline._decode(other)[0]) is None
    half = Frame(seen.frame.image[::2, ::2].copy(), seen.frame.metadata, seen.frame.source_sha256)
    assert pipeline._screened.get(half) is None
    # A My Number back is refused before anything of it is kept.
    back = _jpeg(rgb(card_scene("back", DocumentType.MY_NUMBER_CARD, 3)))
    with pytest.raises(StepNotAllowed):
        pipeline.screen_shot(back)
    assert len(pipeline._screened) == 1


def test_the_screened_cards_kept_are_the_most_recent_few():
    kept = _Screened(2)
    frames = [Frame(np.zeros((4, 4, 3), np.uint8), CaptureMetadata("PNG"), f"{i:064x}")
              for i in range(3)]  # fmt: skip
    for i, frame in enumerate(frames):
        kept.put(frame, _Arrival(None, held_back_checked=i == 2))
    assert len(kept) == 2
    assert kept.get(frames[0]) is None
    found = kept.get(frames[2])
    assert found is not None
    assert found.detection is None  # screened, and no card in it
    assert found.held_back_checked  # screened as a selfie
    assert found.screening(frames[2]).frame is frames[2]
    assert not kept.get(frames[1]).held_back_checked


def test_judgements_on_arrival_are_reused_only_as_the_same_step_by_the_same_components():
    from ekyc.match import MatchConfig

    frame = Frame(np.zeros((4, 4, 3), np.uint8), CaptureMetadata("PNG"), "0" * 64)
    judge, matcher, config = object(), object(), MatchConfig(budget="card")
    kept = _Screened(2)
    kept.put(frame, _Arrival(None, False, "front", (judge, matcher, config),
                             portrait=_glared_portrait()))  # fmt: skip
    same = kept.get(frame, (judge, matcher, MatchConfig(budget="card")))
    assert same.screening(frame, "front").portrait_glare == 0.5
    assert same.screening(frame, "tilt").portrait_glare is None  # the same bytes as another step
    other = kept.get(frame, (object(), matcher, config))  # judged by another method
    assert other.portrait is None
    assert other.screening(frame, "front").portrait_glare is None
    assert kept.get(frame, (judge, matcher, MatchConfig())).portrait is None


def _glared_portrait():
    """A portrait look with a face half under glare (the figures alone)."""
    from ekyc.stages import PortraitLook
    from ekyc.types import FaceDetection

    face = FaceDetection(np.array([10, 10, 40, 50], np.float32), np.zeros((5, 2), np.float32), 0.9)
    return PortraitLook((face,), glare=0.5)


def test_genuine_applicant_evidence():
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    verdict = verifier().verify(person.document_type, person.shots)
    assert dict(verdict.inputs_sha256) == {
        name: hashlib.sha256(data).hexdigest() for name, data in person.shots.items()
    }
    ids = {m.id for m in verdict.models}
    # The corner proposer came from the verifier's registry, with the other models.
    assert verifier().proposer is not None
    assert verifier().method.proposer is verifier().proposer  # type: ignore[attr-defined]
    assert {
        "card-layout/synth-mean@1",
        "card-corners/cornernet-s-anysize@1",  # find_card tries its corner proposal first
        "face-detect/yunet-2023mar-ort@1",
        DEFAULT_EMBEDDER,
    } <= ids
    # A fused embedder's sha256 covers its JSON only: each member's own weights are listed.
    registry = Registry.from_manifest()
    if registry.spec(DEFAULT_EMBEDDER).format == "fusion":
        members = json.loads(registry.path(DEFAULT_EMBEDDER).read_text())["members"]
        assert {m["id"] for m in members} <= ids
    # Without challenge frames a still selfie can at most reach review.
    assert verdict.decision is not Decision.ACCEPT
    assert "LIVENESS_NOT_PROVEN" in verdict.codes
    assert "FACE_MISMATCH" not in verdict.codes
    assert "DIFFERENT_CARD" not in verdict.codes
    assert verdict.checks["match"]["match"] is True
    assert set(verdict.timings_ms) >= {"decode", "front.detect", "selfie.embed", "ocr"}


@pytest.mark.dataset
@pytest.mark.parametrize("impostor", ["other_selfie", "other_card", "flat_copy"])
def test_impostors_are_never_accepted(shared_data, impostor):
    person = applicant(7000, DocumentType.DRIVERS_LICENSE, impostor, lfw=True)
    verdict = verifier().verify(person.document_type, person.shots)
    assert verdict.decision is Decision.REJECT
    expected = {
        "other_selfie": "FACE_MISMATCH",
        "other_card": "DIFFERENT_CARD",
        "flat_copy": "TILT_NOT_SHOWN",
    }[impostor]
    assert expected in verdict.codes, verdict.codes


def _jpeg(image) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_applicant_data_is_cross_checked_with_the_card():
    from ekyc.read import Applicant

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    truth = Applicant.from_mapping({
        "family_name": person.identity.family_kanji,
        "given_name": person.identity.given_kanji,
        "birth_date": person.identity.birth.isoformat(),
        "address": person.identity.address,
    })  # fmt: skip
    other = Applicant.from_mapping({
        "family_name": "山田", "given_name": "花子", "birth_date": "1901-01-01",
        "address": "北海道札幌市中央区北1条西2丁目",
    })  # fmt: skip
    right = verifier().verify(person.document_type, person.shots, applicant=truth)
    wrong = verifier().verify(person.document_type, person.shots, applicant=other)
    assert "cross_check" in right.checks
    assert set(right.checks["ocr"]["fields"]) >= {"name", "birth_date", "address"}
    assert "BIRTH_DATE_MISMATCH" not in right.codes
    # Whatever OCR read, it cannot be this other person's data.
    outcomes = {f["outcome"] for f in wrong.checks["cross_check"]["fields"].values()}
    assert "match" not in outcomes


@functools.cache
def performed(seed: int, doc: DocumentType):
    """The verdict on applicant ``seed``'s shots with their performed challenge."""
    person = applicant(seed, doc)
    assert person.challenge is not None
    return verifier().verify(person.document_type, person.shots, **person.verify_kwargs())


def test_a_performed_challenge_proves_liveness():
    verdict = performed(7000, DocumentType.DRIVERS_LICENSE)
    assert verdict.checks["liveness"]["active"]["live"] is True
    assert "LIVENESS_NOT_PROVEN" not in verdict.codes
    assert "NOT_LIVE" not in verdict.codes
    assert "INJECTION_SUSPECTED" not in verdict.codes  # one phone, one session
    assert "face-landmarks/mediapipe-facemesh-attention@0.10.21" in {m.id for m in verdict.models}


def test_a_challenge_judged_beforehand_is_not_evaluated_again_and_gives_the_same_verdict():
    # The daemon evaluates a recording on arrival (evaluate_challenge) and hands the result
    # to verify at the finish: the verdict is the one verify gives evaluating it itself.
    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    assert person.challenge is not None
    assert person.frames is not None
    assert person.now is not None
    kwargs = person.verify_kwargs()
    plain = performed(7000, DocumentType.DRIVERS_LICENSE)
    judged = verifier().evaluate_challenge(person.challenge, person.frames, now=person.now,
                                           selfie=person.shots["selfie"])  # fmt: skip
    assert judged.live
    assert judged.to_dict() == plain.checks["liveness"]["active"]
    reused = verifier().verify(person.document_type, person.shots, **kwargs, active=judged)
    assert reused.timings_ms["liveness.active"] == 0.0  # not evaluated again
    verdicts = [plain.to_json(), reused.to_json()]
    for verdict in verdicts:
        verdict.pop("timings_ms")
    assert verdicts[0] == verdicts[1]
    with pytest.raises(ValueError, match="challenge"):
        verifier().verify(person.document_type, person.shots, active=judged)


def test_frames_of_another_challenge_are_not_live():
    from dataclasses import replace

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    other_nonce = replace(person.challenge, nonce="f" * 32)
    kwargs = person.verify_kwargs() | {"challenge": other_nonce}
    verdict = verifier().verify(person.document_type, person.shots, **kwargs)
    assert verdict.decision is Decision.REJECT
    assert "NOT_LIVE" in verdict.codes


def test_verify_cli_with_a_recorded_challenge(tmp_path, capsys):
    import json

    from PIL import Image

    from ekyc.cli import main

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    for name, data in person.shots.items():
        (tmp_path / f"{name}.jpg").write_bytes(data)
    frames = tmp_path / "frames"
    frames.mkdir()
    for frame in person.frames.frames:
        Image.fromarray(frame.image).save(frames / f"frame_{round(frame.t_ms)}.jpg", quality=92)
    (frames / "sequence.json").write_text(
        json.dumps(
            {"nonce": person.frames.nonce, "started_at": person.frames.started_at.isoformat()}
        )
    )
    (tmp_path / "challenge.json").write_text(json.dumps(person.challenge.to_dict()))
    status = main(
        [
            "verify",
            "--document",
            "drivers_license",
            "--front",
            str(tmp_path / "front.jpg"),
            "--tilt",
            str(tmp_path / "tilt.jpg"),
            "--back",
            str(tmp_path / "back.jpg"),
            "--selfie",
            str(tmp_path / "selfie.jpg"),
            "--challenge",
            str(tmp_path / "challenge.json"),
            "--frames",
            str(frames),
            "--json",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert status == {"accept": 0, "reject": 1, "review": 2}[record["decision"]]
    assert record["checks"]["liveness"]["active"]["live"] is True


def test_review_reruns_stored_cases_and_shows_changed_decisions(tmp_path, capsys):
    import json

    from ekyc.cli import main

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, data in person.shots.items():
        (inputs / f"{name}.jpg").write_bytes(data)
    cases = tmp_path / "cases"
    args = ["verify", "--document", "drivers_license", "--json"]
    args += [f"--{name}={inputs / f'{name}.jpg'}" for name in person.shots]
    for case in ("a-same", "b-changed"):
        main([*args, "--evidence", str(cases / case)])
    capsys.readouterr()
    stored = json.loads((cases / "b-changed" / "verdict.json").read_text())
    assert stored["document"] == "drivers_license"
    assert (cases / "a-same" / "front.jpg").is_file()
    assert (cases / "a-same" / "annotated_front.jpg").is_file()
    # Pretend a reviewer once accepted case b: the re-run must flag the change.
    stored |= {"decision": "accept", "reasons": []}
    (cases / "b-changed" / "verdict.json").write_text(json.dumps(stored))
    (cases / "c-broken").mkdir(parents=True)
    status = main(["review", str(cases), "--json", "--workers", "2"])
    rows = {r["case"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert status == 65  # c-broken could not run
    assert rows["a-same"]["changed"] is False
    assert rows["b-changed"]["changed"] is True
    assert rows["b-changed"]["before"] == "accept"
    assert rows["c-broken"]["error"]["code"] == "invalid_case"


def test_screen_shot_refuses_a_my_number_back_and_passes_a_licence():
    # A session stores shots as they arrive: screen_shot is its look before keeping one.
    back = _jpeg(rgb(card_scene("back", DocumentType.MY_NUMBER_CARD, 3)))
    with pytest.raises(StepNotAllowed) as info:
        verifier().screen_shot(back)
    assert info.value.context["reason"] == "my_number_back"
    front = _jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 3)))
    seen = verifier().screen_shot(front)
    assert (seen.frame.width, seen.frame.height) == (1280, 720)
    assert seen.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT) is None
    with pytest.raises(CorruptImage):
        verifier().screen_shot(front[:2000])


def test_screen_shot_says_why_a_card_shot_must_be_taken_again():
    # The retake rules are verify's layout rules: a licence front is the wrong side for
    # a back step and the wrong document for a residence card; a bare table has no card.
    front = verifier().screen_shot(_jpeg(rgb(card_scene("front", DocumentType.DRIVERS_LICENSE, 5))))
    wrong_side = front.retake_reason(DocumentType.DRIVERS_LICENSE, Side.BACK)
    assert wrong_side is not None
    assert wrong_side.code is ReasonCode.WRONG_SIDE
    other = front.retake_reason(DocumentType.RESIDENCE_CARD, Side.FRONT)
    assert other is not None
    assert other.code is ReasonCode.WRONG_DOCUMENT_TYPE
    assert "residence_card" in other.detail
    table = np.full((720, 1280, 3), (96, 120, 150), np.uint8)
    empty = verifier().screen_shot(_jpeg(table))
    assert empty.detection is None
    missing = empty.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert missing is not None
    assert missing.code is ReasonCode.CARD_NOT_FOUND


def test_screen_shot_judges_a_tilted_step_as_verify_does():
    # Asked for the tilted step, the screen judges quality, tilt and thickness on arrival
    # (so a session can ask for a retake) with verify's rules: the genuine tilted shot is
    # kept; a photocopy shown tilted gets a judged retake reason that verify also records.
    from ekyc.screening import JUDGED

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    genuine = verifier().screen_shot(person.shots["tilt"], step="tilt")
    assert genuine.tilt is not None
    assert genuine.quality is not None
    assert genuine.tilt.passed
    assert genuine.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT) is None
    front = verifier().screen_shot(person.shots["front"], step="front")
    assert front.quality is not None
    assert front.tilt is None
    assert verifier().screen_shot(person.shots["front"]).quality is None  # not asked: not judged

    copy = applicant(7000, DocumentType.DRIVERS_LICENSE, "flat_copy")
    seen = verifier().screen_shot(copy.shots["tilt"], step="tilt")
    problem = seen.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert problem is not None
    assert problem.code in JUDGED
    assert "45 degrees" in problem.retake_message
    verdict = verifier().verify(copy.document_type, copy.shots)
    assert verdict.decision is Decision.REJECT
    assert problem.code.value in verdict.codes


def test_screen_shot_judges_a_selfie_as_verify_does():
    # Asked for the selfie step, the screen finds its faces and runs the face gate, with
    # verify's rules: the applicant's selfie is kept; one without a face gets a judged
    # retake reason, which is what verify records for it.
    from ekyc.screening import JUDGED

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    seen = verifier().screen_shot(person.shots["selfie"], selfie=True, step="selfie")
    assert seen.detection is None  # a selfie is searched for a My Number back alone
    assert seen.faces == 1
    assert seen.face_gate is not None
    assert seen.selfie_retake_reason() is None
    assert verifier().screen_shot(person.shots["selfie"]).selfie_retake_reason() is None

    table = _jpeg(np.full((1280, 720, 3), (96, 120, 150), np.uint8))
    empty = verifier().screen_shot(table, selfie=True, step="selfie")
    problem = empty.selfie_retake_reason()
    assert problem is not None
    assert problem.code is ReasonCode.NO_FACE_IN_SELFIE
    assert problem.code in JUDGED
    assert "selfie again" in problem.retake_message
    shots = {**person.shots, "selfie": table}
    verdict = verifier().verify(person.document_type, shots)
    assert "NO_FACE_IN_SELFIE" in verdict.codes


def test_glare_over_the_front_portrait_is_judged_on_arrival_as_verify_measures_it():
    # A highlight over part of the printed face (seed 20002's reject: FACE_MISMATCH with
    # GLARE_ON_FIELDS on the portrait) is asked again on arrival, as a judged retake, from
    # the very glare figure verify records for the portrait.
    from ekyc.detect import rectify
    from ekyc.screening import FINGER, JUDGED

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    pipeline = _fresh(verifier())
    clean = pipeline.screen_shot(person.shots["front"], step="front")
    assert clean.portrait_glare == 0.0
    # Nothing about the portrait; this front's thumb lies over the end of the name (its
    # region 40 % covered), which is asked again since the key fields' finger rule.
    kept = clean.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert kept is not None
    assert kept.code is ReasonCode.KEY_FIELDS_ILLEGIBLE
    assert kept.detail.startswith(f"name: {FINGER}")
    face = pipeline._screened.get(clean.frame).portrait.best
    card = rectify(clean.frame, clean.detection.quad, px_per_mm=10.0)
    x, y, w, h = face.box
    spot = np.float32([[x + 0.35 * w, y + 0.4 * h], [x + 0.65 * w, y + 0.4 * h],
                       [x + 0.65 * w, y + 0.6 * h], [x + 0.35 * w, y + 0.6 * h]])  # fmt: skip
    in_shot = cv2.perspectiveTransform(spot[None], np.linalg.inv(card.homography))[0]
    shot = np.array(clean.frame.image)
    cv2.fillPoly(shot, [np.round(in_shot).astype(np.int32)], (255, 255, 255))
    front = _jpeg(shot)

    seen = pipeline.screen_shot(front, step="front")
    problem = seen.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert problem is not None
    assert problem.code is ReasonCode.GLARE_ON_FIELDS
    assert problem.code in JUDGED
    assert "portrait" in problem.detail
    assert seen.quality is not None
    assert seen.quality.passed  # the card's fields are clear: the portrait alone is glared
    verdict = _fresh(verifier()).verify(person.document_type, {**person.shots, "front": front})
    assert verdict.checks["portrait"]["glare_fraction"] == round(seen.portrait_glare, 4)


def test_a_portrait_hidden_whole_is_judged_on_arrival_as_verify_finds_it(monkeypatch):
    # A thumb over the whole printed face: verify finds no face on the card (NO_FACE_ON_CARD,
    # nothing to match the selfie with), so the front step is asked again on arrival first.
    # The name, date of birth and expiry are read on arrival as verify's first read reads them (the
    # same rectified pixels, values and confidences), and verify of the same bytes reuses
    # those reads; a thumb over the name instead leaves nothing legible there: the front
    # step is asked again for it (KEY_FIELDS_ILLEGIBLE, judged).
    import ekyc.pipeline
    from ekyc.detect import rectify
    from ekyc.read.fields import FieldName, field_regions
    from ekyc.read.ocr import SCREENED_FIELDS, read_fields
    from ekyc.screening import JUDGED

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    pipeline = _fresh(verifier())
    clean = pipeline.screen_shot(person.shots["front"], step="front")
    assert clean.portrait_faces == 1
    face = pipeline._screened.get(clean.frame).portrait.best
    card = rectify(clean.frame, clean.detection.quad, px_per_mm=10.0)
    x, y, w, h = face.box
    thumb = np.float32([[x - 0.15 * w, y - 0.15 * h], [x + 1.15 * w, y - 0.15 * h],
                        [x + 1.15 * w, y + 1.15 * h], [x - 0.15 * w, y + 1.15 * h]])  # fmt: skip
    in_shot = cv2.perspectiveTransform(thumb[None], np.linalg.inv(card.homography))[0]
    shot = np.array(clean.frame.image)
    cv2.fillPoly(shot, [np.round(in_shot).astype(np.int32)], (196, 150, 128))
    front = _jpeg(shot)

    seen = pipeline.screen_shot(front, step="front")
    assert seen.portrait_faces == 0
    problem = seen.retake_reason(DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert problem is not None
    assert problem.code is ReasonCode.NO_FACE_ON_CARD
    assert problem.code in JUDGED
    assert "photo on the card" in problem.retake_message
    groups: list[frozenset[FieldName]] = []
    reader = ekyc.pipeline.read_card_image

    def read_group(card, document_type, reader_, only):  # what verify reads itself
        groups.append(frozenset(only))
        return reader(card, document_type, reader_, only=only)

    monkeypatch.setattr(ekyc.pipeline, "read_card_image", read_group)
    verdict = pipeline.verify(person.document_type, {**person.shots, "front": front})
    assert "NO_FACE_ON_CARD" in verdict.codes
    doc = person.document_type
    assert clean.key_fields is not None
    assert [r.field for r in clean.key_fields] == [FieldName.NAME, FieldName.BIRTH_DATE,
                                                   FieldName.EXPIRY_DATE]  # fmt: skip
    assert seen.key_fields is not None
    card_seen = rectify(seen.frame, seen.detection.quad, px_per_mm=10.0)
    again = read_fields(card_seen, doc, Side.FRONT, reader=pipeline.reader,
                        only=SCREENED_FIELDS).fields  # fmt: skip
    assert [(r.value, r.confidence) for r in again] == [
        (r.value, r.confidence) for r in seen.key_fields
    ]
    first = verdict.checks["ocr"]["fields"]
    for read in seen.key_fields:  # reused by verify of the same bytes, not read again
        assert first[read.field.value]["value"] == str(read.value)
        assert first[read.field.value]["confidence"] == round(read.confidence, 3)
    assert groups
    assert not any(group & set(SCREENED_FIELDS) for group in groups)
    assert set().union(*groups) == {FieldName.ADDRESS, FieldName.LICENSE_NUMBER}

    name = next(r for r in field_regions(doc, Side.FRONT) if r.field is FieldName.NAME)
    x0, y0, x1, y1 = (v * 10.0 for v in name.rect_mm)
    box = np.float32([[x0, y0 - 5], [x1, y0 - 5], [x1, y1 + 5], [x0, y1 + 5]])
    in_shot = cv2.perspectiveTransform(box[None], np.linalg.inv(card.homography))[0]
    shot = np.array(clean.frame.image)
    cv2.fillPoly(shot, [np.round(in_shot).astype(np.int32)], (196, 150, 128))
    named = pipeline.screen_shot(_jpeg(shot), step="front")
    problem = named.retake_reason(doc, Side.FRONT)
    assert problem is not None
    assert problem.code is ReasonCode.KEY_FIELDS_ILLEGIBLE
    assert problem.code in JUDGED
    assert problem.detail.startswith("name: ")
    assert "birth_date" not in problem.detail  # the date of birth is still legible
    assert "氏名が読み取れません" in problem.retake_message  # the advice names the field
