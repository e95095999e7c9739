from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekyc.match.align import TEMPLATES, align_face, realign, similarity_transform


def _similar(points, angle, scale, shift):
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]]) * scale
    return (points.astype(np.float64) @ rot.T + shift).astype(np.float32)


class TestSimilarityTransform:
    @settings(max_examples=60, deadline=None)
    @given(
        name=st.sampled_from(sorted(TEMPLATES)),
        angle=st.floats(-math.pi, math.pi),
        scale=st.floats(0.2, 8.0),
        dx=st.floats(-500, 500),
        dy=st.floats(-500, 500),
    )
    def test_round_trip(self, name, angle, scale, dx, dy):
        tpl = TEMPLATES[name].points
        moved = _similar(tpl, angle, scale, np.array([dx, dy]))
        matrix = similarity_transform(moved, tpl)
        back = moved.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
        assert np.abs(back - tpl).max() < 1e-3

    def test_exception(self):
        with pytest.raises(ValueError, match="matching"):
            similarity_transform(np.zeros((5, 2), np.float32), np.zeros((4, 2), np.float32))
        with pytest.raises(ValueError, match="one place"):
            similarity_transform(np.ones((5, 2), np.float32), np.zeros((5, 2), np.float32))


class TestAlignFace:
    @pytest.mark.parametrize("name", sorted(TEMPLATES))
    def test_landmarks_land_on_the_template(self, name):
        """Bright dots drawn at rotated, scaled landmarks end up on the template's points."""
        tpl = TEMPLATES[name]
        landmarks = _similar(tpl.points, 0.3, 2.5, np.array([60.0, 20.0]))
        image = np.zeros((480, 480, 3), np.uint8)
        yy, xx = np.mgrid[0:480, 0:480] + 0.5  # pixel centres, project convention
        for x, y in landmarks:
            image[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = 255
        crop = align_face(image, landmarks, name)
        assert crop.shape == (tpl.size, tpl.size, 3)
        assert crop.dtype == np.uint8
        grey = crop[..., 0].astype(np.float64)
        cy, cx = np.mgrid[0 : tpl.size, 0 : tpl.size] + 0.5
        for x, y in tpl.points:
            near = (cx - x) ** 2 + (cy - y) ** 2 <= 9
            w = grey * near
            centroid = np.array([(w * cx).sum(), (w * cy).sum()]) / w.sum()
            assert np.abs(centroid - (x, y)).max() < 0.25

    def test_unknown_template(self):
        with pytest.raises(ValueError, match="unknown alignment template"):
            align_face(np.zeros((8, 8, 3), np.uint8), TEMPLATES["arcface-5pt-112"].points, "x")

    def test_templates_are_plausible_faces(self):
        for tpl in TEMPLATES.values():
            p = tpl.points
            assert p[0, 0] < p[1, 0]  # image-left eye first
            assert p[0, 1] < p[2, 1] < p[3, 1]  # eyes above nose above mouth
            assert np.all((p > 0) & (p < tpl.size))


class TestRealign:
    @pytest.mark.parametrize("side", [112, 96, 224])
    def test_same_pixels_as_align_face_from_the_template_points(self, side):
        """The fusion's ArcFace crop -> dlib chip: cached transform, identical warp."""
        rng = np.random.default_rng(side)
        crop = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        arcface = TEMPLATES["arcface-5pt-112"]
        expected = align_face(crop, arcface.points * (side / arcface.size),
                              "dlib-chip-150-pad0.25")  # fmt: skip
        for _ in range(2):  # the second call takes the cached transform
            got = realign(crop, "arcface-5pt-112", "dlib-chip-150-pad0.25")
            np.testing.assert_array_equal(got, expected)

    def test_unknown_template(self):
        with pytest.raises(ValueError, match="unknown alignment template"):
            realign(np.zeros((112, 112, 3), np.uint8), "arcface-5pt-112", "x")
