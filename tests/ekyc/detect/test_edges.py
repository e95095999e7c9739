"""Sub-pixel side fits (``ekyc.detect.edges``) on generated scenes (truth known)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ekyc.detect.candidates import clockwise
from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import fit_edge, fit_sides, sample_profiles
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
