from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import focal_px, plane_pose
from ekyc.detect.tilt import estimate_tilt
from ekyc.types import CaptureMetadata
from tests.ekyc.detect import scenes


def _meta(sc):
    return CaptureMetadata("JPEG", focal_length_35mm=float(sc.record["focal_35mm"]))


@pytest.mark.parametrize(("kind", "seed"), [("tilt", 0), ("tilt", 4), ("front", 0), ("tilt", 2)])
def test_tilt_from_true_corners_matches_the_pose(kind, seed):
    sc = scenes.scene(kind, seed, clean=True, background="fabric")
    check = estimate_tilt(scenes.truth(sc), (1280, 720), _meta(sc))
    assert check.tilt_deg == pytest.approx(sc.record["tilt_deg"], abs=1.0)
    assert check.focal_length_source == "exif"


def test_prior_focal_length_is_close_enough():
    sc = scenes.scene("tilt", 0, clean=True, background="fabric")
    check = estimate_tilt(scenes.truth(sc), (1280, 720))
    assert check.focal_length_source == "prior"
    assert check.tilt_deg == pytest.approx(sc.record["tilt_deg"], abs=4.0)


@pytest.mark.parametrize("seed", [0, 4])
def test_genuine_tilted_card_shows_thickness(seed):
    sc = scenes.scene("tilt", seed, clean=True, background="fabric")
    assert sc.record["thickness_visible"]
    check = estimate_tilt(scenes.truth(sc), (1280, 720), _meta(sc), image=sc.image)
    assert check.thickness_visible
    assert check.edge_band_px == pytest.approx(sc.record["thickness_px"], rel=0.6)
    assert check.passed


@pytest.mark.parametrize(
    ("kind", "seed"), [("screen", s) for s in range(4)] + [("photocopy", s) for s in range(4)]
)
def test_flat_reproduction_shows_no_thickness(kind, seed):
    sc = scenes.scene(kind, seed)
    check = estimate_tilt(scenes.truth(sc), (1280, 720), _meta(sc), image=sc.image)
    assert not check.thickness_visible
    assert not check.passed


def test_square_on_card_has_zero_tilt_and_fails_the_band():
    quad = np.array([[440, 200], [840, 200], [840, 452], [440, 452]], np.float32)
    check = estimate_tilt(quad, (1280, 720))
    assert check.tilt_deg == pytest.approx(0.0, abs=1e-6)
    assert not check.in_band
    assert not check.passed


def test_plane_pose_recovers_aspect_under_perspective():
    sc = scenes.scene("tilt", 0, clean=True, background="fabric")
    pose = plane_pose(scenes.truth(sc), (1280, 720), sc.record["focal_px"])
    assert pose is not None
    assert pose.aspect == pytest.approx(85.60 / 53.98, rel=0.01)
    assert pose.skew_deg < 1.0
    assert focal_px((1280, 720), sc.record["focal_35mm"]) == pytest.approx(
        sc.record["focal_px"], rel=1e-3
    )


@pytest.mark.parametrize(
    ("quad", "size", "expectation"),
    [
        (np.array([[0, 0], [10, 0], [10, 5], [0, 5]], np.float32), (64, 64), nullcontext()),
        (np.zeros((3, 2), np.float32), (64, 64), pytest.raises(ValueError, match="4 finite")),
        (
            np.full((4, 2), np.nan, np.float32),
            (64, 64),
            pytest.raises(ValueError, match="4 finite"),
        ),
        (
            np.array([[0, 0], [10, 0], [10, 5], [0, 5]], np.float32),
            (0, 64),
            pytest.raises(ValueError, match="positive"),
        ),
    ],
)
def test_input_validation(quad, size, expectation):
    with expectation:
        estimate_tilt(quad, size)


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        ({}, nullcontext()),
        ({"min_tilt_deg": 60.0, "max_tilt_deg": 30.0}, pytest.raises(ValueError, match="min_tilt")),
        ({"working_side_px": 10}, pytest.raises(ValueError, match="working_side_px")),
        ({"min_score": 2.0}, pytest.raises(ValueError, match="min_score")),
    ],
)
def test_config_validation(kwargs, expectation):
    with expectation:
        DetectConfig(**kwargs)
