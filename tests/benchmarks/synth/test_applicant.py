"""The synthetic applicant's declared data: what the OCR cross-check compares the card with."""

from __future__ import annotations

import pytest

from benchmarks.synth.applicant import SyntheticApplicant
from benchmarks.synth.identity import make_identity
from ekyc.read.normalize import address_key, name_key
from ekyc.types import DocumentType


@pytest.mark.parametrize(
    "doc",
    [DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD],
)
def test_application_declares_what_the_card_prints(doc):
    identity = make_identity(20003, doc)
    applicant = SyntheticApplicant(doc, identity, shots={}, impostor=None).application()
    assert name_key(applicant.full_name) == name_key(identity.name)  # the card's script
    assert applicant.birth_date == identity.birth
    assert address_key(applicant.address) == address_key(identity.address)
    assert applicant.license_number is None  # the form does not ask for it


def test_a_pose_behind_the_camera_is_a_failed_capture_not_a_crash(monkeypatch):
    # Seed 24010's photocopy (step 1) samples, on its fourth try, a pose that puts part of the
    # sheet behind the camera (it stopped `bench verify_rates --seed 24000`): that try is
    # skipped like a shot the capture app retakes.
    import datetime as dt

    from benchmarks.synth import applicant
    from benchmarks.synth.geometry import BehindCamera

    tried: list[str] = []
    render = applicant.render_scene

    def render_and_note(*args, **kwargs):
        try:
            scene = render(*args, **kwargs)
        except BehindCamera:
            tried.append("behind the camera")
            raise
        tried.append("rendered")
        return scene

    monkeypatch.setattr(applicant, "render_scene", render_and_note)
    monkeypatch.setattr(applicant, "CAPTURE_ATTEMPTS", 5)
    identity = make_identity(24010, DocumentType.MY_NUMBER_CARD)
    taken = dt.datetime(2026, 11, 26, 10, 0, 0)
    data = applicant._card_shot("photocopy", identity, "astronaut", 240101, None, taken,
                                (1280, 720), "tilt")  # fmt: skip
    assert tried == ["rendered"] * 3 + ["behind the camera", "rendered"]
    assert data[:2] == b"\xff\xd8"  # the last render, as when no try passes the gate


def test_a_live_selfie_is_never_drawn_from_a_black_and_white_photo(tmp_path, monkeypatch):
    # A phone's front camera takes colour: LFW's old black-and-white press photos (seed 22003
    # drew one as its selfie) are used only as a card portrait.
    import cv2
    import numpy as np

    from benchmarks.synth import applicant
    from benchmarks.synth.applicant import _people

    monkeypatch.setattr(applicant, "_facing_camera", lambda img: True)  # noise has no face

    rng = np.random.default_rng(5)
    for person in ("Ann_A", "Bob_B"):
        (tmp_path / person).mkdir()
        for i, colour in enumerate((False, False, True), start=1):
            face = rng.integers(60, 200, (112, 112, 3), dtype=np.uint8)
            if not colour:
                face[...] = face[..., :1]
            cv2.imwrite(str(tmp_path / person / f"{person}_{i:04d}.jpg"), face)
    for seed in range(4):
        portrait, selfie, _ = _people(tmp_path, seed)
        assert selfie.endswith("_0003.jpg")
        assert portrait.endswith("_0001.jpg")


def test_a_live_selfie_faces_the_camera(tmp_path, monkeypatch):
    # The recording rests in the selfie photo's pose: a photo turned away as a press
    # photographer caught it (dev seed 23030: 45 degrees) is passed over for the person's
    # next colour photo that faces the camera, or kept when none does.
    import cv2
    import numpy as np

    from benchmarks.synth import applicant

    rng = np.random.default_rng(5)
    turned: set[int] = set()
    for person in ("Ann_A", "Bob_B"):
        (tmp_path / person).mkdir()
        for i in (1, 2, 3):
            face = rng.integers(0, 20, (112, 112, 3), dtype=np.uint8) + np.array([50 * i, 90, 200])
            cv2.imwrite(str(tmp_path / person / f"{person}_{i:04d}.jpg"), face.astype(np.uint8))

    def facing(img: np.ndarray) -> bool:  # which photo it is: its blue channel (BGR written)
        return round((float(img[..., 2].mean()) - 10) / 50) not in turned

    monkeypatch.setattr(applicant, "_facing_camera", facing)
    for photos, selfie_ends in (((), "_0002.jpg"), ((2,), "_0003.jpg"), ((1, 2, 3), "_0002.jpg")):
        turned = set(photos)
        for seed in range(3):
            portrait, selfie, _ = applicant._people(tmp_path, seed)
            assert selfie.endswith(selfie_ends)
            assert portrait != selfie


def test_asked_to_hold_the_face_otherwise_the_applicant_poses_in_their_next_photo(
    tmp_path, monkeypatch
):
    # The applicant follows the selfie gate's advice about the face (sunglasses off, face
    # the phone): the next recording is performed by the person's next photo, never the
    # card portrait's; other advice (blur, too small) is a new take of the same pose; a
    # person with no other photo keeps theirs.
    import datetime as dt
    from types import SimpleNamespace

    import cv2
    import numpy as np

    from benchmarks.synth import applicant
    from benchmarks.synth.applicant import Retake

    assert not Retake("eyes_hidden")  # a retake is not a keep
    assert Retake("face_blurred, eyes_hidden").pose
    assert not Retake("face_blurred").pose
    rng = np.random.default_rng(5)
    for person, n in (("Ann_A", 4), ("Bob_B", 4)):
        (tmp_path / person).mkdir()
        for i in range(1, n + 1):
            face = rng.integers(60, 200, (112, 112, 3), dtype=np.uint8)
            cv2.imwrite(str(tmp_path / person / f"{person}_{i:04d}.jpg"), face)
    monkeypatch.setattr(applicant, "_facing_camera", lambda img: True)
    portrait, poses, others = applicant._poses(tmp_path, 0)
    assert poses[0] == applicant._people(tmp_path, 0)[1]
    assert len(poses) == 3
    assert portrait not in poses
    assert len(others) == 4
    assert not set(others) & {portrait, *poses}

    performed: list[int] = []

    def challenge(face, rng, issued):  # which photo performs, without rendering it
        performed.append(next(i for i, p in enumerate(poses)
                              if np.array_equal(applicant.load_face(p), face)))  # fmt: skip
        return None, SimpleNamespace(frames=(SimpleNamespace(image=face),)), issued

    monkeypatch.setattr(applicant, "_challenge", challenge)
    answers = iter([Retake("face_blurred"), Retake("eyes_hidden"), False, Retake("face_turned"),
                    Retake("face_turned"), Retake("face_turned"), True])  # fmt: skip
    issued = dt.datetime(2026, 11, 26, 10, 0, 0)
    _, _, pose = applicant._recorded_selfie(poses, 0, 1, lambda a: [1, a], issued,
                                            lambda step, data: next(answers))  # fmt: skip
    assert performed == [0, 0, 1, 1, 2, 2, 2]  # the last pose kept when none is left
    assert pose == 4

    # portrait_still: the selfie is the card portrait's photo, whatever the screen says
    performed.clear()
    still = applicant.load_face(portrait)
    shot, _, pose = applicant._recorded_selfie(poses, 1, 1, lambda a: [1, a], issued,
                                               lambda step, data: Retake("eyes_hidden") if
                                               len(performed) < 2 else True, still)  # fmt: skip
    assert performed == [1, 1]
    assert pose == 1
    assert shot[:2] == b"\xff\xd8"
