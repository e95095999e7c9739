"""A face photo that moves: FaceMesh's 3-D points of an aligned face drive a mesh warp.

``face_rig`` reads the 468 FaceMesh points (x, y and depth) of a 112x112 aligned face once;
``render`` moves them and warps the photo triangle by triangle (piecewise affine):

- turns and looking up rotate the points in 3-D about the ears' depth (where the neck turns
  the head), nearer triangles drawn over farther ones, those turned away dropped;
- a blink lowers the upper lids onto the lower ones (the lid skin stretches down; the lash
  line is drawn in the colour of the face's own upper-lid line);
- an open mouth drops the lower lip (whole: it rides on the jaw) and chin; what showed
  between the lips (teeth, the lip line) stays under the upper lip, below it the mouth's
  inside in the face's lip-line colour.
  The dropped chin goes below the aligned crop, as it does in front of a camera: the render
  grows by the rows it needs (``jaw_rows``), and ``compose_selfie`` shows them over the neck.
  A mouth already open in the photo opens further, up to a jaw's range (``MAX_GAP``).

Outside the face outline the photo (hair, ears, background) follows the outline's motion,
fading to none at the crop's border. What it cannot do: show what the photo never saw (the
far cheek and ear of a turned head are stretched from the near-profile pixels; a face
already turned in its photo stretches its foreshortened side), eyeballs that move, teeth
that were not visible, a chin its crop cut off (a wide grin whose crop ends at the lower
lip: the dropped lip goes into the crop's last row repeated, and FaceMesh may read it less
open than it is). Angles are physical: a 28-degree turn reads ~20-35 degrees on
FaceMesh, not the ~1/3 of the old flat cylinder.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

# MediaPipe FaceMesh topology (canonical face model indices).
OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
        377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
        109)  # fmt: skip
UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))
LOWER_LIDS = ((7, 163, 144, 145, 153, 154, 155), (249, 390, 373, 374, 380, 381, 382))
CREASES = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))
EYE_CORNERS = ((33, 133), (263, 362))
UNDER_EYES = ((117, 118, 119, 120, 121), (346, 347, 348, 349, 350))
INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_CORNERS = (61, 291)
EARS = (234, 454)
NOSE_TIP = 1
DROP = 0.42
MAX_GAP = 1.0
"""The lips' gap at the widest a jaw opens, in mouth widths at rest (a maximal opening is
40-55 mm between the incisors, about the width of a mouth): a photo whose mouth is already
open drops its jaw by at most what is left of that."""


@dataclass(frozen=True, slots=True)
class FaceRig:
    """A face's FaceMesh points (468, (x, y, depth) in its own pixels) and triangles."""

    points: F64
    triangles: npt.NDArray[np.int64]
    eye_inside: npt.NDArray[np.bool_]
    """Triangles with every corner on an eye's outline (the eye's opening)."""

    def five_points(self, points: F64) -> F64:
        """ArcFace-order landmarks (eyes, nose tip, mouth corners) of moved ``points``."""
        eyes = [points[list(c), :2].mean(axis=0) for c in EYE_CORNERS]
        rest = points[[NOSE_TIP, *MOUTH_CORNERS], :2]
        return np.vstack([*eyes, rest])


_LOCK = threading.Lock()
_TRACKER: Any = None
_RIGS: OrderedDict[bytes, FaceRig | None] = OrderedDict()


def _tracker() -> Any:
    global _TRACKER
    if _TRACKER is None:
        from ekyc.liveness.landmarks import FaceMeshTracker
        from ekyc.registry import Registry

        _TRACKER = FaceMeshTracker(Registry.from_manifest(threads=1))
    return _TRACKER


def face_rig(face: U8) -> FaceRig | None:
    """The rig of an aligned face (cached by pixels), or None when FaceMesh finds no face.

    FaceMesh reads the face padded by half its size and upscaled 2x (at 112 px it misses
    faces that fill the crop).
    """
    key = hashlib.sha256(np.ascontiguousarray(face).tobytes()).digest() + bytes(face.shape[:2])
    with _LOCK:
        if key in _RIGS:
            _RIGS.move_to_end(key)
            return _RIGS[key]
        h, w = face.shape[:2]
        pad = cv2.copyMakeBorder(face, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)
        big = cv2.resize(pad, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        found = _tracker().landmarks(np.ascontiguousarray(big))
        rig = (
            None
            if found is None
            else _build(found[:468].astype(np.float64) / 2 - [w / 2, h / 2, 0], w, h)
        )
        _RIGS[key] = rig
        if len(_RIGS) > 64:
            _RIGS.popitem(last=False)
        return rig


def _build(points: F64, w: int, h: int) -> FaceRig:
    """Delaunay triangles of the points, those inside the face outline."""
    sub = cv2.Subdiv2D((-w, -h, 3 * w, 3 * h))
    for x, y in points[:, :2]:
        sub.insert((float(x), float(y)))
    corners = sub.getTriangleList().reshape(-1, 3, 2).astype(np.float64)
    dist = np.linalg.norm(corners[:, :, None, :] - points[None, None, :, :2], axis=-1)
    tris = dist.argmin(axis=-1)[dist.min(axis=-1).max(axis=1) < 1e-2]
    oval = points[list(OVAL), :2].astype(np.float32)
    centres = points[tris, :2].mean(axis=1)
    inside = [cv2.pointPolygonTest(oval, (float(x), float(y)), False) >= 0 for x, y in centres]
    tris = tris[np.array(inside, bool)]
    eye = {int(i) for group in (*UPPER_LIDS, *LOWER_LIDS, *EYE_CORNERS) for i in group}
    eye_inside = np.array([all(int(v) in eye for v in t) for t in tris], bool)
    return FaceRig(points, tris.astype(np.int64), eye_inside)


def rotate(rig: FaceRig, yaw_deg: float, pitch_deg: float) -> F64:
    """The points turned by ``yaw_deg`` (> 0: towards the image's right) and pitched up by
    ``pitch_deg``, about a vertical/horizontal axis at the ears' depth, eye-nose height."""
    p = rig.points
    cx = p[list(OVAL), 0].mean()
    cy = p[[33, 263, NOSE_TIP], 1].mean()
    cz = p[list(EARS), 2].mean()
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    x0, y0, z0 = p[:, 0] - cx, p[:, 1] - cy, p[:, 2] - cz  # depth: smaller is nearer
    x1 = x0 * math.cos(yaw) - z0 * math.sin(yaw)
    z1 = x0 * math.sin(yaw) + z0 * math.cos(yaw)
    y1 = y0 * math.cos(pitch) + z1 * math.sin(pitch)
    z2 = -y0 * math.sin(pitch) + z1 * math.cos(pitch)
    return np.column_stack([x1 + cx, y1 + cy, z2 + cz])


def blink(rig: FaceRig, amount: float) -> F64:
    """Upper lids lowered onto the lower ones (``amount`` 1: shut), the crease following."""
    out = rig.points.copy()
    for up, low, crease in zip(UPPER_LIDS, LOWER_LIDS, CREASES, strict=True):
        gap = rig.points[list(low), 1] - rig.points[list(up), 1]
        out[list(up), 1] += 0.9 * amount * gap
        out[list(low), 1] -= 0.1 * amount * gap
        out[list(crease), 1] += 0.5 * amount * gap
    return out


def jaw_drop(rig: FaceRig, amount: float) -> float:
    """Pixels the lower lip and chin drop at ``amount``: 0.42 mouth widths at 1, no more
    than what the photo's own lip gap leaves of ``MAX_GAP``."""
    p = rig.points
    width = float(np.linalg.norm(p[MOUTH_CORNERS[1], :2] - p[MOUTH_CORNERS[0], :2]))
    gap = float(p[INNER_LOWER[5], 1] - p[INNER_UPPER[5], 1])  # the inner lips' midpoints
    return max(0.0, min(DROP * width * amount, MAX_GAP * width - gap))


def jaw_rows(rig: FaceRig, moved: F64, height: int) -> int:
    """Rows below a ``height``-row crop that the moved chin needs (0 when it stays inside)."""
    below = moved[list(OVAL), 1] - np.maximum(rig.points[list(OVAL), 1], height)
    return max(0, math.ceil(float(below.max())))


def open_mouth(rig: FaceRig, amount: float) -> F64:
    """A dropped jaw: lower lip and chin down by ``jaw_drop``, the lip gap an ellipse, the
    corners drawn in a little; nothing above the upper lip moves."""
    p = rig.points
    out = p.copy()
    left, right = p[MOUTH_CORNERS[0], :2], p[MOUTH_CORNERS[1], :2]
    width = float(np.linalg.norm(right - left))
    drop = jaw_drop(rig, amount)
    mid_x = (left[0] + right[0]) / 2
    upper = p[list(INNER_UPPER), :2]
    order = np.argsort(upper[:, 0])
    below = p[:, 1] - np.interp(p[:, 0], upper[order, 0], upper[order, 1])
    dx = (p[:, 0] - mid_x) / (0.5 * width)
    weight = np.clip(below / (0.25 * width), 0, 1) * np.exp(-((dx / 1.3) ** 2))
    lip = np.sqrt(np.clip(1 - dx**2, 0, 1))
    # the lower lip rides on the jaw whole: everything under the inner lower lip drops at
    # least as far as the lip's edge above it (the ramp alone dropped a thick lower lip's
    # outer edge less than its inner one, folding the lip into the opened mouth)
    lower = p[list(INNER_LOWER), :2]
    order = np.argsort(lower[:, 0])
    under = p[:, 1] >= np.interp(p[:, 0], lower[order, 0], lower[order, 1])
    weight = np.where(under & (np.abs(dx) < 1), np.maximum(weight, lip), weight)
    weight[list(INNER_LOWER[1:-1])] = lip[list(INNER_LOWER[1:-1])]
    weight[list(INNER_UPPER)] = 0.0
    out[:, 1] += drop * weight
    for i in (*MOUTH_CORNERS, INNER_UPPER[0], INNER_UPPER[-1]):
        out[i, 0] -= 0.06 * width * amount * np.sign(dx[i])
    return out


def render(
    face: U8,
    rig: FaceRig,
    moved: F64,
    *,
    turned: bool = False,
    blink_amount: float = 0.0,
    mouth: bool = False,
    below: int = 0,
) -> U8:
    """``face`` warped so that ``rig.points`` land on ``moved`` (``face``'s size, plus
    ``below`` rows under it).

    ``turned``: drop triangles that face away; ``blink_amount``: draw the eye openings
    under the lids and the lash line; ``mouth``: paint the opened mouth; ``below``: rows
    the render grows by for a chin moved below the crop (``jaw_rows``), drawn from the
    moved face (beyond it the crop's last row, as at its other borders).
    """
    if below > 0:
        face = cv2.copyMakeBorder(face, 0, below, 0, 0, cv2.BORDER_REPLICATE)
    h, w = face.shape[:2]
    tris = rig.triangles
    s, d = rig.points[tris][:, :, :2], moved[tris][:, :, :2]
    area_s = np.cross(s[:, 1] - s[:, 0], s[:, 2] - s[:, 0])
    area_d = np.cross(d[:, 1] - d[:, 0], d[:, 2] - d[:, 0])
    keep = np.abs(area_d) > 1e-9
    if turned:
        keep &= np.sign(area_d) == np.sign(area_s)
    depth = moved[tris][:, :, 2].mean(axis=1)
    if blink_amount > 0:
        depth = np.where(rig.eye_inside, np.inf, depth)
    ids = np.zeros((h, w), np.int32)
    for i in np.argsort(-depth, kind="stable"):  # far first: near triangles paint over them
        if keep[i]:
            poly = np.round(d[i] * 16).astype(np.int32)
            cv2.fillConvexPoly(ids, poly, int(i) + 1, cv2.LINE_8, 4)
    dm = np.concatenate([d, np.ones((len(tris), 3, 1))], axis=2)
    ok = keep & (np.abs(np.linalg.det(dm)) > 1e-9)
    affine = np.zeros((len(tris), 3, 2))  # pixel (x, y, 1) in moved -> position in face
    affine[ok] = np.linalg.solve(dm[ok], s[ok])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    tri = ids - 1
    a = affine[np.maximum(tri, 0)]
    bx, by = _surroundings(rig, moved, w, h)
    map_x = np.where(tri >= 0, a[..., 0, 0] * xx + a[..., 1, 0] * yy + a[..., 2, 0] - 0.5, bx)
    map_y = np.where(tri >= 0, a[..., 0, 1] * xx + a[..., 1, 1] * yy + a[..., 2, 1] - 0.5, by)
    out: U8 = cv2.remap(face, map_x.astype(np.float32), map_y.astype(np.float32),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    if mouth:
        out = _paint_mouth(out, face, rig.points, moved)
    if blink_amount > 0.5:
        out = _paint_lashes(out, face, rig.points, moved, min(1.0, 2 * blink_amount - 1))
    return out


def _surroundings(rig: FaceRig, moved: F64, w: int, h: int) -> tuple[F64, F64]:
    """Backward map outside the face: the outline's motion (inverse-distance weighted, on a
    4x coarser grid), fading with distance from the face and to none at the crop's border."""
    src, dst = rig.points[list(OVAL), :2], moved[list(OVAL), :2]
    gy, gx = np.mgrid[0 : h + 4 : 4, 0 : w + 4 : 4].astype(np.float64)
    grid = np.stack([gx, gy], -1)
    weights = 1.0 / (((grid[:, :, None, :] - dst[None, None]) ** 2).sum(-1) + 1.0) ** 1.5
    coarse = (weights[..., None] * (dst - src)[None, None]).sum(2) / weights.sum(2)[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    field = np.stack(
        [cv2.remap(coarse[..., k].astype(np.float32), (xx / 4).astype(np.float32),
                   (yy / 4).astype(np.float32), cv2.INTER_LINEAR) for k in (0, 1)], -1
    )  # fmt: skip
    centre = src.mean(axis=0)
    r = np.hypot(xx - centre[0], yy - centre[1]) / np.linalg.norm(src - centre, axis=1).mean()
    edge = np.minimum(np.minimum(xx, w - xx), np.minimum(yy, h - yy))
    fade = np.clip(1.6 - 0.6 * r, 0.35, 1.0) * np.clip(edge / (0.2 * w), 0, 1)
    return xx - field[..., 0] * fade - 0.5, yy - field[..., 1] * fade - 0.5


def _mask(poly: F64, h: int, w: int) -> F64:
    """Anti-aliased coverage of ``poly`` (4x supersampled)."""
    big = np.zeros((h * 4, w * 4), np.uint8)
    cv2.fillPoly(big, [np.round(poly * 64).astype(np.int32)], 255, cv2.LINE_AA, 4)
    small = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float64) / 255.0


def _colours(face: U8, points: F64) -> F64:
    """Face pixels under ``points`` (nearest pixel)."""
    h, w = face.shape[:2]
    at = np.clip(np.round(points).astype(int), 0, [w - 1, h - 1])
    return face[at[:, 1], at[:, 0]].astype(np.float64)


def _darkest(face: U8, points: F64, n: int) -> F64:
    """Mean colour of the ``n`` darkest face pixels under ``points``."""
    cols = _colours(face, points)
    out: F64 = cols[np.argsort(cols.sum(axis=1))[:n]].mean(axis=0)
    return out


def _paint_mouth(out: U8, face: U8, src: F64, dst: F64) -> U8:
    """Inside the opened lips: what showed between them before (teeth, the lip line) splits
    at its middle, the upper half staying under the upper lip and the lower half going
    down with the jaw; between them the mouth's dark inside, in the face's own lip-line
    colour darkened."""
    h, w = face.shape[:2]
    dark = _darkest(face, src[list(INNER_UPPER[1:-1]), :2] + [0, 0.5], 5) * 0.35

    def inner(p: F64) -> F64:
        return np.vstack([p[list(INNER_UPPER), :2], p[list(INNER_LOWER[::-1]), :2]])

    mask = cv2.GaussianBlur(_mask(inner(dst), h, w), (0, 0), 0.6)[..., None]
    before = _mask(inner(src), h, w)
    xs = np.arange(w) + 0.5

    def along(points: F64, values: F64) -> F64:  # a lip line's values at every column
        order = np.argsort(points[:, 0])
        return np.interp(xs, points[order, 0], values[order])

    up, low = src[list(INNER_UPPER), :2], src[list(INNER_LOWER), :2]
    mid = (along(up, up[:, 1]) + along(low, low[:, 1])) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    upper_half = before * (yy < mid[None, :])
    drop = along(low, dst[list(INNER_LOWER), 1] - low[:, 1])
    back_y = (yy - drop[None, :]).astype(np.float32)
    lower_half = cv2.remap(before * (yy >= mid[None, :]), xx - 0.5, back_y - 0.5, cv2.INTER_LINEAR)
    lower_img = cv2.remap(face, xx - 0.5, back_y - 0.5, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    a, b = upper_half[..., None], lower_half[..., None]
    inside = a * face + b * lower_img + np.clip(1 - a - b, 0, 1) * dark[None, None]
    return np.clip(out * (1 - mask) + inside * mask, 0, 255).astype(np.uint8)


def _paint_lashes(out: U8, face: U8, src: F64, dst: F64, strength: float) -> U8:
    """A shut eye: the lowered lid in the tone of the skin just under the eye (the stretched
    lid would keep the eye's dark socket), the lash line in the upper lid's own colour."""
    h, w = face.shape[:2]
    res = out.astype(np.float64)
    for up, crease, cheek in zip(UPPER_LIDS, CREASES, UNDER_EYES, strict=True):
        tone = np.median(_colours(face, src[list(cheek), :2]), axis=0) * 0.93
        lid = np.vstack([dst[list(crease), :2], dst[list(up[::-1]), :2]])
        m = cv2.GaussianBlur(_mask(lid, h, w), (0, 0), 0.8)[..., None] * 0.8 * strength
        res = res * (1 - m) + tone * m
        dark = _darkest(face, src[list(up), :2], 3)
        big = np.zeros((h * 4, w * 4), np.uint8)
        line = np.round(dst[list(up), :2] * 64).astype(np.int32)
        cv2.polylines(big, [line], False, 255, 4, cv2.LINE_AA, 4)
        m = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)[..., None] / 255.0 * strength
        res = res * (1 - m) + dark * m
    return np.clip(res, 0, 255).astype(np.uint8)
