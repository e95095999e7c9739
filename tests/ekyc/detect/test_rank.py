"""Boundary evidence of faint outlines (``ekyc.detect.rank``): a white card on pale paper.

Drawn scenes with known geometry: a card a few grey levels brighter than the paper under
it, no shadow, blurred like a phone's optics and with sensor noise. Its sides must count
as boundaries (and the card be found) while the same paper with no card shows none.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.detect.config import DetectConfig
from ekyc.detect.quad import find_quad, make_working_image
from ekyc.detect.rank import nested_preference, side_evidence
from tests.ekyc.detect import scenes

CFG = DetectConfig()
# A tilted ID-1 card in a 1280x720 shot (corners clockwise on screen).
CARD = np.array([[400.0, 200.0], [900.0, 230.0], [880.0, 540.0], [380.0, 500.0]])
PAPER = (238.0, 236.0, 230.0)


def _paper_with_card(step: float, noise: float, seed: int = 0) -> np.ndarray:
    """Pale paper with the card ``step`` grey levels brighter (0: no card), optics and noise."""
    rng = np.random.default_rng(seed)
    img = np.empty((720, 1280, 3), np.float32)
    img[:] = PAPER
    mask = np.zeros((720, 1280), np.uint8)
    cv2.fillConvexPoly(mask, (CARD * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
    img += step * (mask.astype(np.float32) / 255.0)[..., None]
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _evidence(image: np.ndarray) -> np.ndarray:
    work = make_working_image(image, CFG)
    quads = (CARD * work.scale)[None]
    return side_evidence(quads, work.blur, work.gx, work.gy, CFG)[0]


def test_a_white_card_on_pale_paper_shows_four_sides():
    # 8 grey levels: ~2.2 per working pixel after the shrink, under the old 3.0 floor.
    evidence = _evidence(_paper_with_card(8.0, 2.0))
    assert evidence.min() > 0.3


def test_the_white_card_on_pale_paper_is_found():
    found = find_quad(_paper_with_card(8.0, 2.0))
    assert found is not None
    assert scenes.iou(found.quad.corners, CARD) > 0.97


@pytest.mark.parametrize("noise", [2.0, 4.0, 6.0])
def test_noisy_paper_alone_shows_no_boundary(noise):
    image = _paper_with_card(0.0, noise)
    assert _evidence(image).max() < 0.05
    assert find_quad(image) is None


# Clockwise (on screen) quads for ``nested_preference``: a page, a box printed inside it,
# and a large quad beside it that does not enclose either.
PAGE = np.array([[100.0, 50.0], [300.0, 50.0], [300.0, 330.0], [100.0, 330.0]])
BOX = np.array([[120.0, 70.0], [280.0, 70.0], [280.0, 200.0], [120.0, 200.0]])
DESK = np.array([[350.0, 0.0], [1200.0, 0.0], [1200.0, 700.0], [350.0, 700.0]])


def _areas(quads: np.ndarray) -> np.ndarray:
    return np.array([cv2.contourArea(q.astype(np.float32)) for q in quads])


def test_of_two_comparable_nested_quads_the_inner_one_yields():
    quads = np.stack([PAGE, BOX, DESK])
    areas = _areas(quads)
    nested = nested_preference(quads, np.array([0.95, 1.0, 0.9]), areas, 0.9)
    assert nested[1] == pytest.approx(areas[1] / areas[0])  # the box inside the page
    assert nested[0] == 1.0  # the page: the desk quad beside it does not enclose it
    assert nested[2] == 1.0


def test_a_weak_container_is_no_reason_to_doubt_the_quad_inside():
    quads = np.stack([PAGE, BOX])
    nested = nested_preference(quads, np.array([0.5, 1.0]), _areas(quads), 0.9)
    assert nested.tolist() == [1.0, 1.0]


def test_a_quad_sharing_a_side_with_its_container_is_nested():
    # A panel printed along the page's top edge: its corners lie on the page's side.
    panel = np.array([[100.0, 50.0], [300.0, 50.0], [300.0, 120.0], [100.0, 120.0]])
    quads = np.stack([PAGE, panel + np.array([0.0, -1.5])])  # 1.5 px out: sampling noise
    nested = nested_preference(quads, np.array([1.0, 1.0]), _areas(quads), 0.9)
    assert nested[1] < 0.3
