"""A card held up in a selfie, below the face (the My Number back screen's hard case).

Applicants hold their card beside the chin when they misunderstand the selfie step, or to
show it; a My Number card's back held that way must still be refused before it is stored.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.cards import CardFace

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

_ID1_ASPECT = 53.98 / 85.60
_THUMB_RGB = (190, 150, 130)


def hold_card(
    frame: U8, card: CardFace, rng: np.random.Generator, where: str = "chest"
) -> tuple[U8, F64]:
    """``frame`` with ``card`` held up, and its corners (TL, TR, BR, BL).

    ``where="chest"``: the card is 35-60 % of the frame's width, centred at 0.3-0.7 of the
    width and 0.5-0.82 of the height. ``"beside_face"``: 30-40 % of the width, centred at
    0.2-0.28 or 0.72-0.8 of the width and 0.2-0.45 of the height, over the face's edge or
    the hair. Turned by up to 20 degrees with a slight perspective; in half the draws a
    thumb covers part of its left side.
    """
    height, width = frame.shape[:2]
    if where == "chest":
        card_w = width * rng.uniform(0.35, 0.6)
        centre = np.array([width * rng.uniform(0.3, 0.7), height * rng.uniform(0.5, 0.82)])
    elif where == "beside_face":
        card_w = width * rng.uniform(0.3, 0.4)
        across = rng.uniform(0.2, 0.28) if rng.random() < 0.5 else rng.uniform(0.72, 0.8)
        centre = np.array([width * across, height * rng.uniform(0.2, 0.45)])
    else:
        raise ValueError(f"where must be 'chest' or 'beside_face', got {where!r}")
    card_h = card_w * _ID1_ASPECT
    angle = np.deg2rad(rng.uniform(-20.0, 20.0))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [card_w / 2, card_h / 2]
    corners = box @ turn.T + rng.uniform(-0.04, 0.04, (4, 2)) * card_w + centre
    src_h, src_w = card.image.shape[:2]
    src = np.float32([[0, 0], [src_w, 0], [src_w, src_h], [0, src_h]])
    warp = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    size = (width, height)
    face = cv2.warpPerspective(np.ascontiguousarray(card.image), warp, size, flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(card.alpha.astype(np.float32) / 255.0, warp, size)[..., None]
    out = (frame * (1.0 - alpha) + face * alpha).astype(np.uint8)
    if rng.random() < 0.5:
        at = corners[3] * 0.7 + corners[0] * 0.3
        axes = (round(card_w * 0.09), round(card_w * 0.14))
        centre_px = (round(at[0]), round(at[1]))
        cv2.ellipse(out, centre_px, axes, 20, 0, 360, _THUMB_RGB, -1, cv2.LINE_AA)
    return out, corners
