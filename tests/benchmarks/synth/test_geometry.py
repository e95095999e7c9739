from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from benchmarks.synth.geometry import (
    ID1_MM,
    Camera,
    Pose,
    project_card_corners,
    side_faces,
    tilt_deg,
)
from benchmarks.synth.poses import split_tilt

CAM = Camera(1280, 720, 68.0)


def _rotation_rodrigues(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Independent construction: compose axis-angle rotations with cv2.Rodrigues."""
    rx, _ = cv2.Rodrigues(np.array([math.radians(pitch), 0.0, 0.0]))
    ry, _ = cv2.Rodrigues(np.array([0.0, math.radians(yaw), 0.0]))
    rz, _ = cv2.Rodrigues(np.array([0.0, 0.0, math.radians(roll)]))
    return rz @ ry @ rx


def _signed_area(quad: np.ndarray) -> float:
    x, y = quad[:, 0].astype(float), quad[:, 1].astype(float)
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


class TestCamera:
    def test_known_values(self) -> None:
        cam = Camera(1000, 500, 90.0)
        assert cam.focal_px == pytest.approx(500.0)
        assert cam.focal_35mm == pytest.approx(500.0 * math.hypot(36, 24) / math.hypot(1000, 500))

    def test_exception(self) -> None:
        with pytest.raises(ValueError, match="hfov_deg"):
            Camera(10, 10, 0.5)


class TestProjectCardCorners:
    def test_frontal_known_values(self) -> None:
        pose = Pose(0.0, 0.0, 0.0, 200.0)
        corners = project_card_corners(pose, CAM)
        f = CAM.focal_px
        expected = (
            np.array([[-42.8, -26.99], [42.8, -26.99], [42.8, 26.99], [-42.8, 26.99]]) * f / 200
        )
        np.testing.assert_allclose(corners, expected + np.array([640, 360]), atol=1e-3)

    def test_upside_down_keeps_card_order(self) -> None:
        corners = project_card_corners(Pose(0.0, 0.0, 180.0, 200.0), CAM)
        # the card's TL lands at the image's bottom-right
        assert corners[0, 0] > 640
        assert corners[0, 1] > 360

    @settings(max_examples=200, deadline=None)
    @given(
        tilt=st.floats(0.0, 79.9),
        azimuth=st.floats(0.0, 2 * math.pi),
        roll=st.floats(-180.0, 180.0),
        distance=st.floats(120.0, 600.0),
        ox=st.floats(-60.0, 60.0),
        oy=st.floats(-40.0, 40.0),
    )
    def test_quad_convex_and_clockwise(self, tilt, azimuth, roll, distance, ox, oy) -> None:
        pitch, yaw = split_tilt(tilt, azimuth)
        pose = Pose(pitch, yaw, roll, distance, ox, oy)
        r = pose.rotation
        pts = np.array(
            [[x, y, 0.0] for x, y in ((-42.8, -27), (42.8, -27), (42.8, 27), (-42.8, 27))]
        )
        assume(np.all((pts @ r.T + pose.translation)[:, 2] > 10))
        normal = r @ np.array([0.0, 0.0, -1.0])
        assume(float(normal @ pose.translation) < 0)  # printed face towards the camera
        quad = project_card_corners(pose, CAM).astype(np.float64)
        assert cv2.isContourConvex(quad.astype(np.float32))
        # TL, TR, BR, BL is clockwise on screen (y down) for any roll: positive shoelace area
        assert _signed_area(quad) > 0


class TestTilt:
    @settings(max_examples=100, deadline=None)
    @given(pitch=st.floats(-70, 70), yaw=st.floats(-70, 70), roll=st.floats(-180, 180))
    def test_matches_independent_rotation(self, pitch, yaw, roll) -> None:
        pose = Pose(pitch, yaw, roll, 300.0)
        r = _rotation_rodrigues(pitch, yaw, roll)
        np.testing.assert_allclose(pose.rotation, r, atol=1e-9)
        normal = r @ np.array([0.0, 0.0, 1.0])
        axis = np.array([0.0, 0.0, 1.0])  # optical axis
        expected = math.degrees(
            math.atan2(np.linalg.norm(np.cross(normal, axis)), abs(normal @ axis))
        )
        assert tilt_deg(pose) == pytest.approx(expected, abs=1e-6)

    @pytest.mark.parametrize("tilt", [0.0, 5.0, 30.0, 45.0, 60.0])
    def test_split_tilt_exact(self, tilt: float) -> None:
        for az in np.linspace(0, 2 * math.pi, 7):
            pitch, yaw = split_tilt(tilt, float(az))
            assert tilt_deg(Pose(pitch, yaw, 13.0, 300.0)) == pytest.approx(tilt, abs=1e-6)


class TestSideFaces:
    def test_none_visible_frontal_centred(self) -> None:
        faces = side_faces((-42.8, -26.99, 42.8, 26.99), 3.18, 0.76, Pose(0, 0, 0, 250.0), CAM)
        assert not any(f.visible for f in faces)

    @pytest.mark.parametrize(
        ("pitch", "yaw", "side"),
        [(40, 0, "top"), (-40, 0, "bottom"), (0, 40, "right"), (0, -40, "left")],
    )
    def test_only_facing_edges_visible(self, pitch: float, yaw: float, side: str) -> None:
        pose = Pose(pitch, yaw, 0.0, 250.0)
        faces = side_faces((-42.8, -26.99, 42.8, 26.99), 3.18, 0.76, pose, CAM)
        visible = [f for f in faces if f.visible]
        assert visible
        for f in faces:
            n_doc = pose.rotation.T @ f.normal_cam  # back to document coordinates
            facing = float(f.normal_cam @ (pose.rotation @ np.zeros(3) + pose.translation)) < 0
            axis = {"top": -n_doc[1], "bottom": n_doc[1], "right": n_doc[0], "left": -n_doc[0]}[
                side
            ]
            if f.visible:
                assert axis > 0 or facing  # visible facets lie on the tilted-towards side
        assert max(f.width_px for f in visible) > 1.0

    def test_size_constant(self) -> None:
        assert ID1_MM == (85.60, 53.98)
