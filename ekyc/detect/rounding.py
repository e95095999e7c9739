"""Square corners: a cut-out paper copy's, which an ID-1 card never has.

An ID-1 card (ISO/IEC 7810) has its corners rounded to a 3.18 mm radius, so inside the
corner of its quad (where the lines of two sides meet) a small triangle is not card: the
arc passes 0.93 mm in from both sides along the diagonal, and what lies within 0.65 mm of
both sides is the table. A photocopy cut out with scissors (or a sheet) fills that corner
with paper: its corner is square. So a tilted shot whose quad shows a square corner is no
card, whatever band its sides show (a cut paper edge can pass for the side face at 1-2 px).

Only corners between two sides facing away from the camera are read: the side face runs
along the others and fills their corner. A corner is read only where both its sides are
edges near it (the face just inside each side differs from the background just outside by
``_MIN_CONTRAST``): a quad on a printed frame or a finger over the corner says nothing.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.edges import remap_box

__all__ = ["corner_shapes"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_RADIUS_MM = 3.18  # ISO/IEC 7810 ID-1 corner radius
_STEP_MM = 0.1
# The corner's triangle: points 0.1-0.6 mm in from both sides, at least this far outside
# the arc (blur, JPEG and a quad a pixel off do not carry the card's colour there).
_CLEAR_OF_ARC_MM = 0.35
# The face just inside each side and the background just outside it, 4.5-7 mm from the
# corner (past the arc), 0.45-0.75 mm from the side.
_ALONG_MM = (4.5, 7.0)
_ACROSS_MM = (0.45, 0.6, 0.75)
# Both sides' face-to-background colour difference (RGB distance) for a corner to be read.
# Development scenes (tilt shots 22000-22149 and 24000-24099, copies 40000+/44000+,
# screens 41000+/45000+; detected quads): 15 and 25 read a genuine corner square (a quad
# off the card), 40 none, and caught the same copies.
_MIN_CONTRAST = 40.0
# A corner is square when its triangle is this many times closer in colour to the face
# than to the background (beside it or diagonally beyond the corner), round when the other
# way round; otherwise unread. Development scenes as above: 0.25-0.5 read no genuine corner
# square at a contrast of 40; 0.35 caught 4 of the 8 copies and screens passing the tilt
# check (0.25: 3).
_RATIO = 0.35


def _zones() -> tuple[F64, ...]:
    """Sample points (mm) at the corner (0, 0) of a card lying along +x and +y."""
    grid = np.arange(_STEP_MM, 0.6 + 1e-9, _STEP_MM)
    xx, yy = (a.ravel() for a in np.meshgrid(grid, grid))
    clear = np.hypot(_RADIUS_MM - xx, _RADIUS_MM - yy) > _RADIUS_MM + _CLEAR_OF_ARC_MM
    corner = np.stack([xx[clear], yy[clear]], axis=1)
    along = np.arange(_ALONG_MM[0], _ALONG_MM[1] + 1e-9, 0.25)
    aa, cc = (a.ravel() for a in np.meshgrid(along, np.array(_ACROSS_MM)))
    face_x = np.stack([aa, cc], axis=1)  # inside the side along x
    beyond = np.arange(-0.9, -0.3 + 1e-9, 0.15)
    bx, by = (a.ravel() for a in np.meshgrid(beyond, beyond))
    return (
        corner,
        face_x,
        face_x * [1.0, -1.0],  # outside the side along x
        face_x[:, ::-1].copy(),  # inside the side along y
        face_x[:, ::-1] * [-1.0, 1.0],  # outside the side along y
        np.stack([bx, by], axis=1),  # diagonally beyond the corner
    )


_ZONES = _zones()


def corner_shapes(image: F32 | npt.NDArray[np.uint8], corners: F64, size_mm: tuple[float, float],
                  read: list[bool]) -> tuple[int, int]:  # fmt: skip
    """How many of the corners to ``read`` look square, and how many round.

    Args:
        image: RGB image (uint8 or float32).
        corners: The quad, ``(4, 2)``; corner ``k`` joins side ``k - 1`` and side ``k``.
        size_mm: Length (mm) of side 0 (corner 0 to 1) and of side 1 (corner 1 to 2).
        read: Per corner, whether to read it.

    Returns:
        ``(square, round)``: corners read as a square sheet's and as a card's.
    """
    width, height = size_mm
    rect = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    hom = cv2.getPerspectiveTransform(rect, np.asarray(corners, np.float32))
    rows, cols = image.shape[:2]
    square = rounded = 0
    for k in range(4):
        if not read[k]:
            continue
        # Corner k at the origin, its two sides along +x' and +y' (mirrored as needed).
        origin = rect[k].astype(np.float64)
        sign = np.where(origin > 0, -1.0, 1.0)
        colours = []
        for zone in _ZONES:
            mm = (origin + zone * sign).astype(np.float32)
            px = cv2.perspectiveTransform(mm[None], hom)[0]
            if np.any(px < 0) or np.any(px[:, 0] > cols - 1) or np.any(px[:, 1] > rows - 1):
                break
            map_x, map_y = (np.ascontiguousarray(px[None, :, i]) for i in (0, 1))
            colours.append(np.median(_sampled(image, map_x, map_y), axis=0))
        else:
            tri, face_a, out_a, face_b, out_b, diagonal = colours
            contrast = min(np.linalg.norm(face_a - out_a), np.linalg.norm(face_b - out_b))
            if contrast < _MIN_CONTRAST:
                continue
            to_face = float(np.linalg.norm(tri - (face_a + face_b) / 2))
            to_background = float(
                min(np.linalg.norm(tri - (out_a + out_b) / 2), np.linalg.norm(tri - diagonal))
            )
            square += to_face < _RATIO * to_background
            rounded += to_background < _RATIO * to_face
    return square, rounded


def _sampled(image: F32 | npt.NDArray[np.uint8], map_x: F32, map_y: F32) -> F32:
    """``image`` as float32 sampled bilinearly at the maps (inside it: ``corner_shapes``).

    A uint8 image is sampled through a float copy of the points' box only
    (``edges.remap_box``): the same values as a float copy of the whole image, for a few
    pixels' conversion instead of the shot's.
    """
    if image.dtype == np.uint8:
        return np.asarray(remap_box(np.asarray(image, dtype=np.uint8), map_x, map_y)[0])
    sampled = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)[0]
    return np.asarray(sampled, dtype=np.float32)
