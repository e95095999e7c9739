"""Sub-pixel edge lines: intensity profiles across a quad's sides and robust line fits.

Each side of a rough quad is sampled by short profiles along its outward normal (skipping
the rounded corners). The colour-gradient peak of each profile, located to a fraction of a
pixel, is one point of the edge; a line fitted through those points with outliers removed
(a finger over the edge, glare, a shadow) is the side, and the sides' intersections are
the corners. Fitting lines rather than taking contour corners makes the result
independent of the card's 3.18 mm corner radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig

__all__ = [
    "EdgeFit",
    "EdgeProfiles",
    "fit_edge",
    "fit_sides",
    "intersect",
    "median_profile",
    "remap_box",
    "sample_profiles",
    "sample_sides",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True, eq=False)
class EdgeProfiles:
    """Colour profiles across one side of a quad.

    Attributes:
        origins: ``(n, 2)`` points on the side where the profiles cross it.
        normal: Unit outward normal of the side (away from the quad's inside).
        offsets: ``(m,)`` signed distances along the normal of the samples, pixels.
        colour: ``(n, m, 3)`` float32 samples.
    """

    origins: F64
    normal: F64
    offsets: F64
    colour: F32

    def gradient(self) -> tuple[F64, F32]:
        """Colour-gradient magnitude along each profile, and the offsets it sits at."""
        return _gradient(self.colour, self.offsets)


def _gradient(colour: F32, offsets: F64) -> tuple[F64, F32]:
    """``EdgeProfiles.gradient`` of ``(n, m, 3)`` profiles sampled at ``offsets``."""
    step = float(offsets[1] - offsets[0])
    # Smooth along the profile only (sigma 1 px): the derivative of raw samples would
    # follow JPEG and sensor noise. (sigmaY 1e-3 is a 1-tap kernel: rows stay apart.)
    smooth = cv2.GaussianBlur(colour, (0, 0), sigmaX=1.0 / step, sigmaY=1e-3)
    diff = np.diff(smooth, axis=1)
    mag = np.sqrt(np.einsum("nmc,nmc->nm", diff, diff)) / step
    return (offsets[:-1] + step / 2), mag.astype(np.float32)


@dataclass(frozen=True, slots=True)
class EdgeFit:
    """A fitted side: a point on it, its unit direction, and how well the image agrees.

    Attributes:
        point: A point on the line.
        direction: Unit direction of the line.
        support: Fraction of the side's profiles whose edge lies on the line.
        strength: Median gradient magnitude of the inlier profiles.
    """

    point: F64
    direction: F64
    support: float
    strength: float


def sample_profiles(
    image: F32 | U8, p0: F64, p1: F64, half_width: float, config: DetectConfig, outer: float = 0.0
) -> EdgeProfiles | None:
    """Sample colour profiles across the side ``p0 -> p1`` of a clockwise quad.

    Args:
        image: Float32 ``(H, W, 3)`` image, or a uint8 one (sampled near the side only).
        p0: Start of the side.
        p1: End of the side.
        half_width: Profiles run from ``-half_width`` (inside) to ``half_width + outer``.
        config: Spacing, step and corner margin.
        outer: Extra reach outside the quad (for the edge band).

    Returns:
        The profiles, or None when the side is too short or too little of it is in frame,
        or when a profile would run longer than the image is across: a degenerate quad's
        predicted band (a side face tens of thousands of pixels wide, detection seed 49006
        #174), which would sample only the replicated border and overflow OpenCV's remap.
    """
    height, width = image.shape[:2]
    if 2.0 * half_width + outer > float(np.hypot(height, width)):
        return None
    placed = _profile_origins(image.shape[:2], p0, p1, config)
    if placed is None:
        return None
    origins, normal = placed
    offsets = np.arange(-half_width, half_width + outer + 1e-9, config.profile_step_px)
    colour = _sample(image, origins, np.broadcast_to(normal, origins.shape), offsets)
    return EdgeProfiles(origins, normal, offsets, colour)


def _profile_origins(
    shape: tuple[int, ...], p0: F64, p1: F64, config: DetectConfig
) -> tuple[F64, F64] | None:
    """Where the profiles of side ``p0 -> p1`` cross it, and its outward normal."""
    vec = p1 - p0
    length = float(np.hypot(*vec))
    if length < 8.0:
        return None
    direction = vec / length
    normal = np.array([direction[1], -direction[0]])
    span = length * (1.0 - 2.0 * config.corner_margin)
    count = int(min(config.max_profiles, max(8, span // config.profile_spacing_px)))
    start, stop = config.corner_margin * length, length - config.corner_margin * length
    # ``np.linspace(start, stop, count)``'s own steps (count >= 8, stop > start), without
    # its ~0.1 ms of checks: a few thousand sides per shot are sampled.
    ts = np.arange(count, dtype=np.float64) * ((stop - start) / (count - 1))
    ts += start
    ts[-1] = stop
    origins = p0[None, :] + ts[:, None] * direction[None, :]
    height, width = shape[:2]
    inside = (
        (origins[:, 0] >= 1) & (origins[:, 0] <= width - 1)
        & (origins[:, 1] >= 1) & (origins[:, 1] <= height - 1)
    )  # fmt: skip
    if inside.sum() < 8:  # the side runs out of the frame: nothing to fit
        return None
    return origins[inside], normal


def _sides_origins(
    shape: tuple[int, ...], quad: F64, config: DetectConfig
) -> list[tuple[F64, F64] | None]:
    """``_profile_origins`` of each side of ``quad`` at once: the same values, one pass.

    The per-side version's ~20 numpy calls cost ~0.1 ms a side, more than its arithmetic.
    """
    ends = np.roll(quad, -1, axis=0)
    vec = ends - quad
    length = np.hypot(vec[:, 0], vec[:, 1])
    direction = vec / np.maximum(length, 1e-300)[:, None]  # a side under 8 px is dropped
    span = length * (1.0 - 2.0 * config.corner_margin)
    counts = np.minimum(config.max_profiles, np.maximum(8, span // config.profile_spacing_px))
    starts = config.corner_margin * length
    stops = length - config.corner_margin * length
    sides = [i for i in range(4) if length[i] >= 8.0]
    if not sides:
        return [None] * 4
    count = [int(counts[i]) for i in sides]
    first = np.cumsum([0, *count])
    index = np.arange(first[-1], dtype=np.float64) - np.repeat(first[:-1], count)
    which = np.repeat(sides, count)
    steps = (stops - starts) / (counts - 1)
    ts = index * steps[which]
    ts += starts[which]
    ts[first[1:] - 1] = stops[sides]
    origins = quad[which] + ts[:, None] * direction[which]
    height, width = shape[:2]
    inside = (
        (origins[:, 0] >= 1) & (origins[:, 0] <= width - 1)
        & (origins[:, 1] >= 1) & (origins[:, 1] <= height - 1)
    )  # fmt: skip
    placed: list[tuple[F64, F64] | None] = [None] * 4
    for k, i in enumerate(sides):
        rows = slice(int(first[k]), int(first[k + 1]))
        if int(np.count_nonzero(inside[rows])) < 8:  # runs out of the frame: nothing to fit
            continue
        normal = np.array([direction[i, 1], -direction[i, 0]])
        placed[i] = (origins[rows][inside[rows]], normal)
    return placed


def _sample(image: F32 | U8, origins: F64, normals: F64, offsets: F64) -> F32:
    """``(n, m, 3)`` colours at ``origins + offsets * normals`` (one profile per row).

    A uint8 image is sampled through a float copy of the samples' bounding box only (and
    its interpolation neighbours), which gives the same values as a float copy of the
    whole image: converting a 1280x720 shot costs more than every profile of a quad.
    """
    # ``origins + offsets * normals`` per coordinate (the same floats as one (n, m, 2)
    # array, without its strided halves). ekyc.types puts pixel centres at +0.5; OpenCV's
    # remap puts them at integers.
    map_x = _shifted(origins[:, :1] + offsets[None, :] * normals[:, :1])
    map_y = _shifted(origins[:, 1:] + offsets[None, :] * normals[:, 1:])
    if image.dtype == np.uint8:
        return remap_box(np.asarray(image, dtype=np.uint8), map_x, map_y)
    colour = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(colour, dtype=np.float32)


def remap_box(image: U8, map_x: F32, map_y: F32) -> F32:
    """``remap`` of a uint8 image's float copy, made of the maps' bounding box only.

    ``map_x`` and ``map_y`` are shifted into the box in place.
    """
    height, width = image.shape[:2]
    x0 = min(max(0, int(np.floor(map_x.min())) - 1), width - 1)
    y0 = min(max(0, int(np.floor(map_y.min())) - 1), height - 1)
    x1 = max(min(width, int(np.ceil(map_x.max())) + 2), x0 + 1)
    y1 = max(min(height, int(np.ceil(map_y.max())) + 2), y0 + 1)
    box = image[y0:y1, x0:x1].astype(np.float32)
    map_x -= x0
    map_y -= y0
    colour = cv2.remap(box, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(colour, dtype=np.float32)


def _sample_sides(image: F32 | U8, seen: list[tuple[F64, F64]], offsets: F64) -> F32:
    """``_sample`` of several sides' profiles, stacked: the same values, one map pass.

    A uint8 image is still sampled side by side (four thin boxes, not the whole quad's),
    but the maps are made once for every side.
    """
    origins = np.concatenate([o for o, _ in seen])
    normals = np.concatenate([np.broadcast_to(n, o.shape) for o, n in seen])
    if image.dtype != np.uint8:
        return _sample(image, origins, normals, offsets)
    map_x = _shifted(origins[:, :1] + offsets[None, :] * normals[:, :1])
    map_y = _shifted(origins[:, 1:] + offsets[None, :] * normals[:, 1:])
    shot = np.asarray(image, dtype=np.uint8)  # the uint8 shot itself (typed as such)
    colour = np.empty((len(origins), len(offsets), shot.shape[2]), dtype=np.float32)
    start = 0
    for o, _ in seen:
        rows = slice(start, start + len(o))
        start = rows.stop
        colour[rows] = remap_box(shot, map_x[rows], map_y[rows])
    return colour


def sample_sides(
    image: F32 | U8, quad: F64, half_width: float, config: DetectConfig, outer: float = 0.0
) -> list[EdgeProfiles | None]:
    """``sample_profiles`` of each side of a clockwise quad, in one pass (the same values)."""
    placed = _sides_origins(image.shape, np.asarray(quad, dtype=np.float64), config)
    seen = [p for p in placed if p is not None]
    if not seen:
        return [None] * 4
    offsets = np.arange(-half_width, half_width + outer + 1e-9, config.profile_step_px)
    colour = _sample_sides(image, seen, offsets)
    return [
        None if side is None else EdgeProfiles(side[0][0], side[0][1], offsets, colour[side[1]])
        for side in _side_rows(placed)
    ]


def _side_rows(
    placed: list[tuple[F64, F64] | None],
) -> list[tuple[tuple[F64, F64], slice] | None]:
    """Each placed side with its rows in ``_sample_sides``' stack (None: a side not placed)."""
    out: list[tuple[tuple[F64, F64], slice] | None] = []
    start = 0
    for side in placed:
        if side is None:
            out.append(None)
            continue
        out.append((side, slice(start, start + len(side[0]))))
        start += len(side[0])
    return out


def _shifted(coordinate: F64) -> F32:
    """``(coordinate - 0.5).astype(float32)``, in place before the cast."""
    coordinate -= 0.5
    return coordinate.astype(np.float32)


def fit_sides(
    image: F32 | U8, quad: F64, half_width: float, config: DetectConfig
) -> list[EdgeFit | None]:
    """``fit_edge(sample_profiles(...))`` of each side of a clockwise quad, in one pass.

    The same fits, but the four sides' profiles are sampled by one ``remap`` and their
    gradients and peaks found together: per-side numpy calls cost more than the work.

    Args:
        image: Float32 ``(H, W, 3)`` image, or the uint8 shot (sampled near the sides only).
        quad: ``(4, 2)`` corners, clockwise; side ``k`` runs from corner ``k`` to ``k + 1``.
        half_width: Profiles run from ``-half_width`` to ``half_width`` across each side.
        config: Spacing, step, corner margin and the fit's thresholds.

    Returns:
        Top-to-left fits in side order; None for a side that ``sample_profiles`` or
        ``fit_edge`` gives nothing for.
    """
    placed = _sides_origins(image.shape, np.asarray(quad, dtype=np.float64), config)
    seen = [p for p in placed if p is not None]
    if not seen:
        return [None] * 4
    offsets = np.arange(-half_width, half_width + 1e-9, config.profile_step_px)
    colour = _sample_sides(image, seen, offsets)
    centres, mag = _gradient(colour, offsets)
    offs, heights = _subpixel_peaks(mag, centres, 0, len(centres))
    return [
        None
        if side is None
        else _fit_line(side[0][0], side[0][1], offs[side[1]], heights[side[1]], config)
        for side in _side_rows(placed)
    ]


def _subpixel_peaks(mag: F32, offsets: F64, lo: int, hi: int) -> tuple[F64, F64]:
    """Peak offset and height of each row of ``mag`` within columns ``[lo, hi)``."""
    window = mag[:, lo:hi]
    idx = np.argmax(window, axis=1) + lo
    rows = np.arange(len(mag))
    left = mag[rows, np.maximum(idx - 1, 0)].astype(np.float64)
    mid = mag[rows, idx].astype(np.float64)
    right = mag[rows, np.minimum(idx + 1, mag.shape[1] - 1)].astype(np.float64)
    denom = left - 2 * mid + right
    shift = np.where(denom < -1e-9, 0.5 * (left - right) / np.where(denom < -1e-9, denom, 1), 0)
    step = float(offsets[1] - offsets[0])
    return offsets[idx] + np.clip(shift, -0.5, 0.5) * step, mid


def fit_edge(
    profiles: EdgeProfiles, config: DetectConfig, window: tuple[float, float] | None = None
) -> EdgeFit | None:
    """Fit the side's line through the strongest edge of each profile.

    Args:
        profiles: From ``sample_profiles``.
        config: Peak and outlier thresholds.
        window: Only look for edges at offsets in this range (default: the whole profile).

    Returns:
        The line, or None when fewer than 5 profiles show an edge.
    """
    centres, mag = profiles.gradient()
    lo, hi = 0, len(centres)
    if window is not None:
        lo = int(np.searchsorted(centres, window[0]))
        hi = max(lo + 1, int(np.searchsorted(centres, window[1], side="right")))
    offs, heights = _subpixel_peaks(mag, centres, lo, hi)
    return _fit_line(profiles.origins, profiles.normal, offs, heights, config)


def _fit_line(
    origins: F64, normal: F64, offs: F64, heights: F64, config: DetectConfig
) -> EdgeFit | None:
    """The robust line through each profile's peak (``fit_edge``'s fit)."""
    strong = heights >= config.min_peak_ratio * _median(heights)
    # Coordinates apart and scalars in ``math``: numpy's per-call overhead is most of the
    # cost of fits through ~60 points, and the refinement makes dozens of them.
    xs = origins[:, 0] + offs * normal[0]
    ys = origins[:, 1] + offs * normal[1]
    keep = strong.copy()
    cx, cy = float(origins[0, 0]), float(origins[0, 1])
    ux, uy = -float(normal[1]), float(normal[0])
    for _ in range(3):
        if np.count_nonzero(keep) < 5:
            return None
        cx, cy, ux, uy = _tls_line(xs[keep], ys[keep])
        resid = np.abs((xs - cx) * -uy + (ys - cy) * ux)
        mad = _median(resid[keep])
        kept = strong & (resid <= max(config.outlier_px, 3.0 * 1.4826 * mad))
        settled = bool(np.array_equal(kept, keep))
        keep = kept
        if settled:  # the same points: another pass would refit the very same line
            break
    return EdgeFit(
        np.array([cx, cy]), np.array([ux, uy]), float(keep.mean()), _median(heights[keep])
    )


def _tls_line(xs: F64, ys: F64) -> tuple[float, float, float, float]:
    """Total-least-squares line: centroid and principal direction ``(cx, cy, ux, uy)``."""
    n = len(xs)  # sum / n: ``mean``'s very value (the same pairwise sum), less overhead
    cx, cy = float(xs.sum()) / n, float(ys.sum()) / n
    dx, dy = xs - cx, ys - cy
    # The principal axis of the 2x2 scatter matrix in closed form: an SVD call costs
    # more in numpy overhead than the whole fit.
    angle = 0.5 * math.atan2(2.0 * float(dx @ dy), float(dx @ dx) - float(dy @ dy))
    return cx, cy, math.cos(angle), math.sin(angle)


def _median(values: F64) -> float:
    """``np.median`` of a 1-D array by partition: the same value, ~5x less overhead."""
    n = len(values)
    if n == 0:
        return float("nan")
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2)


def median_profile(colour: F32) -> F32:
    """``np.median(colour, axis=0)`` of ``(n, m, 3)`` profiles: the same values, ~2x cheaper.

    One in-place partition along contiguous rows of a transposed copy (numpy's median
    partitions the strided axis and averages through ``mean``; ``np.partition`` of the
    transposed view copies it in its strided order: ~20 % slower); the two middle values
    of an even count are averaged as ``mean`` does, their sum halved in the samples' dtype.
    """
    n = colour.shape[0]
    flat = colour.reshape(n, -1).T.copy()  # C order: rows contiguous
    k = n // 2
    if n % 2:
        flat.partition(k, axis=1)
        middle = flat[:, k]
    else:
        flat.partition((k - 1, k), axis=1)
        middle = (flat[:, k - 1] + flat[:, k]) / 2
    return np.asarray(middle.reshape(colour.shape[1:]), dtype=colour.dtype)


def intersect(a: EdgeFit, b: EdgeFit) -> F64 | None:
    """Intersection of two fitted lines, or None when they are (nearly) parallel.

    Cramer's rule on Python floats (the same values as ``np.linalg.solve`` within
    rounding): numpy's ``det`` and ``solve`` cost ~40 us a call in overhead, and every
    refinement pass intersects four sides.
    """
    ax, ay = float(a.direction[0]), float(a.direction[1])
    bx, by = float(b.direction[0]), float(b.direction[1])
    det = bx * ay - ax * by  # of [[ax, -bx], [ay, -by]]
    if abs(det) < 1e-6:
        return None
    px, py = float(b.point[0] - a.point[0]), float(b.point[1] - a.point[1])
    t = (bx * py - px * by) / det
    return np.array([float(a.point[0]) + t * ax, float(a.point[1]) + t * ay], dtype=np.float64)


def line_intersection(a: tuple[F64, F64], b: tuple[F64, F64]) -> F64:
    """Where the line through ``a``'s two points meets ``b``'s; NaNs when they are parallel."""
    da, db = a[1] - a[0], b[1] - b[0]
    mat = np.stack([da, -db], axis=1)
    if abs(float(np.linalg.det(mat))) < 1e-9:
        return np.full(2, np.nan)
    t = np.linalg.solve(mat, b[0] - a[0])
    return np.asarray(a[0] + t[0] * da, dtype=np.float64)
