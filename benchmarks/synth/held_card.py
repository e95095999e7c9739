"""A card held up in a selfie, below the face (the My Number back screen's hard case).

Applicants hold their card beside the chin when they misunderstand the selfie step, or to
show it; a My Number card's back held that way must still be refused before it is stored.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.cards import CardFace
from ekyc.detect.rectify import ID1_SIZE_MM

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


# The back's 2-D code in card millimetres: centre x, centre y, the modules' side
# (``layout_mynumber`` pastes the block at 60-81 x 16-37 mm; ``ekyc.detect.back._CODE_MM``).
_CODE_MM = (70.5, 26.5, 16.46)
_CARD_MM = np.float32([[0, 0], [ID1_SIZE_MM[0], 0], ID1_SIZE_MM, [0, ID1_SIZE_MM[1]]])
_GLARE = 250.0


def hide_code(image: U8, corners: F64, how: str, cover: float) -> U8:
    """``image`` with the 2-D code of the back held at ``corners`` (``hold_card``'s) hidden.

    ``how="thumb"``: a skin-coloured ellipse over ``cover`` of the code's width from its
    right side (a thumb holding the card there; 1.0 hides it all), then the 0.8 px blur of
    an edge in focus. ``"glare"``: a white disc ``cover`` times the code's side across,
    its edge soft. A skip of the windows by what the print shows must survive both (session
    17's code-square skip lost such backs; see ``ekyc.detect.back``).
    """
    if how not in ("thumb", "glare"):
        raise ValueError(f"how must be 'thumb' or 'glare', got {how!r}")
    warp = cv2.getPerspectiveTransform(_CARD_MM, np.asarray(corners, np.float32))

    def at(x_mm: float, y_mm: float) -> F64:
        point = warp @ np.array([x_mm, y_mm, 1.0])
        return np.asarray(point[:2] / point[2], np.float64)

    cx_mm, cy_mm, side_mm = _CODE_MM
    across = at(cx_mm + side_mm / 2, cy_mm) - at(cx_mm - side_mm / 2, cy_mm)
    side = float(np.hypot(*across))
    if how == "thumb":
        centre = at(cx_mm + side_mm * (0.5 - cover / 2), cy_mm)
        axes = (round(side * cover * 0.6 + 2), round(side * 0.9))
        angle = float(np.degrees(np.arctan2(across[1], across[0])))
        out = image.copy()
        at_px = (round(centre[0]), round(centre[1]))
        cv2.ellipse(out, at_px, axes, angle, 0, 360, _THUMB_RGB, -1, cv2.LINE_AA)
        return np.asarray(cv2.GaussianBlur(out, (0, 0), 0.8), np.uint8)
    centre = at(cx_mm, cy_mm)
    mask = np.zeros(image.shape[:2], np.float32)
    cv2.circle(mask, (round(centre[0]), round(centre[1])), round(side * cover / 2), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), side * 0.08 + 1.0)[..., None]
    return np.asarray(np.clip(image * (1.0 - mask) + _GLARE * mask, 0, 255), np.uint8)
