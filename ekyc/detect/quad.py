"""Find a card's four corners in an image: candidates on a small copy, lines at full size.

1. On a copy whose longer side is ``DetectConfig.working_side_px``, colour-gradient edges
   give candidate quads (``ekyc.detect.candidates``): hulls of closed outlines, and quads
   of four straight lines found on a low-threshold edge map, pre-ranked per line
   (``ekyc.detect.lines``). For paper documents the copy is first grey-closed
   (``DetectConfig.document_close_px``): print and thin dark occluders (a cable across
   the page) vanish, the light page's outline stays.
2. Every candidate is ranked on the small copy by the boundary evidence of its four sides
   (``ekyc.detect.rank``: an aligned edge with a colour *step* across it, which printed
   rules and frames inside the card lack), by the aspect that the camera model recovers
   (``ekyc.detect.plane``) and by its in-frame area: a printed panel often shares two or
   three sides with the card, and the card is the larger of the two.
3. Only the best ``refine_top`` are refitted at full resolution as lines through sub-pixel
   edge points (``ekyc.detect.edges``), twice, with a narrowing search; the best
   rank x support wins, and a runner-up whose rank cannot beat that is not refined.
4. A side fitted to a printed line that runs just inside a faint card edge (the licence's
   frame, an address box) moves out to the card's edge (``ekyc.detect.outline``): the
   strip between the two is card paper, unlike the background beyond the other sides.
5. On a tilted card the strongest edge along a side facing the camera is often the outer
   edge of the card's side face; ``ekyc.detect.sideface`` moves such a side onto the
   printed face's edge, so that the quad is the face and the side face lies outside it,
   where the thickness check (``ekyc.detect.thickness``) looks for it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.candidates import WorkingImage, candidate_quads, clockwise, working_image
from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import EdgeFit, fit_sides, intersect
from ekyc.detect.outline import outermost_sides
from ekyc.detect.plane import aspect_ratios, focal_px, shape_factors
from ekyc.detect.rank import claimable_area, nested_preference, side_evidence, visible_area
from ekyc.detect.sideface import face_edge_quad
from ekyc.types import AspectPrior, CardQuad, Frame, QuadDetection, RGBImage

__all__ = [
    "QuadSearch",
    "colour_gradient",
    "cut_by_border",
    "find_quad",
    "finish_quad",
    "make_working_image",
    "order_corners",
    "order_many",
    "ranked_candidates",
    "refine_sides",
    "search_quads",
    "shrink",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


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
    return search_quads(image, aspect, config).best


@dataclass(frozen=True, slots=True, eq=False)
class QuadSearch:
    """The detector's choice and the runner-up candidates it ranked below it.

    ``find_card`` reads the layout inside the runners-up too: a quad that takes a printed
    panel's side, or a background line for a faint card side, can rank first on boundary
    evidence and shape alone, while only the card's own outline puts its layout in place.

    Attributes:
        best: What ``find_quad`` returns.
        alternatives: Rough corners (``order_corners`` order, full-resolution pixels) of
            the next-ranked candidates that differ from ``best``, best ranked first, with
            their scores; ``refine`` turns one into a detection.
        working: The working image the candidates came from (``three_sides`` reads its
            lines too).
    """

    best: QuadDetection | None
    alternatives: tuple[tuple[float, F32], ...]
    working: WorkingImage
    _image: Frame | RGBImage
    _config: DetectConfig

    def refine(self, corners: F32, score: float) -> QuadDetection | None:
        """Refine an alternative at full resolution as ``find_quad`` refines its choice."""
        rgb = _rgb(self._image)
        refined = _refine_in_crop(rgb, np.asarray(corners, np.float64), self._config)
        if refined is None or refined[0] * score < self._config.min_score:
            return None
        return finish_quad(self._image, refined[1], refined[0] * score, self._config)

    def refine_near(self, corners: F32, score: float, half_width: float) -> QuadDetection | None:
        """Refit ``corners`` within ``half_width`` px of each side only, then finish.

        ``refine`` searches ``search_fraction`` of the shot first and can return to the
        printed line that a layout-aligned side (``card._realign``) was moved off. Here a
        side that gets no fit, or one supported under ``min_score``, keeps its given line
        (the layout placed it); one whose window shows only noise is fitted through it and
        stays about where it was (``test_refine_near_keeps_to_the_given_sides...``).
        """
        cfg = _fit_config(self._config)
        quad = clockwise(np.asarray(corners, np.float64))
        fits = fit_sides(_rgb(self._image), quad, half_width, cfg)
        kept = [f if f is not None and f.support >= cfg.min_score else None for f in fits]
        fitted = _corners_from_fits(kept, quad)
        if fitted is None:
            return None
        support = sum(f.support if f is not None else cfg.min_score for f in kept) / 4.0
        return finish_quad(self._image, fitted, support * score, self._config)


def search_quads(
    image: Frame | RGBImage,
    aspect: AspectPrior = AspectPrior.ID1,
    config: DetectConfig | None = None,
    alternatives: int = 0,
    half: RGBImage | None = None,
) -> QuadSearch:
    """``find_quad``, plus up to ``alternatives`` runner-up candidates (``QuadSearch``).

    ``half``: the shot halved by ``cv2.pyrDown`` when the caller has it (``find_card``'s
    learned attempt made it: ~30 ms CPU at 12 MP not spent twice).

    A paper document is searched on the closed working copy
    (``DetectConfig.document_close_px``) and, only when that finds nothing, on the copy as
    it is: a page whose sole outline is a thin dark line (its shadow on a table of the
    same white) loses that line to the closing.
    """
    cfg = config or DetectConfig()
    close = cfg.document_close_px if aspect is not AspectPrior.ID1 else 0
    search = _search(image, aspect, cfg, alternatives, half, close)
    if search.best is None and close > 1:  # the first search's halved shot serves again
        half = half if half is not None else search.working.half
        search = _search(image, aspect, cfg, alternatives, half, 0)
    return search


def _search(
    image: Frame | RGBImage,
    aspect: AspectPrior,
    cfg: DetectConfig,
    alternatives: int,
    half: RGBImage | None,
    close: int,
) -> QuadSearch:
    """``search_quads`` on one working copy (closed by ``close`` px, 0: as it is)."""
    rgb = _rgb(image)
    height, width = rgb.shape[:2]
    work = make_working_image(rgb, cfg, half, close)
    scale = work.scale
    ranked = ranked_candidates(work, aspect, cfg)
    best: tuple[float, float, F64] | None = None
    for rank, score, quad in ranked[: cfg.refine_top]:
        if best is not None and rank <= best[0]:
            break  # support <= 1: this candidate cannot beat the refined one
        refined = _refine_in_crop(rgb, quad / scale, cfg)
        if refined is not None and (best is None or refined[0] * rank > best[0]):
            best = (refined[0] * rank, refined[0] * score, refined[1])
    found = None
    if best is not None and best[1] >= cfg.min_score:
        found = finish_quad(image, best[2], best[1], cfg)
    others: list[tuple[float, F32]] = []
    if found is not None and alternatives > 0:
        size = (width, height)
        near = cfg.alternative_distinct * float(np.hypot(width, height))
        kept = np.empty((alternatives + 1, 4, 2))
        kept[0] = found.quad.corners
        top = ranked[: cfg.alternatives_ranked]
        ordered = order_many(np.stack([q for _, _, q in top]) / scale, size, cfg)
        for (_, score, _), full in zip(top, ordered, strict=True):
            if _max_corner_distance(full, kept[: len(others) + 1]) < near:
                continue
            kept[len(others) + 1] = full
            others.append((score, full.astype(np.float32)))
            if len(others) == alternatives:
                break
    return QuadSearch(found, tuple(others), work, image, cfg)


def _rgb(image: Frame | RGBImage) -> RGBImage:
    rgb = image.image if isinstance(image, Frame) else image
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    return rgb


def _max_corner_distance(a: F64, b: F64) -> float:
    """Largest corner distance from ``a`` to the nearest of ``b``'s ``(k, 4, 2)`` quads.

    Quads in ``order_corners`` order, either way round (a 180-degree turn).
    """
    same = np.linalg.norm(a - b, axis=2).max(axis=1)
    turned = np.linalg.norm(a - b[:, [2, 3, 0, 1]], axis=2).max(axis=1)
    return float(np.minimum(same, turned).min())


def finish_quad(
    image: Frame | RGBImage, quad: F64, score: float, cfg: DetectConfig, *, flat: bool = False
) -> QuadDetection:
    """Side faces onto the printed face's edge, corner order, and the border check.

    ``flat``: the caller has found no side face predicted along ``quad`` (``card``'s
    learned proposal, whose tilt check ran on these corners): unless the outline step
    moves a side, ``face_edge_quad`` would move none (it looks only where one is
    predicted), and its ~0.3 ms are skipped.
    """
    rgb = _rgb(image)
    height, width = rgb.shape[:2]
    exif = image.metadata.focal_length_35mm if isinstance(image, Frame) else None
    f_px = focal_px((width, height), exif if exif is not None else cfg.prior_focal_35mm)
    quad = clockwise(quad)
    # One crop serves both steps: the outline's reach (sides move out by at most half its
    # pad), and the side-face search around wherever the sides end up. A uint8 view: the
    # profiles convert only the thin boxes they sample (``edges._sample``, the same
    # values), where a float copy of a 12 MP shot's card cost ~50 ms of CPU a call.
    side = float(np.linalg.norm(quad[1] - quad[0]))
    pad = 2.0 * cfg.outline_search_mm * side / 50.0 + 24.0  # generous: >= 2x the reach
    cropped = _crop(rgb, quad, pad + 3.0 * cfg.band_search_px)
    if cropped is not None:
        crop, offset = cropped
        fit_cfg = _fit_config(cfg)
        local = quad - offset
        outlined = _outline_in_crop(crop, local, fit_cfg)
        quad = clockwise(outlined + offset)
        if not (flat and outlined is local):
            face = face_edge_quad(crop, quad - offset, (width, height), f_px, fit_cfg,
                                  origin=offset)  # fmt: skip
            quad = face.corners + offset
    corners = order_corners(quad, (width, height), cfg)
    cut = cut_by_border(corners, (width, height), cfg.border_margin_px)
    return QuadDetection(CardQuad(corners, float(min(1.0, score))), cut)


def make_working_image(
    rgb: RGBImage, cfg: DetectConfig, half: RGBImage | None = None, close_px: int = 0
) -> WorkingImage:
    """The shot shrunk to ``working_side_px``, blurred, its gradient and lines.

    ``half``: ``cv2.pyrDown`` of ``rgb`` when the caller has it (else made here if used).
    ``close_px``: a grey closing of the shrunk copy with a disc this wide (0: none), which
    removes dark structures narrower than it (``DetectConfig.document_close_px``).
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, cfg.working_side_px / max(height, width))
    if scale <= 0.5:  # ``shrink``'s first step, kept: the rough layout reads start from it
        if half is None:
            half = np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
        small = shrink(half, 2.0 * scale)
    else:
        half = None
        small = rgb if scale >= 1.0 else shrink(rgb, scale)
    if close_px > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_px, close_px))
        small = np.asarray(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), dtype=np.uint8)
    blur = cv2.GaussianBlur(small, (0, 0), cfg.blur_sigma_px).astype(np.float32)
    gx, gy, mag = colour_gradient(blur)
    return working_image(blur, gx, gy, mag, scale, cfg, half)


def ranked_candidates(
    work: WorkingImage, aspect: AspectPrior, cfg: DetectConfig
) -> list[tuple[float, float, F64]]:
    """Candidates on the working image, best first, as ``(rank, score, corners)``.

    The score is the geometric mean of the four sides' boundary evidence
    (``ekyc.detect.rank``) times the aspect plausibility; it is what the reported
    confidence and ``min_score`` use. The rank multiplies it by a preference for the larger
    in-frame area (``rank.visible_area``): of two nested quads that both look like
    boundaries (a coloured panel printed on the card and the card itself), the outer one
    is the card, while a quad reaching out of the frame gains nothing from its unseen part,
    and one around a firm outline that does not lie along it (a quad of desk lines around
    the card) gains nothing over that outline (``rank.claimable_area``).
    Paper documents (``A4`` / ``ANY``) take a weaker global preference and a further one
    among nested quads only (``rank.nested_preference``, ``DetectConfig.nest_weight``).
    """
    if aspect is not AspectPrior.ID1:
        cfg = replace(
            cfg, area_weight=cfg.document_area_weight, nest_weight=cfg.document_nest_weight
        )
    blur, gx, gy = work.blur, work.gx, work.gy
    quads = candidate_quads(work, aspect.ratio, cfg)
    if not quads:
        return []
    stack = np.stack(quads)  # clockwise already (``candidate_quads``)
    evidence = side_evidence(stack, blur, gx, gy, cfg)
    boundary = np.prod(evidence + 0.01, axis=1) ** 0.25
    size = (blur.shape[1], blur.shape[0])
    f_px = focal_px(size, cfg.prior_focal_35mm)
    shape = shape_factors(stack, size, f_px, aspect.ratio, cfg.aspect_tolerance)
    score = boundary * shape
    area = visible_area(stack, size)
    claim = claimable_area(
        stack, score, area, evidence, cfg.firm_side_evidence, cfg.aligned_deg, cfg.surface_area
    )
    rank = score * (claim / claim.max()) ** cfg.area_weight
    if cfg.nest_weight > 0:
        rank = rank * nested_preference(stack, score, area, cfg.nest_rival) ** cfg.nest_weight
    order = np.argsort(-rank)
    return [(float(rank[i]), float(score[i]), stack[i]) for i in order if rank[i] > 0]


def order_corners(
    corners: F64 | F32, image_size: tuple[int, int], config: DetectConfig | None = None
) -> F32:
    """Clockwise corners, first side long and facing the image top (``QuadDetection``).

    The long side is the long side in space: the camera model undoes the perspective, so
    a card tilted 60 degrees about its short axis still has its long sides first.
    """
    focal_35mm = (config or _DEFAULT).prior_focal_35mm
    quad = np.asarray(corners, dtype=np.float64)
    # Four points in Python floats: numpy's per-call overhead was ~all of this function's
    # cost (~0.4 ms a call, three calls per learned proposal kept).
    pts = [(float(x), float(y)) for x, y in quad]
    area2 = sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(4))
    if area2 < 0:  # counter-clockwise on screen (y down)
        quad, pts = quad[::-1], pts[::-1]
    aspect = _aspect(pts, image_size, focal_px(image_size, focal_35mm))
    if aspect is not None:
        long_first = aspect >= 1.0
    else:
        side = [math.dist(pts[i], pts[(i + 1) % 4]) for i in range(4)]
        long_first = side[0] + side[2] >= side[1] + side[3]
    if not long_first:
        quad, pts = np.roll(quad, -1, axis=0), pts[1:] + pts[:1]
    up = []  # -y of each side's outward normal
    for i in (0, 2):
        dx, dy = pts[i + 1][0] - pts[i][0], pts[i + 1][1] - pts[i][1]
        up.append(dx / max(math.hypot(dx, dy), 1e-9))
    if up[1] > up[0]:
        quad = np.roll(quad, -2, axis=0)
    return np.ascontiguousarray(quad, dtype=np.float32)


def _aspect(
    pts: list[tuple[float, float]], image_size: tuple[int, int], f_px: float
) -> float | None:
    """``plane_pose(...).aspect`` of one quad (side 0-1 over side 0-3 in space), or None.

    ``plane.aspect_ratios``'s closed form in scalars: it agrees with ``plane_pose`` to
    ~1e-6, so the long side can come out differently only for a quad square in space.
    None where ``plane_pose`` finds the quad degenerate.
    """
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    det = dx1 * dy2 - dx2 * dy1
    if abs(det) < 1e-12:
        return None
    g = (dx3 * dy2 - dx2 * dy3) / det
    h = (dx1 * dy3 - dx3 * dy1) / det
    cx, cy = image_size[0] / 2, image_size[1] / 2
    a = ((x1 - x0 + g * x1 - cx * g) / f_px, (y1 - y0 + g * y1 - cy * g) / f_px, g)
    b = ((x3 - x0 + h * x3 - cx * h) / f_px, (y3 - y0 + h * y3 - cy * h) / f_px, h)
    na, nb = math.hypot(*a), math.hypot(*b)
    cross = math.hypot(
        a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]
    )
    if not (na > 1e-12 and nb > 1e-12 and cross > 1e-12 * na * nb) or not math.isfinite(na / nb):
        return None
    return na / nb


def order_many(quads: F64, image_size: tuple[int, int], cfg: DetectConfig) -> F64:
    """``order_corners`` of ``(n, 4, 2)`` quads at once (the aspect by ``aspect_ratios``).

    Per-quad calls cost ~0.3 ms each, mostly numpy overhead, for the 16 runners-up of
    every shot. The closed-form aspect agrees with ``plane_pose``'s to ~1e-6: the long
    side can come out differently only for a quad that is square in space.
    """
    quads = np.asarray(quads, dtype=np.float64)
    x, y = quads[..., 0], quads[..., 1]
    area2 = np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    quads = np.where((area2 < 0)[:, None, None], quads[:, ::-1], quads)
    aspect = aspect_ratios(quads, image_size, focal_px(image_size, cfg.prior_focal_35mm))
    side = np.linalg.norm(np.roll(quads, -1, axis=1) - quads, axis=2)
    by_sides = side[:, 0] + side[:, 2] >= side[:, 1] + side[:, 3]
    long_first = np.where(np.isfinite(aspect), aspect >= 1.0, by_sides)
    quads = np.where(long_first[:, None, None], quads, np.roll(quads, -1, axis=1))
    d = np.roll(quads, -1, axis=1) - quads
    up = d[..., 0] / np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    quads = np.where((up[:, 2] > up[:, 0])[:, None, None], np.roll(quads, -2, axis=1), quads)
    return np.asarray(quads.astype(np.float32), dtype=np.float64)


def shrink(rgb: RGBImage, scale: float) -> RGBImage:
    """``rgb`` scaled by ``scale`` < 1, area-sampled: the detector's working copy."""
    # Halving with pyrDown first is ~4x cheaper than one INTER_AREA at a fractional factor.
    while scale <= 0.5:
        rgb = np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
        scale *= 2.0
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def colour_gradient(blur: F32) -> tuple[F32, F32, F32]:
    """Per pixel, the x/y Sobel of the channel with the strongest gradient, and its size."""
    gx: F32 = np.asarray(cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3), np.float32)
    gy: F32 = np.asarray(cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3), np.float32)
    gx /= 8.0
    gy /= 8.0
    mag2: F32 = gx * gx
    mag2 += gy * gy
    m0, m1, m2 = mag2[..., 0], mag2[..., 1], mag2[..., 2]
    # argmax's choice (the first of equal maxima) from two masks, as each pixel's flat index
    # into the (H, W, 3) arrays: one ``take`` per array gathers the same values as
    # ``take_along_axis`` (and as two nested ``where``s) for ~25 % less CPU in this function
    # (10.6 -> 7.8 ms a call on the selfie windows' 384 x 360 working images, load ~9).
    second = (m1 > m0) & (m1 >= m2)
    third = (m2 > m0) & (m2 > m1)
    flat = np.arange(0, 3 * m0.size, 3, dtype=np.intp).reshape(m0.shape)
    flat += second
    flat += 2 * third.view(np.uint8)
    pick_x: F32 = gx.take(flat)
    pick_y: F32 = gy.take(flat)
    return pick_x, pick_y, np.sqrt(mag2.take(flat))


def _refine_in_crop(rgb: RGBImage, quad: F64, cfg: DetectConfig) -> tuple[float, F64] | None:
    """``_refine`` sampling the uint8 shot near the sides (``edges.fit_sides``).

    Converting the whole 1280x720 frame to float costs more than the fit itself, and so
    did a float copy of the quad's bounding box; None when under 16 px of that box lie in
    the shot.
    """
    height, width = rgb.shape[:2]
    pad = cfg.search_fraction * max(width, height) + 4.0
    x0, y0 = (max(0, int(np.floor(quad[:, k].min() - pad))) for k in (0, 1))
    x1 = min(width, int(np.ceil(quad[:, 0].max() + pad)))
    y1 = min(height, int(np.ceil(quad[:, 1].max() + pad)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    fit_cfg = _fit_config(cfg)
    return _refine(rgb, quad, fit_cfg, max(width, height))


@functools.lru_cache(maxsize=8)
def _fit_config(cfg: DetectConfig) -> DetectConfig:
    """``cfg`` with ``max_profiles`` at ``refine_max_profiles``, made once per config.

    ``dataclasses.replace`` re-runs the config's checks, ~0.1-0.2 ms a call, and every
    refinement and finish made one (the config is frozen: equal configs share the copy).
    """
    return replace(cfg, max_profiles=cfg.refine_max_profiles)


@functools.lru_cache(maxsize=8)
def _outline_config(cfg: DetectConfig) -> DetectConfig:
    """``cfg`` sampling as the outline does (``outline_max_profiles``, ``outline_step_px``)."""
    return replace(cfg, max_profiles=cfg.outline_max_profiles, profile_step_px=cfg.outline_step_px)


_DEFAULT = DetectConfig()


def _crop(rgb: RGBImage, quad: F64, pad: float) -> tuple[U8, F64] | None:
    """The crop (a view) around ``quad`` grown by ``pad`` px, and its offset; None if tiny."""
    height, width = rgb.shape[:2]
    x0, y0 = (max(0, int(np.floor(quad[:, k].min() - pad))) for k in (0, 1))
    x1 = min(width, int(np.ceil(quad[:, 0].max() + pad)))
    y1 = min(height, int(np.ceil(quad[:, 1].max() + pad)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    return rgb[y0:y1, x0:x1], np.array([x0, y0], dtype=np.float64)


def _outline_in_crop(crop: F32 | U8, quad: F64, fit_cfg: DetectConfig) -> F64:
    """``outline.outermost_sides`` on a crop (crop coordinates); moved sides refitted."""
    moved, shifts = outermost_sides(crop, quad, _outline_config(fit_cfg))
    if not any(shifts):
        return quad
    fits = fit_sides(crop, moved, fit_cfg.final_search_px, fit_cfg)
    refit = _corners_from_fits(fits, moved)
    return moved if refit is None else refit


def _refine(full: F32 | U8, quad: F64, cfg: DetectConfig, side_px: int) -> tuple[float, F64] | None:
    """Two passes of line fitting; returns (edge support, refined corners)."""
    passes = _two_passes(full, quad, cfg, side_px)
    if passes is None:
        return None
    fits, quad = passes
    return sum(f.support for f in fits if f is not None) / 4.0, quad


def _two_passes(
    full: F32 | U8, quad: F64, cfg: DetectConfig, side_px: int
) -> tuple[list[EdgeFit | None], F64] | None:
    """``_refine``'s fits: the last pass's per side, and the corners they meet at."""
    quad = clockwise(quad)
    fits: list[EdgeFit | None] = []
    for half in (cfg.search_fraction * side_px, cfg.final_search_px):
        fits = fit_sides(full, quad, half, cfg)
        if sum(f is not None for f in fits) < 3:
            return None
        fitted = _corners_from_fits(fits, quad)
        if fitted is None:
            return None
        quad = fitted
    return fits, quad


def refine_sides(
    rgb: RGBImage, quad: F64, cfg: DetectConfig
) -> tuple[list[EdgeFit | None], F64] | None:
    """``find_quad``'s full-resolution refinement of a rough quad, with each side's fit.

    The profiles are sampled from the uint8 shot in a thin box along each side
    (``edges.fit_sides``), with the same values as from a float copy of the shot.

    Args:
        rgb: The shot.
        quad: Rough corners, shot pixels.
        cfg: The refinement's parameters.

    Returns:
        The last pass's fit of each side (None: not fitted) and the clockwise corners they
        meet at, or None when fewer than three sides were fitted.
    """
    fit_cfg = _fit_config(cfg)
    return _two_passes(_rgb(rgb), np.asarray(quad, np.float64), fit_cfg, max(rgb.shape[:2]))


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


def cut_by_border(corners: F32, size: tuple[int, int], margin: float) -> bool:
    """A corner within ``margin`` pixels of the image border (``QuadDetection.cut_by_border``)."""
    width, height = size
    x, y = corners[:, 0], corners[:, 1]
    return bool(
        np.any(x < margin) or np.any(y < margin)
        or np.any(x > width - margin) or np.any(y > height - margin)
    )  # fmt: skip
