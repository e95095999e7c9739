"""Sub-pixel side fits (``ekyc.detect.edges``) on generated scenes (truth known)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ekyc.detect.candidates import clockwise
from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import (
    EdgeFit,
    fit_edge,
    fit_sides,
    intersect,
    median_profile,
    sample_profiles,
    sample_sides,
)
from tests.ekyc.detect import scenes


@pytest.mark.parametrize(("kind", "seed", "shift"), [("front", 1, 3.0), ("tilt", 5, -2.0)])
def test_fit_sides_is_fit_edge_of_each_side(kind, seed, shift):
    sc = scenes.scene(kind, seed)
    image = sc.image.astype(np.float32)
    quad = clockwise(scenes.truth(sc).astype(np.float64)) + shift
    cfg = replace(DetectConfig(), max_profiles=64)
    together = fit_sides(image, quad, 8.0, cfg)
    for i, fit in enumerate(together):
        prof = sample_profiles(image, quad[i], quad[(i + 1) % 4], 8.0, cfg)
        alone = None if prof is None else fit_edge(prof, cfg)
        assert (fit is None) == (alone is None)
        if fit is not None and alone is not None:
            np.testing.assert_array_equal(fit.point, alone.point)
            np.testing.assert_array_equal(fit.direction, alone.direction)
            assert (fit.support, fit.strength) == (alone.support, alone.strength)


@pytest.mark.parametrize(("kind", "seed", "shift"), [("front", 1, 3.0), ("tilt", 5, -2.0)])
def test_the_uint8_shot_fits_as_its_float_copy(kind, seed, shift):
    # The uint8 shot is sampled through float copies of thin boxes along each side (no
    # float copy of the shot): the same samples, so the same fits, also where a quad
    # shifted past the truth reaches out of the frame.
    sc = scenes.scene(kind, seed)
    quad = clockwise(scenes.truth(sc).astype(np.float64)) + shift
    cfg = replace(DetectConfig(), max_profiles=64)
    edge = quad + np.array([-quad[:, 0].min() - 5.0, 0.0])  # its left side out of frame
    for corners, half in ((quad, 10.24), (quad, 3.0), (edge, 10.24)):
        fitted = fit_sides(sc.image, corners, half, cfg)
        floats = fit_sides(sc.image.astype(np.float32), corners, half, cfg)
        assert sum(f is not None for f in fitted) >= 3
        for a, b in zip(fitted, floats, strict=True):
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                np.testing.assert_array_equal(a.point, b.point)
                np.testing.assert_array_equal(a.direction, b.direction)
                assert (a.support, a.strength) == (b.support, b.strength)
        # The outline's four sides sampled in one pass: each side's own samples.
        together = sample_sides(sc.image, corners, half, cfg, outer=6.0)
        for i, prof in enumerate(together):
            alone = sample_profiles(sc.image, corners[i], corners[(i + 1) % 4], half, cfg, 6.0)
            assert (prof is None) == (alone is None)
            if prof is not None and alone is not None:
                np.testing.assert_array_equal(prof.origins, alone.origins)
                np.testing.assert_array_equal(prof.colour, alone.colour)


def test_a_side_out_of_frame_has_no_fit():
    sc = scenes.scene("front", 1)
    image = sc.image.astype(np.float32)
    quad = clockwise(scenes.truth(sc).astype(np.float64))
    quad[:2, 1] -= 2000.0  # corners 0 and 1 far above the frame: side 0 is not seen
    fits = fit_sides(image, quad, 8.0, DetectConfig())
    assert fits[0] is None


def test_fits_land_on_the_true_sides():
    sc = scenes.scene("front", 1)
    image = sc.image.astype(np.float32)
    truth = clockwise(scenes.truth(sc).astype(np.float64))
    fits = fit_sides(image, truth + 2.5, 8.0, DetectConfig())
    for i, fit in enumerate(fits):
        assert fit is not None
        a, b = truth[i], truth[(i + 1) % 4]
        normal = np.array([fit.direction[1], -fit.direction[0]])
        assert abs(float((a - fit.point) @ normal)) < 1.0
        assert abs(float((b - fit.point) @ normal)) < 1.0


@pytest.mark.parametrize("count", [1, 2, 7, 40])
def test_the_median_profile_is_numpys_median(count):
    # ``median_profile`` partitions the transposed samples: numpy's very median (odd and
    # even counts, ties and halves included).
    rng = np.random.default_rng(count)
    colour = rng.integers(0, 256, (count, 33, 3)).astype(np.float32)
    colour[:, ::3] += rng.random((count, 11, 3)).astype(np.float32)
    before = colour.copy()
    got = median_profile(colour)
    assert got.dtype == np.float32
    assert np.array_equal(got, np.median(colour, axis=0))
    assert np.array_equal(colour, before)  # partitioned in a copy, not in the samples


def test_intersect_solves_the_two_lines():
    # Cramer's rule gives ``np.linalg.solve``'s point within rounding; parallel lines none.
    rng = np.random.default_rng(3)
    for _ in range(200):
        angles = rng.uniform(0.0, np.pi, 2)
        a, b = (
            EdgeFit(rng.uniform(0, 1000, 2), np.array([np.cos(t), np.sin(t)]), 1.0, 1.0)
            for t in angles
        )
        mat = np.stack([a.direction, -b.direction], axis=1)
        if abs(np.linalg.det(mat)) < 1e-3:
            continue
        t = np.linalg.solve(mat, b.point - a.point)
        point = intersect(a, b)
        assert point is not None
        np.testing.assert_allclose(point, a.point + t[0] * a.direction, rtol=1e-9, atol=1e-9)
    side = EdgeFit(np.array([5.0, 5.0]), np.array([1.0, 0.0]), 1.0, 1.0)
    assert intersect(side, EdgeFit(np.array([0.0, 9.0]), np.array([-1.0, 0.0]), 1.0, 1.0)) is None


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_a_profile_longer_than_the_image_is_across_is_not_sampled(dtype):
    # A degenerate quad can predict a side face tens of thousands of pixels wide (detection
    # seed 49006 #174: 56,156 px across a 581x507 crop); such profiles would sample only the
    # replicated border and overflow OpenCV's remap (an error out of find_card), so none are
    # sampled. A profile as long as the image is across still is.
    sc = scenes.scene("tilt", 5)
    image = sc.image.astype(dtype)
    quad = clockwise(scenes.truth(sc).astype(np.float64))
    cfg = DetectConfig()
    diagonal = float(np.hypot(*image.shape[:2]))
    assert sample_profiles(image, quad[0], quad[1], 56155.6, cfg) is None
    assert sample_profiles(image, quad[0], quad[1], diagonal / 2 + 1.0, cfg) is None
    assert sample_profiles(image, quad[0], quad[1], diagonal / 2 - 1.0, cfg) is not None
