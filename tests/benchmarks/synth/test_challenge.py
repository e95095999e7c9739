from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synth import face_rig
from benchmarks.synth.challenge import challenge_frames, flat_pose_face, pose_face
from benchmarks.synth.selfie import compose_selfie
from ekyc.liveness.landmarks import (
    FACEMESH_ID,
    FaceMeshTracker,
    eye_aspect_ratio,
    head_pose_deg,
    mouth_opening,
)
from ekyc.registry import Registry


@pytest.fixture(scope="module")
def tracker() -> FaceMeshTracker:
    registry = Registry.from_manifest(threads=1)
    if not registry.locate(FACEMESH_ID).exists():
        pytest.skip(f"{registry.locate(FACEMESH_ID)} is not there (mediapipe not installed)")
    return FaceMeshTracker(registry)


def _measures(tracker: FaceMeshTracker, face: np.ndarray) -> np.ndarray:
    frame, _ = compose_selfie(face, 480, 640, np.random.default_rng(3))
    points = tracker.landmarks(frame)
    assert points is not None
    return np.array([*head_pose_deg(points), eye_aspect_ratio(points), mouth_opening(points)])


class TestPoseFace:
    def test_neutral_is_the_photo(self, face) -> None:
        image, _ = pose_face(face, None, 0.0)
        assert image is face

    @pytest.mark.parametrize(
        ("action", "index", "sign"),
        [("turn_left", 0, -1), ("turn_right", 0, 1), ("look_up", 1, 1)],
    )
    def test_pose_reads_as_a_real_angle(self, tracker, face, action, index, sign) -> None:
        neutral = _measures(tracker, face)
        posed = _measures(tracker, pose_face(face, action, 1.0)[0])
        change = sign * (posed[index] - neutral[index])
        # a 3-D rotation reads near its nominal angle (28 / 20 degrees), the flat cylinder ~1/3
        assert change > 14.0, change

    def test_blink_shuts_the_eyes(self, tracker, face) -> None:
        neutral = _measures(tracker, face)
        shut = _measures(tracker, pose_face(face, "blink", 1.0)[0])
        assert shut[2] < 0.6 * neutral[2]

    def test_a_blink_shuts_whatever_the_extent(self, face) -> None:
        # a person's extent scales their head turns and jaw, not a blink: lids stopped at
        # 0.8-0.97 read 0.63-0.73 of the open eye on faces with glasses
        shut, _ = pose_face(face, "blink", 1.0)
        assert np.array_equal(pose_face(face, "blink", 1.0, extent=0.8)[0], shut)
        assert np.array_equal(pose_face(face, "blink", 0.9, extent=1.15)[0], shut)  # held

    def test_open_mouth_opens(self, tracker, face) -> None:
        neutral = _measures(tracker, face)
        opened = _measures(tracker, pose_face(face, "open_mouth", 1.0)[0])
        assert opened[3] - neutral[3] > 0.2

    def test_open_mouth_opens_a_mouth_already_open(self, tracker, face) -> None:
        # a photo taken mid-word: the astronaut's mouth opened (reads 0.29), cut back to the
        # crop; opened fully, its chin drawn below the crop reads +0.17 (squeezed into the
        # crop, as the rig did before, +0.11: under ActiveConfig.mouth_delta)
        ajar = np.ascontiguousarray(pose_face(face, "open_mouth", 0.4)[0][:112])
        neutral = _measures(tracker, ajar)
        opened, _ = pose_face(ajar, "open_mouth", 1.0)
        assert opened.shape[0] > 112
        assert _measures(tracker, opened)[3] - neutral[3] > 0.15

    def test_jaw_drop_stays_in_a_jaw_range(self, face) -> None:
        rig = face_rig.face_rig(face)
        assert rig is not None
        width = np.linalg.norm(rig.points[291, :2] - rig.points[61, :2])
        gap = rig.points[14, 1] - rig.points[13, 1]
        assert face_rig.jaw_drop(rig, 1.0) == pytest.approx(face_rig.DROP * width)
        assert face_rig.jaw_drop(rig, 5.0) == pytest.approx(face_rig.MAX_GAP * width - gap)

    def test_landmarks_follow_the_turn(self, tracker, face) -> None:
        _, left = pose_face(face, "turn_left", 1.0)
        _, right = pose_face(face, "turn_right", 1.0)
        assert left[2, 0] < right[2, 0] - 10  # the nose tip moves with the head

    def test_unreadable_face_falls_back_to_flat(self, tracker) -> None:
        blank = np.full((112, 112, 3), 128, np.uint8)
        assert face_rig.face_rig(blank) is None
        image, lm = pose_face(blank, "turn_left", 0.5)
        flat, flat_lm = flat_pose_face(blank, "turn_left", 0.5)
        assert np.array_equal(image, flat)
        assert np.allclose(lm, flat_lm)


def test_challenge_draws_the_same_room_as_before(face) -> None:
    """The rig takes nothing from ``rng``: the neutral frames and what the caller draws next
    are those of a recording without actions."""
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    posed = challenge_frames(face, ("blink",), a, frames_per_action=3, neutral_frames=2)
    plain = challenge_frames(face, (), b, neutral_frames=2)
    assert np.array_equal(posed[0][0], plain[0][0])
    assert a.integers(0, 2**31) == b.integers(0, 2**31)


def test_a_photo_turned_away_does_not_face_the_camera(shared_data) -> None:
    # the recording rests in the selfie photo's pose (applicant._people passes over such
    # a photo); here, after the rig tests, so that their FaceMesh is built
    from benchmarks.synth.applicant import _facing_camera
    from benchmarks.synth.generate import load_face

    folder = shared_data / "lfw_pairs_aligned112" / "images" / "Xanana_Gusmao"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not there")
    assert not _facing_camera(load_face(str(folder / "Xanana_Gusmao_0002.jpg")))  # 45.5 deg
    assert _facing_camera(load_face(str(folder / "Xanana_Gusmao_0003.jpg")))  # 1.2 deg


def test_the_lower_lip_rides_on_the_jaw(shared_data) -> None:
    # fresh seed 33075's thick lower lip: the jaw's ramp dropped its outer edge less than
    # its inner edge, folding the lip into the opened mouth (outer edge 0.13 mouth widths
    # above the inner one), and FaceMesh read the cavity as the lower lip (+0.14)
    path = shared_data / "lfw_pairs_aligned112" / "images" / "Ruben_Studdard"
    if not path.is_dir():
        pytest.skip(f"{path} is not there")
    from benchmarks.synth.generate import load_face

    rig = face_rig.face_rig(load_face(str(path / "Ruben_Studdard_0002.jpg")))
    assert rig is not None
    moved = face_rig.open_mouth(rig, 1.0)
    for inner, outer in ((14, 17), (87, 84), (317, 314), (178, 181), (402, 405)):
        rest = rig.points[outer, 1] - rig.points[inner, 1]
        assert moved[outer, 1] - moved[inner, 1] > 0.75 * rest > 0
