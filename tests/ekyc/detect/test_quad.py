"""find_quad against the synthetic generator's ground truth.

The fixed seeds below are regression guards for scenes the detector handles today; the
statistical test at the end holds a floor over 20 unselected scenes, and the rate and
accuracy over unseen scenes are measured by ``benchmarks.detect``.
"""

from __future__ import annotations

import csv
from contextlib import nullcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import plane_pose
from ekyc.detect.quad import (
    _aspect,
    colour_gradient,
    find_quad,
    finish_quad,
    order_corners,
    refine_sides,
    search_quads,
)
from ekyc.types import AspectPrior
from tests.ekyc.detect import scenes

CASES = [  # kind, seed, clean, background
    ("front", 0, True, "table"),
    ("front", 2, True, "wood"),
    ("front", 4, True, "wood"),
    ("tilt", 0, True, "fabric"),
    ("tilt", 4, True, "fabric"),
    ("front", 1, False, "any"),
    ("tilt", 5, False, "any"),
    ("back", 1, False, "any"),
    ("screen", 3, False, "any"),
]


@pytest.mark.parametrize(("kind", "seed", "clean", "background"), CASES)
def test_corners_match_ground_truth(kind, seed, clean, background):
    sc = scenes.scene(kind, seed, clean=clean, background=background)
    det = find_quad(sc.image)
    assert det is not None
    gt = scenes.truth(sc)
    assert scenes.iou(det.quad.corners, gt) >= 0.99
    assert scenes.corner_error(det.quad.corners, gt) <= 3.0
    assert not det.cut_by_border
    assert 0.0 <= det.quad.score <= 1.0


@pytest.mark.parametrize(
    ("kind", "seed", "background"), [("front", 0, "table"), ("back", 1, "any")]
)
def test_a_flat_quad_finishes_alike_without_the_side_face_step(kind, seed, background):
    # ``finish_quad(..., flat=True)``: where no side face is predicted along the quad and
    # the outline moves no side, the side-face step would move nothing: the same quad.
    sc = scenes.scene(kind, seed, clean=True, background=background)
    refined = refine_sides(sc.image, scenes.truth(sc).astype(np.float64) + 1.5, DetectConfig())
    assert refined is not None
    cfg = DetectConfig()
    full = finish_quad(sc.image, refined[1], 0.9, cfg)
    flat = finish_quad(sc.image, refined[1], 0.9, cfg, flat=True)
    np.testing.assert_allclose(flat.quad.corners, full.quad.corners, atol=1e-6)
    assert (flat.quad.score, flat.cut_by_border) == (full.quad.score, full.cut_by_border)


def test_upright_card_comes_out_in_upright_order():
    sc = scenes.scene("front", 0, clean=True, background="table")
    det = find_quad(sc.image)
    assert det is not None
    errors = np.linalg.norm(det.quad.corners - scenes.truth(sc), axis=1)
    assert errors.max() <= 3.0  # TL first, not merely the same set


def test_no_card_gives_none():
    rng = np.random.default_rng(0)
    noise = rng.integers(90, 110, (720, 1280, 3), dtype=np.uint8)
    assert find_quad(noise) is None
    assert find_quad(np.zeros((360, 640, 3), np.uint8)) is None


@pytest.mark.parametrize(
    "dx_fraction",
    [
        pytest.param(
            -0.35,
            marks=pytest.mark.xfail(
                strict=True,
                reason="regression of the boundary ranking: a printed panel fully in frame "
                "outranks the cut card's extrapolated outline",
            ),
        ),
        0.55,
    ],
)
def test_card_cut_by_the_border_is_flagged(dx_fraction):
    sc = scenes.shifted("front", 0, dx_fraction)
    assert sc.record["visible_fraction"] < 0.95
    det = find_quad(sc.image)
    assert det is None or det.cut_by_border


@pytest.mark.parametrize(
    ("image", "expectation"),
    [
        (np.zeros((64, 64, 3), np.uint8), nullcontext()),
        (np.zeros((64, 64), np.uint8), pytest.raises(ValueError, match="uint8")),
        (np.zeros((64, 64, 3), np.float32), pytest.raises(ValueError, match="uint8")),
    ],
)
def test_input_validation(image, expectation):
    with expectation:
        find_quad(image)


@settings(max_examples=60, deadline=None)
@given(
    angle=st.floats(0, 2 * np.pi),
    start=st.integers(0, 3),
    reverse=st.booleans(),
    dx=st.floats(-200, 200),
)
def test_order_is_clockwise_long_side_first_facing_up(angle, start, reverse, dx):
    w, h = 428.0, 270.0  # an ID-1 card seen square-on
    rect = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = rect @ rot.T + [640 + dx, 360]
    shuffled = np.roll(quad, start, axis=0)
    if reverse:
        shuffled = shuffled[::-1]
    out = order_corners(shuffled, (1280, 720)).astype(np.float64)
    x, y = out[:, 0], out[:, 1]
    assert np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y) > 0  # clockwise on screen
    sides = np.linalg.norm(np.roll(out, -1, axis=0) - out, axis=1)
    assert sides[0] == pytest.approx(w, rel=1e-3)
    first = out[1] - out[0]
    third = out[3] - out[2]
    assert first[0] >= third[0] - 1e-6  # the first long side's normal points most upwards


def test_order_corners_aspect_is_plane_poses():
    # ``order_corners`` takes the long side from a scalar closed form of the quad's aspect
    # in space: the same as ``plane_pose``'s, and None (the image sides decide) where it is.
    rng = np.random.default_rng(7)
    rect = np.array([[300.0, 200.0], [1000.0, 220.0], [990.0, 650.0], [310.0, 640.0]])
    for sigma in (5.0, 60.0, 150.0):
        for quad in rect + rng.normal(0.0, sigma, (50, 4, 2)):
            pose = plane_pose(quad.astype(np.float32), (1280, 720), 1000.0)
            aspect = _aspect([(float(x), float(y)) for x, y in quad], (1280, 720), 1000.0)
            if pose is None:
                assert aspect is None
            else:
                assert aspect == pytest.approx(pose.aspect, rel=1e-5)
    line = [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0), (300.0, 0.0)]  # collinear
    assert plane_pose(np.array(line, np.float32), (1280, 720), 1000.0) is None
    assert _aspect(line, (1280, 720), 1000.0) is None


@pytest.mark.dataset
def test_smartdoc_a4(shared_data):
    """The 12 SmartDoc-15 frames with the A4 prior (``ekyc bench detect`` reports them).

    Backgrounds 01 and 03 (a page on a plain desk) read 0.989-0.993 and must stay >= 0.98.
    Background05 (a white page stack on a near-white desk, a cable across it) is split by
    document: datasheet001 and letter001 were developed on (0.53 / 0.25 before the closed
    document working copy, 0.914 / 0.904 with it), magazine001 and paper001 are held out
    (0.17 / 0.12 before, 0.890 / 0.118 with it). Floors sit below today's figures: the
    issue's target (mean >= 0.97; today 0.896) is the benchmark's to track.
    """
    root = shared_data / "smartdoc15_ch1_frames"
    if not root.is_dir():
        pytest.skip(f"SmartDoc frames not found at {root}")
    import cv2

    ious = {}
    with (root / "metadata.csv").open() as fh:
        for row in csv.DictReader(fh):
            img = cv2.cvtColor(
                cv2.imread(str(root / "frames" / row["image_path"])), cv2.COLOR_BGR2RGB
            )
            gt = np.array(
                [[float(row[f"{c}_x"]), float(row[f"{c}_y"])] for c in ("tl", "tr", "br", "bl")]
            )
            det = find_quad(img, aspect=AspectPrior.A4)
            ious[row["image_path"]] = 0.0 if det is None else scenes.iou(det.quad.corners, gt)
    assert len(ious) == 12
    plain = {k: v for k, v in ious.items() if not k.startswith("background05/")}
    assert min(plain.values()) >= 0.98, plain
    for doc in ("datasheet001", "letter001"):
        assert ious[next(k for k in ious if k.startswith(f"background05/{doc}/"))] >= 0.85
    assert np.mean(list(ious.values())) >= 0.85


@pytest.mark.parametrize("seed", range(30000, 30008))
def test_page_on_a_pale_desk_with_a_cable_across_it(seed):
    """A white page on a near-white desk, a dark cable across it (SmartDoc background05).

    Seeds 30000-30007. Before the document working copy was grey-closed
    (``DetectConfig.document_close_px``) the cable's edges made the best quads on three of
    the eight (IoU 0.49, 0.58, 0.48); the same pages without the cable were found at 0.99.
    """
    image, truth = scenes.page_on_pale_desk(seed)
    det = find_quad(image, aspect=AspectPrior.A4)
    assert det is not None
    assert scenes.iou(det.quad.corners, truth) >= 0.98


@pytest.mark.parametrize("seed", range(30100, 30104))
def test_page_seen_only_by_its_shadow_line_falls_back_to_the_unclosed_copy(seed):
    """A page of the desk's white outlined only by a thin shadow: the closing erases it.

    The closed document copy then finds nothing (seeds 30100-30103), and the search runs
    again on the copy as it is, so the answer is the one the unclosed search gives.
    """
    image, _ = scenes.page_on_pale_desk(seed, cable=False, shadow_only=True)
    closed = search_quads(image, AspectPrior.A4)
    plain = search_quads(image, AspectPrior.A4, DetectConfig(document_close_px=0))
    assert closed.best is not None
    assert plain.best is not None
    np.testing.assert_array_equal(closed.best.quad.corners, plain.best.quad.corners)


@pytest.mark.parametrize("seed", [30235, 30247, 30257])
def test_page_among_clutter_with_a_pen_across_a_side(seed):
    """The page's line quad survives beside the rougher hull of the same outline.

    Generated clutter scenes, seeds 30220-30259: 37 of 40 at IoU >= 0.98 while the hull
    and line quads were deduplicated together (these three: 0.87, 0.39, 0.87, a quad on
    the pen's edge or the monitor's winning), 40 of 40 with each source on its own.
    """
    image, truth = scenes.page_on_cluttered_desk(seed)
    det = find_quad(image, aspect=AspectPrior.A4)
    assert det is not None
    assert scenes.iou(det.quad.corners, truth) >= 0.98


GENUINE_KINDS = ("front", "tilt", "back")


def test_detection_rate_and_accuracy_over_random_scenes():
    """20 unselected genuine scenes (seeds 200-219): floors at what the detector achieves.

    Measured when last changed (lines on a low-threshold edge map, per-line evidence,
    in-frame area preference): of the 18 scenes with the card fully in frame, 11 gave IoU
    >= 0.98 (before: 10). Of the others, five are near misses (IoU 0.92-0.98: one side on
    a printed frame inside a faint outline, a finger or a shadow) and one picked the
    portrait of a white card on white paper. Median worst-corner error on the good ones:
    0.54 px. The floor sits one scene below so one scene flipping does not fail the
    suite, while a ranking regression does. The issue's targets (IoU >= 0.99 on every
    scene) are not met yet; ``benchmarks.detect`` tracks them.
    """
    good, errors = 0, []
    for seed in range(200, 220):
        sc = scenes.scene(GENUINE_KINDS[seed % 3], seed)
        gt = scenes.truth(sc)
        det = find_quad(sc.image)
        if det is None or sc.record["visible_fraction"] < 0.999:
            continue
        if scenes.iou(det.quad.corners, gt) >= 0.98:
            good += 1
            errors.append(scenes.corner_error(det.quad.corners, gt))
    assert good >= 10
    assert float(np.median(errors)) <= 1.0


def test_refine_near_keeps_to_the_given_sides_and_their_nearby_edges():
    """``QuadSearch.refine_near``: edges within the window are fitted, a printed line
    beyond it is not (``refine``'s wider first pass takes it), and a side whose window
    shows only noise stays about where it was given (a faint side placed by the layout)."""
    rng = np.random.default_rng(7)
    image = np.full((720, 1280, 3), 200.0)
    image[200:500, 300:780] = 120.0  # the card: top 200, right 780, bottom 500, left 300
    image[200:500, 300:352] = 200.0  # its left edge vanishes (as pale as the table) ...
    image[200:500, 352:356] = 60.0  # ... where a printed line runs, 52 px inside
    image = np.clip(image + rng.normal(0.0, 3.0, image.shape), 0, 255).astype(np.uint8)
    search = search_quads(image, AspectPrior.ID1, DetectConfig())
    # The layout put the left side at x = 346; the other sides are 2 px off their edges.
    given = np.array([[346, 198], [782, 198], [782, 502], [346, 502]], np.float32)
    near = search.refine_near(given, 1.0, half_width=3.0)
    assert near is not None
    xs, ys = np.sort(near.quad.corners[:, 0]), np.sort(near.quad.corners[:, 1])
    assert np.allclose(xs[:2], 346.0, atol=1.0)  # kept: only noise within 3 px
    assert np.allclose(xs[2:], 780.0, atol=0.5)  # the card's edges (pixel boundaries)
    assert np.allclose(ys[:2], 200.0, atol=0.5)
    assert np.allclose(ys[2:], 500.0, atol=0.5)
    wide = search.refine(given, 1.0)
    assert wide is not None
    assert np.allclose(np.sort(wide.quad.corners[:, 0])[:2], 352.0, atol=1.0)


def test_colour_gradient_takes_the_first_strongest_channel() -> None:
    """Per pixel, the Sobel of the channel with the largest gradient (argmax: the first of
    equal ones), as the working image's ranking expects; small integer images make ties."""
    import cv2

    rng = np.random.default_rng(7)
    blur = rng.integers(0, 3, (24, 32, 3)).astype(np.float32)
    blur[:, :, 1] = 2.0 - blur[:, :, 0]  # the same strength, the other sign: ties
    blur[5:9, :, 2] = blur[5:9, :, 0]
    gx, gy, mag = colour_gradient(blur)
    sx = np.asarray(cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3), np.float32) / 8.0
    sy = np.asarray(cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3), np.float32) / 8.0
    mag2 = sx * sx + sy * sy
    channel = np.argmax(mag2, axis=2)[..., None]
    assert np.array_equal(gx, np.take_along_axis(sx, channel, axis=2)[..., 0])
    assert np.array_equal(gy, np.take_along_axis(sy, channel, axis=2)[..., 0])
    assert np.array_equal(mag, np.sqrt(np.take_along_axis(mag2, channel, axis=2)[..., 0]))
    assert gx.dtype == gy.dtype == mag.dtype == np.float32
    assert (np.take_along_axis(mag2, channel, axis=2) > 0).any()  # not all flat
