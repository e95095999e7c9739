"""The quad follows the printed face, not the side face beside it (``ekyc.detect.sideface``).

Geometry is checked against the generator's ground truth: the true corners are the printed
face's, and the side face (0.76 mm thick) shows outside them on the sides that face the
camera.
"""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from ekyc.detect.candidates import clockwise
from ekyc.detect.config import DetectConfig
from ekyc.detect.quad import find_quad
from ekyc.detect.sideface import _grid_steps, _pairs, face_edge_quad, fit_steps
from ekyc.detect.steps import blurred_step
from ekyc.detect.thickness import side_face_widths
from ekyc.detect.tilt import estimate_tilt
from ekyc.types import CaptureMetadata
from tests.ekyc.detect import scenes

CFG = DetectConfig()


def _blurred_step(x: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    return np.array([0.5 * (1 + math.erf((v - centre) / (sigma * math.sqrt(2)))) for v in x])


def _profile(levels: list[float], steps: list[float], sigma: float, seed: int = 0) -> np.ndarray:
    x = np.arange(-12.0, 12.01, 0.5)
    y = np.full(len(x), levels[0])
    for (a, b), c in zip(itertools.pairwise(levels), steps, strict=True):
        y = y + (b - a) * _blurred_step(x, c, sigma)
    noise = np.random.default_rng(seed).normal(0.0, 1.0, (len(x), 3))
    return x, (y[:, None] + noise).astype(np.float32)


@pytest.mark.parametrize(("width", "sigma"), [(2.5, 0.6), (2.5, 1.2), (4.0, 0.6), (6.0, 1.0)])
def test_two_steps_are_found_where_a_band_lies(width, sigma):
    x, colour = _profile([240.0, 200.0, 90.0], [-width, 0.0], sigma)
    fit = fit_steps(x, colour, (1.0, 8.0))
    assert fit is not None
    assert fit.inner == pytest.approx(-width, abs=0.25)
    assert fit.outer == pytest.approx(0.0, abs=0.25)
    assert fit.gain >= CFG.face_edge_gain


@pytest.mark.parametrize("sigma", [0.6, 1.0, 1.5, 2.2])
def test_one_blurred_edge_is_not_a_band(sigma):
    x, colour = _profile([240.0, 90.0], [0.3], sigma)
    fit = fit_steps(x, colour, (1.0, 8.0))
    assert fit is not None
    assert fit.gain < CFG.face_edge_gain


def test_a_very_wide_band_is_still_found_on_a_coarser_grid():
    # A degenerate quad on a 12 MP shot can expect a band of tens of pixels: the coarse
    # grid then coarsens (its cost grows with the cube of the width) and must still find it.
    x = np.arange(-80.0, 8.01, 0.5)
    y = np.full(len(x), 240.0)
    y = y - 40.0 * np.array([0.5 * (1 + math.erf((v + 50.0) / (1.2 * math.sqrt(2)))) for v in x])
    y = y - 110.0 * np.array([0.5 * (1 + math.erf(v / (1.2 * math.sqrt(2)))) for v in x])
    colour = y[:, None] + np.random.default_rng(3).normal(0.0, 1.0, (len(x), 3))
    fit = fit_steps(x, colour.astype(np.float32), (12.0, 75.0))
    assert fit is not None
    assert fit.inner == pytest.approx(-50.0, abs=0.5)
    assert fit.outer == pytest.approx(0.0, abs=0.5)
    assert fit.gain >= CFG.face_edge_gain


def test_the_grid_steps_are_the_row_by_row_steps():
    # ``_grid_steps`` computes each distinct (centre, sigma) once and gathers the rows:
    # the very floats of one ``blurred_step`` row per grid point.
    x = np.arange(-9.3, 6.0, 0.5)
    inner, width, sigma = _pairs(-7.5, 1.5, 2.0, 6.0, 1.5, 0.5)
    first, second = _grid_steps(x, (inner, inner + width), sigma)
    assert np.array_equal(first, blurred_step(x, inner[:, None], sigma[:, None]))
    assert np.array_equal(second, blurred_step(x, (inner + width)[:, None], sigma[:, None]))


def _side_offsets(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Signed distance (outwards +) of each found side's midpoint from the true side."""
    t, f = clockwise(truth.astype(np.float64)), clockwise(found.astype(np.float64))
    f = np.roll(f, min(range(4), key=lambda k: float(np.linalg.norm(np.roll(f, k, 0) - t))), 0)
    out = []
    for i in range(4):
        a, b = t[i], t[(i + 1) % 4]
        d = (b - a) / np.linalg.norm(b - a)
        n = np.array([d[1], -d[0]])
        out.append(float(((f[i] + f[(i + 1) % 4]) / 2 - (a + b) / 2) @ n))
    return np.array(out)


def _outer_quad(truth: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The truth with each side moved out by ``widths`` (per side, at its two ends)."""
    t = clockwise(truth.astype(np.float64))
    lines = []
    for i in range(4):
        a, b = t[i], t[(i + 1) % 4]
        d = (b - a) / np.linalg.norm(b - a)
        n = np.array([d[1], -d[0]])
        lines.append((a + n * widths[i, 0], b + n * widths[i, 1]))
    corners = []
    for i in range(4):
        (p, q), (r, s) = lines[i - 1], lines[i]
        mat = np.stack([q - p, -(s - r)], axis=1)
        u = np.linalg.solve(mat, r - p)
        corners.append(p + u[0] * (q - p))
    return np.array(corners)


# Clean tilted scenes whose strongest edge along a camera-facing side is the side face's
# outer edge (the detector's line fit alone lands 2-6 px outside the printed face there).
OUTER_EDGE_SEEDS = [2, 8, 10]


@pytest.mark.parametrize("seed", OUTER_EDGE_SEEDS)
def test_a_quad_on_the_side_face_moves_onto_the_printed_face(seed):
    sc = scenes.scene("tilt", seed, clean=True)
    truth = clockwise(scenes.truth(sc).astype(np.float64))
    f_px = float(sc.record["focal_px"])
    band = side_face_widths(truth, (1280, 720), f_px, CFG, at=(0.0, 1.0))
    facing = band.max(axis=1) >= 1.0
    assert facing.any()
    outer = _outer_quad(truth, band)  # the side face's outer edge on the facing sides
    moved = face_edge_quad(sc.image.astype(np.float32), outer, (1280, 720), f_px, CFG)
    offsets = _side_offsets(moved.corners, truth)
    assert not moved.vetoed
    assert np.all(np.abs(offsets[facing]) <= 1.0), offsets
    assert np.all(np.array(moved.moved_px)[facing] >= 1.0)
    assert np.all(np.array(moved.moved_px)[~facing] == 0.0)
    # The uint8 shot (``quad.finish_quad`` passes a view of it) gives the very same move.
    same = face_edge_quad(sc.image, outer, (1280, 720), f_px, CFG)
    np.testing.assert_array_equal(same.corners, moved.corners)
    assert same.moved_px == moved.moved_px


@pytest.mark.parametrize("seed", [0, 4, *OUTER_EDGE_SEEDS])
def test_a_quad_on_the_printed_face_stays(seed):
    sc = scenes.scene("tilt", seed, clean=True)
    truth = clockwise(scenes.truth(sc).astype(np.float64))
    f_px = float(sc.record["focal_px"])
    kept = face_edge_quad(sc.image.astype(np.float32), truth, (1280, 720), f_px, CFG)
    assert np.all(np.abs(_side_offsets(kept.corners, truth)) <= 0.5)


@pytest.mark.parametrize("seed", [2, 5, 8])  # seed 10's quad takes a printed panel's side
def test_detected_quad_is_the_printed_face_and_shows_the_thickness(seed):
    sc = scenes.scene("tilt", seed, clean=True)
    truth = scenes.truth(sc)
    det = find_quad(sc.image)
    assert det is not None
    assert np.all(np.abs(_side_offsets(det.quad.corners, truth)) <= 1.0)
    meta = CaptureMetadata("JPEG", focal_length_35mm=float(sc.record["focal_35mm"]))
    check = estimate_tilt(det, (1280, 720), meta, image=sc.image)
    assert check.thickness_visible
    assert check.tilt_deg == pytest.approx(float(sc.record["tilt_deg"]), abs=1.5)


def _cut_out_copy(margin_mm: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A flat cut-out copy seen like tilted card ``seed``: a grey card image with a white
    paper margin of ``margin_mm`` around it, on a dark table. Returns the image, the paper's
    quad, the card image's quad and the focal length (pixels)."""
    sc = scenes.scene("tilt", seed, clean=True)
    paper = clockwise(scenes.truth(sc).astype(np.float64))
    ppm = 10.0
    w, h = round(85.60 * ppm), round(53.98 * ppm)
    m = round(margin_mm * ppm)
    tex = np.full((h, w, 3), 246, np.uint8)
    tex[m : h - m, m : w - m] = (150, 140, 130)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hom = cv2.getPerspectiveTransform(src, paper.astype(np.float32))
    shift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1.0]])  # pixel centres at +0.5
    image = np.full((720, 1280, 3), 40, np.uint8)
    warped = cv2.warpPerspective(tex, shift @ hom, (1280, 720), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), shift @ hom, (1280, 720))
    alpha = mask[..., None].astype(np.float32) / 255.0
    image = (warped * alpha + image * (1 - alpha)).astype(np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), 0.6)
    inner = cv2.perspectiveTransform(
        np.array([[[m, m], [w - m, m], [w - m, h - m], [m, h - m]]], np.float32), hom
    )[0]
    return image, paper, inner.astype(np.float64), float(sc.record["focal_px"])


@pytest.mark.parametrize("seed", OUTER_EDGE_SEEDS)
def test_a_copy_margin_on_every_side_vetoes_the_move(seed):
    image, paper, _, f_px = _cut_out_copy(0.6, seed)
    band = side_face_widths(paper, (1280, 720), f_px, CFG)[:, 0]
    assert band.max() >= 1.0  # the pose has camera-facing sides, where a move is tempting
    out = face_edge_quad(image.astype(np.float32), paper, (1280, 720), f_px, CFG)
    assert out.vetoed
    assert out.moved_px == (0.0, 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(out.corners, paper)
    check = estimate_tilt(out.corners.astype(np.float32), (1280, 720), image=image)
    assert not check.thickness_visible
