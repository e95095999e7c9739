"""Put the quad on the printed face's edge where the card's side face shows beside it.

A card tilted towards the camera shows its 0.76 mm side face as a band a few pixels wide
along the sides that face the camera. The strongest edge across such a side is often the
band's *outer* edge (side face against the table) rather than the printed face's edge, so
the line fit of ``ekyc.detect.edges`` lands on the wrong one of two parallel edges; the
tilt then comes out a little off and the thickness check (``ekyc.detect.thickness``), which
looks for the band *outside* the quad, finds none.

Across each side the median colour profile is fitted with one blurred step (a single
edge) and with two parallel steps ``w`` pixels apart (face, band, background). Where the
camera model predicts a side face (``thickness.expected_bands``) and two steps fit clearly
better with ``w`` in the predicted range, the side moves to the inner step. A printed
copy shows the same two-step profile when something printed runs near the card image's
edge, or when a cut-out leaves a paper margin, but it shows it along the sides facing away
from the camera too, where a card's side face never shows: then no side moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import line_intersection, median_profile, sample_profiles
from ekyc.detect.steps import blurred_step as _step
from ekyc.detect.steps import fit_one as _fit1
from ekyc.detect.steps import fit_two as _fit2
from ekyc.detect.thickness import side_face_widths

__all__ = ["FaceEdges", "StepFit", "face_edge_quad", "fit_steps"]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

_SIGMAS = np.array([0.5, 0.8, 1.2, 1.8])  # blur of each of two steps, pixels
# One step gets a fine blur grid: a single edge blurred between two of ``_SIGMAS`` must not
# look like two steps because one step cannot match its blur.
_SIGMAS_ONE = np.geomspace(0.35, 4.0, 24)
_GRID_PX = 0.25  # step of the edge-position grid
# Coarse two-step grid rows x profile samples per fit before the grid coarsens: ~2.5x the
# largest seen on 120 scenes at 1280x720 (0.21 M) and on 24 shots of 12 MP (16:9) decoded
# to 2016 px (1.22 M); a fit at the budget costs ~0.1 s.
_COARSE_BUDGET = 3_000_000


@dataclass(frozen=True, slots=True)
class StepFit:
    """The two-step fit of one side's median colour profile.

    Attributes:
        inner: Offset of the inner step along the outward normal, pixels (0: the side).
        outer: Offset of the outer step.
        gain: Residual of the best single step over that of the two steps (>= 1).
        contrast: The smaller colour change of the two steps (RGB distance).
        sigma: The blur of the two steps, pixels.
    """

    inner: float
    outer: float
    gain: float
    contrast: float
    sigma: float

    @property
    def width(self) -> float:
        """Distance between the two steps, pixels."""
        return self.outer - self.inner


@dataclass(frozen=True, slots=True)
class FaceEdges:
    """What ``face_edge_quad`` did to a quad.

    Attributes:
        corners: The quad with its camera-facing sides on the printed face's edge.
        moved_px: Per side, how far it moved inwards (0: not moved).
        vetoed: A side would have moved, but the sides facing away show the same kind of
            second edge (printed, or a copy's margin), so none did.
    """

    corners: F64
    moved_px: tuple[float, float, float, float]
    vetoed: bool


def face_edge_quad(
    image: F32 | U8, quad: F64, image_size: tuple[int, int], f_px: float,
    config: DetectConfig, origin: F64 | None = None,
) -> FaceEdges:  # fmt: skip
    """Move each camera-facing side of ``quad`` inwards onto the printed face's edge.

    Args:
        image: Float32 RGB image, or the uint8 shot (sampled near the sides only); or a
            crop of either (see ``origin``).
        quad: Clockwise corners in ``image`` pixels, fitted to the strongest edges.
        image_size: ``(width, height)`` of the whole image (the camera model's frame).
        f_px: Focal length in pixels.
        config: Band width tolerance, contrast and the step-fit gain.
        origin: Where ``image`` starts in the whole image (a crop), ``(0, 0)`` by default.

    Returns:
        The corrected quad (unchanged unless some side moved) and what moved.
    """
    off = np.zeros(2) if origin is None else np.asarray(origin, dtype=np.float64)
    quad = np.asarray(quad, dtype=np.float64)
    unchanged = FaceEdges(quad, (0.0, 0.0, 0.0, 0.0), vetoed=False)
    whole = quad + off
    widths = side_face_widths(whole, image_size, f_px, config, at=(0.0, 0.5, 1.0))
    mid = widths[:, 1]
    tol = config.band_width_tolerance
    moves: dict[int, tuple[float, float]] = {}
    for i in np.flatnonzero(mid >= config.min_band_px):
        e = float(mid[i])
        span = (max(config.min_band_px, e / tol), e * tol)
        fit = _side_fit(image, quad, int(i), span, config)
        if _is_band(fit, span, config) and fit is not None and fit.inner <= -config.min_band_px:
            moves[int(i)] = (fit.inner, fit.width)
    if not moves:
        return unchanged
    # A copy's printed rule or paper margin runs along every side at the same distance on
    # the card's face; a side face never shows on the sides that face away.
    printed = side_face_widths(whole, image_size, f_px, config, inward_mm=1.0)[:, 0]
    for j in np.flatnonzero(mid < config.min_band_px):
        for i, (_, width) in moves.items():
            expect = width * printed[j] / max(float(printed[i]), 1e-9)
            ratio = config.face_edge_veto_ratio
            span = (max(config.min_band_px / 2, expect / ratio), expect * ratio)
            fit = _side_fit(image, quad, int(j), span, config)
            # A best width on the span's limit still vetoes: something printed lies there.
            if (
                _is_band(fit, span, config, inside=False)
                and fit is not None
                and (fit.inner <= -span[0] / 2)
            ):
                return FaceEdges(quad, (0.0, 0.0, 0.0, 0.0), vetoed=True)
    lines = []
    moved = [0.0, 0.0, 0.0, 0.0]
    for i in range(4):
        p0, p1 = quad[i], quad[(i + 1) % 4]
        if i in moves:
            inner = moves[i][0]
            normal = _outward(p0, p1)
            scale = widths[i] / max(float(mid[i]), 1e-9)  # the band widens towards the camera
            p0 = p0 + normal * inner * scale[0]
            p1 = p1 + normal * inner * scale[2]
            moved[i] = -inner
        lines.append((p0, p1))
    corners = np.array([line_intersection(lines[i - 1], lines[i]) for i in range(4)])
    if not np.all(np.isfinite(corners)):
        return unchanged
    return FaceEdges(corners, (moved[0], moved[1], moved[2], moved[3]), vetoed=False)


def _side_fit(
    image: F32 | U8, quad: F64, i: int, widths: tuple[float, float], config: DetectConfig
) -> StepFit | None:
    reach = widths[1] + 3.0
    prof = sample_profiles(image, quad[i], quad[(i + 1) % 4], reach, config)
    if prof is None:
        return None
    # The median over the side ignores text, a finger or glare over part of it.
    return fit_steps(prof.offsets, median_profile(prof.colour), widths)


def _is_band(
    fit: StepFit | None, span: tuple[float, float], config: DetectConfig, inside: bool = True
) -> bool:
    """Two steps explain the profile clearly better than one, at a width within ``span``.

    With ``inside``, a best width on the span's limit does not count: the second edge then
    lies beyond it (or is a seam narrower than it), not at the width looked for.
    """
    margin = _GRID_PX / 2 if inside else -1e-9
    return (
        fit is not None
        and fit.gain >= config.face_edge_gain
        and fit.contrast >= config.min_band_contrast
        and span[0] + margin < fit.width < span[1] - margin
    )


def _outward(p0: F64, p1: F64) -> F64:
    d = (p1 - p0) / max(float(np.hypot(*(p1 - p0))), 1e-9)
    return np.array([d[1], -d[0]])


def fit_steps(
    offsets: F64, colour: F32, widths: tuple[float, float], reach: float = 1.5
) -> StepFit | None:
    """Fit one step and two parallel steps to a colour profile across an edge.

    Args:
        offsets: ``(m,)`` sample positions along the outward normal, pixels.
        colour: ``(m, 3)`` colour at each offset (a median over many profiles).
        widths: The range of distances between the two steps to consider.
        reach: The steps must straddle offset 0 to within this many pixels: the profile is
            centred on the strongest edge, which is one of the two or lies between them.

    Returns:
        The best two-step fit, or None when the profile is too short for the widths.
    """
    x = np.asarray(offsets, dtype=np.float64)
    y = np.asarray(colour, dtype=np.float64)
    lo_w, hi_w = widths
    if hi_w < lo_w or x[-1] - x[0] < hi_w + 2.0:
        return None
    # One step anywhere within +-reach, every blur.
    centre = np.arange(-reach, reach + 1e-9, _GRID_PX / 2)
    sig1 = np.repeat(_SIGMAS_ONE, len(centre))
    one = _fit1(y, _step(x, np.tile(centre, len(_SIGMAS_ONE))[:, None], sig1[:, None]))
    # Two steps: a coarse grid, then a fine one around its best. The coarse grid's cost
    # grows with the cube of the widest band (positions x widths x samples): a degenerate
    # quad on a 12 MP selfie expected a 72 px band and took 1.5 s. Past a budget the grid
    # coarsens; bands of the usual widths keep the 0.5 px grid (the same fits as before).
    step = 2 * _GRID_PX
    coarse = _pairs(-(hi_w + reach), reach, lo_w, hi_w, reach, step)
    excess = len(coarse[0]) * len(x) / _COARSE_BUDGET
    if excess > 1.0:
        step *= float(np.sqrt(excess))
        coarse = _pairs(-(hi_w + reach), reach, lo_w, hi_w, reach, step)
    best = _best_pair(x, y, coarse)
    inner, width, sigma = best[0]
    fine = _pairs(
        inner - step,
        inner + step,
        max(lo_w, width - step),
        min(hi_w, width + step),
        reach,
        _GRID_PX / 2,
        sigmas=(sigma,),
    )
    (inner, width, sigma), rss2, contrast = _best_pair(x, y, fine) if len(fine[0]) else best
    return StepFit(
        inner=inner,
        outer=inner + width,
        gain=float(one.min() / max(rss2, 1e-9)),
        contrast=contrast,
        sigma=sigma,
    )


def _pairs(
    inner_lo: float, inner_hi: float, lo_w: float, hi_w: float, reach: float, step: float,
    sigmas: tuple[float, ...] | F64 = _SIGMAS,
) -> tuple[F64, F64, F64]:  # fmt: skip
    """Grid of (inner, width, sigma) whose steps straddle 0 to within ``reach``."""
    inner = np.arange(inner_lo, inner_hi + 1e-9, step)
    width = np.arange(lo_w, hi_w + 1e-9, step)
    ii, ww = (a.ravel() for a in np.meshgrid(inner, width, indexing="ij"))
    ok = (ii <= reach) & (ii + ww >= -reach)
    ii, ww = ii[ok], ww[ok]
    sig = np.asarray(sigmas, dtype=np.float64)
    return np.tile(ii, len(sig)), np.tile(ww, len(sig)), np.repeat(sig, len(ii))


def _best_pair(
    x: F64, y: F64, grid: tuple[F64, F64, F64]
) -> tuple[tuple[float, float, float], float, float]:
    inner, width, sigma = grid
    b1, b2 = _grid_steps(x, (inner, inner + width), sigma)
    rss, c1, c2 = _fit2(y, b1, b2)
    i = int(np.argmin(rss))
    contrast = min(float(np.linalg.norm(c1[i])), float(np.linalg.norm(c2[i])))
    return (float(inner[i]), float(width[i]), float(sigma[i])), float(rss[i]), contrast


def _grid_steps(x: F64, centres: tuple[F64, F64], sigma: F64) -> tuple[F64, F64]:
    """``_step(x, c, sigma)`` for each centre array, one row per grid point.

    The grid repeats each (centre, sigma) many times (the inner step of one pair is the
    outer step of another): each distinct one is computed once and the rows gathered,
    the same floats as row by row (the step is elementwise) at ~1/10 of the cost.
    """
    n = len(sigma)
    # (centre, sigma) as one complex key: numpy's row-wise ``unique(axis=0)`` sorts a
    # structured view, ~10x slower than a complex sort (real part, then imaginary).
    keys = np.empty(2 * n, np.complex128)
    keys.real = np.concatenate(centres)
    keys.imag = np.concatenate([sigma, sigma])
    distinct, index = np.unique(keys, return_inverse=True)
    table = _step(x, distinct.real[:, None], distinct.imag[:, None])
    return table[index[:n]], table[index[n:]]
