"""Rank candidate quads by whether each side looks like the boundary of a card.

The card's outline separates two regions: card inside, background outside. A frame or a
rule printed inside the card is a thin line with card colour on both sides, and a line in
the background (a table edge, wood grain) rarely lines up with three other such lines. So
each side is sampled at a few points and every point asks two questions on the working
image:

- is there an edge there whose gradient is normal to the side (within a pixel)?
- does the colour a few pixels inside differ from the colour a few pixels outside (a
  *step*, which a thin printed line does not make)?

A side's evidence is the share of points answering yes to both, weighted by the step's
size; the quad's score is the geometric mean of its four sides, so one empty side (a quad
closed by a stray background line) sinks it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig

__all__ = [
    "claimable_area",
    "containment",
    "nested_preference",
    "point_evidence",
    "side_evidence",
    "side_turns_deg",
    "visible_area",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_SAMPLES = 32  # points per side
_ALIGNED = 0.8  # |cos| between gradient and side normal for an edge to count


def side_evidence(quads: F64, colour: F32, gx: F32, gy: F32, config: DetectConfig) -> F64:
    """Per side of each quad, the evidence that it is a card/background boundary.

    Args:
        quads: ``(n, 4, 2)`` corners on the working image, either orientation.
        colour: The working image, float32 ``(H, W, 3)``, lightly blurred.
        gx: Horizontal gradient of the strongest channel (``quad.colour_gradient``).
        gy: Vertical gradient.
        config: ``rank_step_px`` (how far in and out the colours are taken) and
            ``rank_contrast`` (the step that counts fully).

    Returns:
        ``(n, 4)`` values in [0, 1]. A side mostly outside the image scores
        ``config.rank_unseen_side``: a card cut by the border is neither helped nor sunk
        by the side that cannot be seen.
    """
    t = np.linspace(0.12, 0.88, _SAMPLES)
    start, end = quads, np.roll(quads, -1, axis=1)
    d = end - start
    length = np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1) / length  # (n, 4, 2)
    # Make the normals point outwards whatever the quad's orientation.
    centre = quads.mean(axis=1, keepdims=True)
    mid = (start + end) / 2
    flip = np.sum((mid - centre) * normal, axis=-1, keepdims=True) < 0
    normal = np.where(flip, -normal, normal)
    pts = start[:, :, None, :] + t[None, None, :, None] * d[:, :, None, :]
    hits, valid = point_evidence(pts, normal[:, :, None, :], colour, gx, gy, config)
    hits = np.where(valid, hits, 0.0)
    seen = valid.sum(axis=2)
    per_side = hits.sum(axis=2) / np.maximum(seen, 1)
    unseen = config.rank_unseen_side
    return np.asarray(np.where(seen >= _SAMPLES // 4, per_side, unseen), dtype=np.float64)


def visible_area(quads: F64, size: tuple[int, int]) -> F64:
    """Area of each ``(n, 4, 2)`` quad in the image, discounted by the share outside it.

    The area preference (of nested quads, the outer is the card) must not reward a quad
    for reaching out of the frame, where its sides cannot be checked: the in-frame area
    (approximated by clamping the corners into the image, a few vectorised operations)
    is multiplied by the in-frame share of the whole.
    """
    width, height = size

    def area(x: F64, y: F64) -> F64:
        twice = np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1)
        return np.asarray(0.5 * np.abs(twice), dtype=np.float64)

    whole = area(quads[..., 0], quads[..., 1])
    inside = area(np.clip(quads[..., 0], 0, width), np.clip(quads[..., 1], 0, height))
    return np.asarray(inside * inside / np.maximum(whole, 1e-9), dtype=np.float64)


def nested_preference(quads: F64, score: F64, area: F64, rival: float) -> F64:
    """Per quad, its area over the largest area of a comparable quad that contains it.

    Of two nested quads that both look like boundaries (a box printed on a page and the
    page), the outer one is the document; a quad that no other contains keeps 1, however
    small, so large quads made of background lines (a table edge, a monitor, a cable) that
    do not enclose it gain nothing over it. A container counts only when its score is at
    least ``rival`` times the quad's: a weak quad around a strong one (a desk's edges around
    the page) is no reason to doubt the strong one.

    Args:
        quads: ``(n, 4, 2)`` clockwise corners.
        score: ``(n,)`` boundary score of each quad.
        area: ``(n,)`` its (in-frame) area.
        rival: Score ratio from which a container counts.

    Returns:
        ``(n,)`` values in (0, 1].
    """
    inside = containment(quads, quads)
    np.fill_diagonal(inside, False)
    counts = inside & (area[None, :] > area[:, None]) & (score[None, :] >= rival * score[:, None])
    outer = np.where(counts, area[None, :], area[:, None]).max(axis=1)
    return np.asarray(area / np.maximum(outer, 1e-9), dtype=np.float64)


def containment(inner: F64, outer: F64, slack: float = 2.0) -> npt.NDArray[np.bool_]:
    """``[i, j]``: every corner of ``inner[i]`` lies inside clockwise quad ``outer[j]``.

    ``slack`` pixels outside a side still count: a box that shares the page's sides sits
    on them, not inside them.
    """
    start, d = outer, np.roll(outer, -1, axis=1) - outer
    length = np.maximum(np.linalg.norm(d, axis=-1), 1e-9)
    rel = inner[:, None, :, None, :] - start[None, :, None, :, :]  # (i, j, corner, side, 2)
    cross = d[None, :, None, :, 0] * rel[..., 1] - d[None, :, None, :, 1] * rel[..., 0]
    return np.asarray(np.all(cross / length[None, :, None, :] >= -slack, axis=(2, 3)))


def side_turns_deg(inner: F64, outer: F64) -> F64:
    """``[i, j, k]``: how far (degrees) side ``k`` of ``inner[i]`` turns from ``outer[j]``'s axes.

    Quad ``j`` is mapped by the homography that takes it to an upright rectangle of its
    mean side lengths, which undoes its perspective; quad ``i``'s sides, mapped the same
    way, are compared with the nearest axis (the rectangle's aspect is the quad's, not the
    true one, so a turn reads within a few degrees; a side lying along the other quad's
    reads ~0 however it is seen). A panel printed on the card, or the card's face inside
    its face plus side face, lies in the card's plane with its sides along the card's: a
    few degrees, the rough corners' noise.
    """
    side = np.linalg.norm(np.roll(outer, -1, axis=1) - outer, axis=2)
    w, h = (side[:, 0] + side[:, 2]) / 2, (side[:, 1] + side[:, 3]) / 2
    homs = np.empty((len(outer), 3, 3))
    for j, quad in enumerate(outer):
        dst = np.array([[0, 0], [w[j], 0], [w[j], h[j]], [0, h[j]]], np.float32)
        homs[j] = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    pts = np.concatenate([inner, np.ones((*inner.shape[:2], 1))], axis=2)  # (i, 4, 3)
    mapped = np.einsum("jab,ikb->ijka", homs, pts)  # (i, j, corner, 3)
    z = mapped[..., 2:]
    xy = mapped[..., :2] / np.where(np.abs(z) < 1e-12, 1e-12, z)
    d = np.abs(np.roll(xy, -1, axis=2) - xy)
    turn = np.arctan2(np.minimum(d[..., 0], d[..., 1]), np.maximum(d[..., 0], d[..., 1]))
    return np.asarray(np.degrees(turn), dtype=np.float64)


def claimable_area(
    quads: F64, score: F64, area: F64, evidence: F64, firm: float, aligned_deg: float,
    larger: float,
) -> F64:  # fmt: skip
    """Per quad, the area it may claim in the area preference (``quad.ranked_candidates``).

    The preference is there because a panel printed on the card fits its lines as well as
    the card's outline does and is smaller: of the two, the outer is the card. That holds
    when the smaller quad lies in the larger one's plane with its sides along the larger
    one's axes (a printed panel; the card's face inside face plus side face). A *firm*
    outline (every side's evidence >= ``firm``: a closed boundary with a clear colour step
    all round, as a card on a desk shows) that a weaker quad ``larger`` times its area or
    more covers turned (two or more of its sides turned by more than ``aligned_deg``:
    a rough panel quad often takes one wrong line, while a quad of desk lines that shares
    two of the card's sides has the other two turned), or cuts across, is an object lying
    on a surface, and the larger quad is made of the surface's lines (desk edges, cables, a
    mat): it claims no more area than the outline. A quad about the outline's size (its
    shadow's or side face's outline, an offset line) is no surface and keeps its area.
    Without the cap, a real phone shot's card (MIDV-500, every side 1.0) lost to a quad of desk
    lines scoring 0.74 around it.

    Args:
        quads: ``(n, 4, 2)`` clockwise corners.
        score: ``(n,)`` boundary x shape score.
        area: ``(n,)`` in-frame area (``visible_area``).
        evidence: ``(n, 4)`` per-side boundary evidence (``side_evidence``).
        firm: Side evidence every side of a firm outline reaches.
        aligned_deg: Turn (``side_turns_deg``) up to which a side of a quad inside
            another is taken as lying along it.
        larger: Area ratio from which a quad covering a firm outline counts as a surface.

    Returns:
        ``(n,)`` areas, each at most ``area``.
    """
    area = np.asarray(area, dtype=np.float64)
    firm_idx = np.flatnonzero(evidence.min(axis=1) >= firm)
    if len(firm_idx) == 0:
        return area
    # Quads that cover a firm outline's centre and are larger and weaker than it.
    centre = quads[firm_idx].mean(axis=1)
    covers = containment(centre[:, None, :], quads, slack=0.0)  # (k, n)
    covers &= (score[firm_idx][:, None] > score[None, :]) & (
        larger * area[firm_idx][:, None] <= area[None, :]
    )
    cols = np.flatnonzero(covers.any(axis=0))
    if len(cols) == 0:
        return area
    inner, outer = quads[firm_idx], quads[cols]
    turned = (side_turns_deg(inner, outer) > aligned_deg).sum(axis=2)
    along = containment(inner, outer) & (turned <= 1)
    caps = np.where(covers[:, cols] & ~along, area[firm_idx][:, None], np.inf).min(axis=0)
    capped = area.copy()
    capped[cols] = np.minimum(area[cols], caps)
    return capped


def point_evidence(
    pts: F64, normal: F64, colour: F32, gx: F32, gy: F32, config: DetectConfig
) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Boundary evidence in [0, 1] at points on a line of unit ``normal``, and in-frame mask.

    A point counts when an edge within a pixel of it has its gradient along the normal,
    weighted by the colour step across it; the normal's sign does not matter.

    Args:
        pts: ``(..., 2)`` points on the working image.
        normal: Unit normals, broadcastable to ``pts``.
        colour: The working image, float32 ``(H, W, 3)``.
        gx: Horizontal gradient of the strongest channel.
        gy: Vertical gradient.
        config: ``rank_min_gradient``, ``rank_step_px`` and ``rank_contrast``.
    """
    height, width = gx.shape
    valid = (pts[..., 0] >= 0) & (pts[..., 0] < width) & (pts[..., 1] >= 0) & (pts[..., 1] < height)
    nx = np.broadcast_to(normal[..., 0], valid.shape)
    ny = np.broadcast_to(normal[..., 1], valid.shape)
    edge = np.zeros(valid.shape, dtype=bool)
    for off in (-1.0, 0.0, 1.0):
        gxs, gys = _sample(gx, pts, nx, ny, off), _sample(gy, pts, nx, ny, off)
        along = np.abs(gxs * nx + gys * ny)
        edge |= (along > config.rank_min_gradient) & (along > _ALIGNED * np.hypot(gxs, gys))
    step = config.rank_step_px
    inner = _sample(colour, pts, nx, ny, -step)
    outer = _sample(colour, pts, nx, ny, step)
    weight = np.minimum(1.0, np.linalg.norm(outer - inner, axis=-1) / config.rank_contrast)
    return np.asarray(np.where(edge, weight, 0.0), dtype=np.float64), valid


def _sample(img: F32, pts: F64, nx: F64, ny: F64, offset: float) -> F32:
    """Nearest-pixel samples of ``img`` at ``pts`` moved ``offset`` along the normals."""
    height, width = img.shape[:2]
    xi = np.clip((pts[..., 0] + offset * nx).astype(np.int64), 0, width - 1)
    yi = np.clip((pts[..., 1] + offset * ny).astype(np.int64), 0, height - 1)
    return np.asarray(img[yi, xi], dtype=np.float32)
