"""Find a card's four corners in an image: candidates on a small copy, lines at full size.

1. On a copy whose longer side is ``DetectConfig.working_side_px``, colour-gradient Canny
   edges give candidate quads two ways: the convex hulls of large closed outlines
   (simplified to their long sides, sides on the image border dropped), and quads built
   from pairs of roughly parallel straight lines (``ekyc.detect.lines``) for outlines
   that never close (a finger over a side, a white card on a white table).
2. Every candidate is ranked on the small copy by the boundary evidence of its four sides
   (``ekyc.detect.rank``: an aligned edge with a colour *step* across it, which printed
   rules and frames inside the card lack), by the aspect that the camera model recovers
   (``ekyc.detect.plane``) and, mildly, by area (the outer of nested quads is the card).
3. Only the best ``refine_top`` are refitted at full resolution as lines through sub-pixel
   edge points (``ekyc.detect.edges``), twice, with a narrowing search; the best
   rank x support wins.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import EdgeFit, fit_edge, intersect, sample_profiles
from ekyc.detect.lines import line_candidates
from ekyc.detect.plane import focal_px, plane_pose, shape_factors
from ekyc.detect.rank import side_evidence
from ekyc.types import AspectPrior, CardQuad, Frame, QuadDetection, RGBImage

__all__ = ["find_quad", "order_corners"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def find_quad(
    image: Frame | RGBImage,
    aspect: AspectPrior = AspectPrior.ID1,
    config: DetectConfig | None = None,
) -> QuadDetection | None:
    """Locate the card (or, with a relaxed prior, document) in an image.

    Args:
        image: A decoded ``Frame`` or an RGB uint8 image.
        aspect: The expected shape; ``AspectPrior.A4`` or ``ANY`` for paper documents.
        config: Parameters; ``DetectConfig()`` when omitted.

    Returns:
        The corners (ordered as ``QuadDetection`` says) with a confidence in [0, 1], or None
        when nothing card-like is in the image.

    Example:
        >>> import numpy as np
        >>> find_quad(np.zeros((360, 640, 3), np.uint8)) is None
        True
    """
    cfg = config or DetectConfig()
    rgb = image.image if isinstance(image, Frame) else image
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    scale = min(1.0, cfg.working_side_px / max(height, width))
    small = rgb if scale >= 1.0 else _resize(rgb, scale)
    ranked = _ranked_candidates(small, aspect, cfg)
    if not ranked:
        return None
    best: tuple[float, F64] | None = None
    for rank_score, quad in ranked[: cfg.refine_top]:
        refined = _refine_in_crop(rgb, quad / scale, cfg)
        if refined is not None and (best is None or refined[0] * rank_score > best[0]):
            best = (refined[0] * rank_score, refined[1])
    if best is None or best[0] < cfg.min_score:
        return None
    corners = order_corners(best[1], (width, height), cfg)
    cut = _cut_by_border(corners, (width, height), cfg.border_margin_px)
    return QuadDetection(CardQuad(corners, float(min(1.0, best[0]))), cut)


def _ranked_candidates(
    small: RGBImage, aspect: AspectPrior, cfg: DetectConfig
) -> list[tuple[float, F64]]:
    """Candidates on the working image, best first, as ``(rank score, corners)``.

    The rank score is the geometric mean of the four sides' boundary evidence
    (``ekyc.detect.rank``) times the aspect plausibility, times a mild preference for
    the larger quad: of two nested quads that both look like boundaries (a coloured panel
    printed on the card and the card itself), the outer one is the card.
    """
    blur = cv2.GaussianBlur(small, (0, 0), cfg.blur_sigma_px).astype(np.float32)
    gx, gy, mag = _colour_gradient(blur)
    quads = _candidates(gx, gy, mag, aspect.ratio, cfg)
    if not quads:
        return []
    stack = np.stack([_clockwise(q) for q in quads])
    evidence = side_evidence(stack, blur, gx, gy, cfg)
    boundary = np.prod(evidence + 0.01, axis=1) ** 0.25
    size = (small.shape[1], small.shape[0])
    f_px = focal_px(size, cfg.prior_focal_35mm)
    shape = shape_factors(stack, size, f_px, aspect.ratio, cfg.aspect_tolerance)
    area = np.array([_area(q) for q in stack])
    score = boundary * shape
    rank = score * (area / area.max()) ** cfg.area_weight
    order = np.argsort(-rank)
    return [(float(score[i]), stack[i]) for i in order if score[i] > 0]


def order_corners(
    corners: F64 | F32, image_size: tuple[int, int], config: DetectConfig | None = None
) -> F32:
    """Clockwise corners, first side long and facing the image top (``QuadDetection``).

    The long side is the long side in space: the camera model undoes the perspective, so
    a card tilted 60 degrees about its short axis still has its long sides first.
    """
    cfg = config or DetectConfig()
    quad = np.asarray(corners, dtype=np.float64)
    x, y = quad[:, 0], quad[:, 1]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        quad = quad[::-1]
    pose = plane_pose(
        quad.astype(np.float32), image_size, focal_px(image_size, cfg.prior_focal_35mm)
    )
    side = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    long_first = pose.aspect >= 1.0 if pose is not None else side[0] + side[2] >= side[1] + side[3]
    if not long_first:
        quad = np.roll(quad, -1, axis=0)
    d = np.roll(quad, -1, axis=0) - quad
    up = d[:, 0] / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)  # -y of the outward normal
    if up[2] > up[0]:
        quad = np.roll(quad, -2, axis=0)
    return np.ascontiguousarray(quad, dtype=np.float32)


def _resize(rgb: RGBImage, scale: float) -> RGBImage:
    # Halving with pyrDown first is ~4x cheaper than one INTER_AREA at a fractional factor.
    while scale <= 0.5:
        rgb = np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
        scale *= 2.0
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _colour_gradient(blur: F32) -> tuple[F32, F32, F32]:
    """Per pixel, the x/y Sobel of the channel with the strongest gradient, and its size."""
    gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    mag2 = gx * gx + gy * gy
    pick = np.argmax(mag2, axis=2)[..., None]
    gx1 = np.take_along_axis(gx, pick, axis=2)[..., 0]
    gy1 = np.take_along_axis(gy, pick, axis=2)[..., 0]
    return gx1, gy1, np.sqrt(np.take_along_axis(mag2, pick, axis=2)[..., 0])


def _candidates(gx: F32, gy: F32, mag: F32, ratio: float | None, cfg: DetectConfig) -> list[F64]:
    """Rough quads (working-image pixels): hulls of closed outlines, then line quads."""
    dx, dy = (np.clip(g * 8.0, -32767, 32767).astype(np.int16) for g in (gx, gy))
    height, width = mag.shape
    min_area = cfg.min_area_fraction * width * height
    found: list[tuple[float, F64]] = []
    from_lines: list[F64] = []
    for k, pct in enumerate(cfg.canny_percentiles):
        high = max(cfg.canny_floor, float(np.percentile(mag, pct))) * 8.0
        edges = np.asarray(cv2.Canny(dx, dy, high * 0.5, high, L2gradient=True), np.uint8)
        if k == 0:
            from_lines = [q for _, q in line_candidates(edges, gx, gy, ratio, cfg)]
        closed = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            hull = cv2.convexHull(contour)
            area = float(cv2.contourArea(hull))
            # A card's outline, or the hole inside it, fills its hull; edge chains that run
            # from the card into the table's texture do not.
            if area < min_area or cv2.contourArea(contour) < cfg.min_solidity * area:
                continue
            quad = _quad_from_hull(hull.reshape(-1, 2).astype(np.float64), (width, height), cfg)
            if quad is not None:
                found.append((area, quad))
    found.sort(key=lambda item: -item[0])
    outlines = _dedupe([q for _, q in found], cfg.max_candidates)
    return _dedupe(outlines + from_lines, cfg.max_candidates + cfg.max_line_quads)


def _dedupe(quads: list[F64], limit: int) -> list[F64]:
    """Drop quads whose corners all lie within 3 px of a kept one (in canonical order)."""
    kept: list[F64] = []
    stack = np.empty((0, 4, 2))
    for quad in quads:
        canon = _clockwise(quad)
        canon = np.roll(canon, -int(np.argmin(canon.sum(axis=1))), axis=0)
        if len(kept) and float(np.abs(stack - canon).max(axis=(1, 2)).min()) <= 3.0:
            continue
        kept.append(canon)
        stack = np.concatenate([stack, canon[None]])
        if len(kept) == limit:
            break
    return kept


def _quad_from_hull(hull: F64, size: tuple[int, int], cfg: DetectConfig) -> F64 | None:
    """The hull's four longest sides off the image border, intersected in order."""
    perimeter = float(cv2.arcLength(hull.astype(np.float32), True))
    poly = cv2.approxPolyDP(hull.astype(np.float32), cfg.approx_epsilon * perimeter, True)
    poly = poly.reshape(-1, 2).astype(np.float64)
    if len(poly) < 4:
        return None
    ends = np.roll(poly, -1, axis=0)
    on_border = np.array([_on_border(a, b, size) for a, b in zip(poly, ends, strict=True)])
    length = np.linalg.norm(ends - poly, axis=1)
    usable = np.flatnonzero(~on_border)
    if len(usable) < 3:
        return None
    if len(usable) == 3:
        usable = np.sort(np.append(usable, np.flatnonzero(on_border)[np.argmax(length[on_border])]))
    keep = np.sort(usable[np.argsort(-length[usable])[:4]])
    sides = [(poly[i], ends[i]) for i in keep]
    corners = []
    for (a0, a1), (b0, b1) in zip(sides, sides[1:] + sides[:1], strict=True):
        point = _line_intersection(a0, a1, b0, b1)
        if point is None:
            return None
        corners.append(point)
    quad = np.array(corners)
    limit = 3.0 * max(size)
    if np.any(np.abs(quad) > limit) or not cv2.isContourConvex(quad.astype(np.float32)):
        return None
    return quad


def _on_border(a: F64, b: F64, size: tuple[int, int], tol: float = 2.5) -> bool:
    width, height = size
    return bool(
        (a[0] < tol and b[0] < tol)
        or (a[1] < tol and b[1] < tol)
        or (a[0] > width - 1 - tol and b[0] > width - 1 - tol)
        or (a[1] > height - 1 - tol and b[1] > height - 1 - tol)
    )


def _line_intersection(a0: F64, a1: F64, b0: F64, b1: F64) -> F64 | None:
    da, db = a1 - a0, b1 - b0
    det = da[0] * -db[1] + db[0] * da[1]
    if abs(det) < 1e-9:
        return None
    t = ((b0 - a0)[0] * -db[1] + db[0] * (b0 - a0)[1]) / det
    return np.asarray(a0 + t * da, dtype=np.float64)


def _refine_in_crop(rgb: RGBImage, quad: F64, cfg: DetectConfig) -> tuple[float, F64] | None:
    """``_refine`` on a float copy of the quad's bounding box only.

    Converting the whole 1280x720 frame to float costs more than the fit itself.
    """
    height, width = rgb.shape[:2]
    pad = cfg.search_fraction * max(width, height) + 4.0
    x0, y0 = (max(0, int(np.floor(quad[:, k].min() - pad))) for k in (0, 1))
    x1 = min(width, int(np.ceil(quad[:, 0].max() + pad)))
    y1 = min(height, int(np.ceil(quad[:, 1].max() + pad)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    offset = np.array([x0, y0], dtype=np.float64)
    crop = rgb[y0:y1, x0:x1].astype(np.float32)
    fit_cfg = replace(cfg, max_profiles=cfg.refine_max_profiles)
    refined = _refine(crop, quad - offset, fit_cfg, max(width, height))
    return None if refined is None else (refined[0], refined[1] + offset)


def _refine(full: F32, quad: F64, cfg: DetectConfig, side_px: int) -> tuple[float, F64] | None:
    """Two passes of line fitting; returns (edge support, refined corners)."""
    quad = _clockwise(quad)
    support = 0.0
    for half in (cfg.search_fraction * side_px, cfg.final_search_px):
        fits: list[EdgeFit | None] = []
        for i in range(4):
            prof = sample_profiles(full, quad[i], quad[(i + 1) % 4], half, cfg)
            fits.append(None if prof is None else fit_edge(prof, cfg))
        seen = [f for f in fits if f is not None]
        if len(seen) < 3:
            return None
        support = sum(f.support for f in seen) / 4.0
        fitted = _corners_from_fits(fits, quad)
        if fitted is None:
            return None
        quad = fitted
    return support, quad


def _corners_from_fits(fits: list[EdgeFit | None], quad: F64) -> F64 | None:
    """Intersect consecutive fitted sides; an unseen side keeps the rough quad's line."""
    lines = []
    for i, fit in enumerate(fits):
        if fit is None:
            a, b = quad[i], quad[(i + 1) % 4]
            fit = EdgeFit(a, (b - a) / max(float(np.hypot(*(b - a))), 1e-9), 0.0, 0.0)
        lines.append(fit)
    corners = [intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    out = np.array(corners, dtype=np.float64)
    return out if cv2.isContourConvex(out.astype(np.float32)) else None


def _area(quad: F64) -> float:
    return float(abs(cv2.contourArea(quad.astype(np.float32))))


def _clockwise(quad: F64) -> F64:
    x, y = quad[:, 0], quad[:, 1]
    area2 = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    return quad if area2 > 0 else quad[::-1].copy()


def _cut_by_border(corners: F32, size: tuple[int, int], margin: float) -> bool:
    width, height = size
    x, y = corners[:, 0], corners[:, 1]
    return bool(
        np.any(x < margin) or np.any(y < margin)
        or np.any(x > width - margin) or np.any(y > height - margin)
    )  # fmt: skip
