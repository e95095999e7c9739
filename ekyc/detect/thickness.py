"""The card's side face: where the camera model expects it, and whether the image shows it.

A tilted ID-1 card shows its 0.76 mm side face as a thin band along the sides that face the
camera; a photocopy or a screen shows none there (the paper's or the display's own edge, if
any, lies elsewhere or is absent). The plane pose from the quad says which sides face the
camera and how wide their band should be; averaged colour profiles across each side say
whether a band of about that width is there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import line_intersection, sample_profiles
from ekyc.detect.plane import DIAGONAL_35MM

__all__ = ["EdgeBand", "expected_bands", "measure_edge_band", "side_face_widths"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_UNIT_SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
# A band must show in this many stretches of its side but one, each stretch's width
# within this many pixels (or 30 %) of the whole side's.
_PIECES = 4
_PIECE_AGREE_PX = 1.5


@dataclass(frozen=True, slots=True)
class EdgeBand:
    """The edge-band verdict for one shot.

    Attributes:
        visible: A band of the expected width was found on a side facing the camera, and
            no such band runs along the sides facing away (a printed margin would).
        width_px: Widest band measured on a side facing the camera (0 when none).
        expected_px: Per side, the band width the camera model predicts (0: side hidden).
        measured_px: Per side, the band width found (0: none).
    """

    visible: bool
    width_px: float
    expected_px: tuple[float, ...]
    measured_px: tuple[float, ...]


def expected_bands(
    corners: F32, image_size: tuple[int, int], f_px: float, config: DetectConfig
) -> list[float]:
    """Predicted side-face width (pixels) along each side; 0 where the side faces away.

    The quad's long side is taken to be ``config.card_long_side_mm``, which fixes the scale
    of the plane pose; the side face is the strip between each side and the same side
    moved ``card_thickness_mm`` away from the camera along the card's normal.
    """
    shifts, _ = _side_shifts(corners, image_size, f_px, config, (0.5,), 0.0)
    return [float(np.linalg.norm(v[0])) for v in shifts]


def side_face_widths(
    corners: F32 | F64, image_size: tuple[int, int], f_px: float, config: DetectConfig,
    at: tuple[float, ...] = (0.5,), inward_mm: float = 0.0,
) -> F64:  # fmt: skip
    """``(4, len(at))`` side-face widths across each side at fractions ``at`` along it.

    The width is measured along the side's image normal (what a profile across the side
    sees), 0 where the side face looks away from the camera. With ``inward_mm > 0`` it is
    instead, on every side, the width of a strip ``inward_mm`` wide on the card's face along
    that side (a printed margin), which a flat copy shows wherever it shows anything.
    """
    shifts, normals = _side_shifts(corners, image_size, f_px, config, at, inward_mm)
    return np.asarray(np.abs(np.einsum("skc,sc->sk", shifts, normals)), dtype=np.float64)


def _side_shifts(
    corners: F32 | F64, image_size: tuple[int, int], f_px: float, config: DetectConfig,
    at: tuple[float, ...], inward_mm: float,
) -> tuple[F64, F64]:  # fmt: skip
    """Per side, image displacements from points along it to the side face's far edge.

    ``(4, len(at), 2)`` (or, with ``inward_mm``, to that far inside the face), and the
    sides' unit image normals ``(4, 2)``.
    """
    k, pts, normal, centre = _card_in_camera(corners, image_size, f_px, config)
    shifts = np.zeros((4, len(at), 2))
    normals = np.zeros((4, 2))
    for i in range(4):
        p0, p1 = pts[i], pts[(i + 1) % 4]
        d = _project(k, p1) - _project(k, p0)
        normals[i] = np.array([d[1], -d[0]]) / max(float(np.linalg.norm(d)), 1e-12)
        mid = (p0 + p1) / 2
        outward = mid - centre
        outward -= (outward @ normal) * normal
        if inward_mm > 0:
            step = -outward / np.linalg.norm(outward) * inward_mm
        elif outward @ mid >= 0:  # the side face looks away from the camera
            continue
        else:
            step = -normal * config.card_thickness_mm
        for j, t in enumerate(at):
            point = p0 + t * (p1 - p0)
            shifts[i, j] = _project(k, point + step) - _project(k, point)
    return shifts, normals


def _card_in_camera(
    corners: F32 | F64, image_size: tuple[int, int], f_px: float, config: DetectConfig
) -> tuple[F64, F64, F64, F64]:
    """The quad as a card in camera space: ``(K, corners_mm, normal, centre)``.

    Its long side is ``config.card_long_side_mm``; the normal points towards the camera.
    """
    quad = np.asarray(corners, dtype=np.float64)
    w, h = image_size
    k = np.array([[f_px, 0, w / 2], [0, f_px, h / 2], [0, 0, 1.0]])
    hom = cv2.getPerspectiveTransform(_UNIT_SQUARE, quad.astype(np.float32)).astype(np.float64)
    m = np.linalg.inv(k) @ hom
    if m[2, 2] < 0:
        m = -m
    a, b, t = m[:, 0], m[:, 1], m[:, 2]
    mm = config.card_long_side_mm / max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
    pts = mm * (square[:, :1] * a + square[:, 1:] * b + t)  # corners in camera space, mm
    normal = np.cross(a, b)
    normal /= np.linalg.norm(normal)
    if normal @ pts.mean(axis=0) > 0:
        normal = -normal  # towards the camera
    return k, pts, normal, pts.mean(axis=0)


def _project(k: F64, point: F64) -> F64:
    p = k @ point
    return np.asarray(p[:2] / p[2], dtype=np.float64)


def measure_edge_band(
    image: npt.NDArray[np.uint8], corners: F32, focal_35mm: float, config: DetectConfig
) -> EdgeBand:
    """Look for the side face along each side of ``corners`` (the printed face's quad).

    Args:
        image: RGB uint8 image the quad was found in.
        corners: The quad, clockwise (any starting corner).
        focal_35mm: The camera's 35 mm-equivalent focal length.
        config: Band search reach, width tolerance and contrast.

    Returns:
        The verdict with its per-side evidence.
    """
    height, width = image.shape[:2]
    size = (width, height)
    f_px = focal_35mm * float(np.hypot(width, height)) / DIAGONAL_35MM
    expected = expected_bands(corners, size, f_px, config)
    if max(expected) < config.min_band_px:  # seen square-on: no side face can show
        return EdgeBand(False, 0.0, tuple(expected), (0.0,) * 4)
    full = image.astype(np.float32)
    quad = np.asarray(corners, dtype=np.float64)
    visible, measured = _judge(full, quad, expected, size, f_px, config, within=False)
    if not visible:
        # The quad may sit on the band's outer edge (the strongest edge across a side
        # facing the camera): put those sides on the printed face's edge, one band width
        # in, and look again. The band must then end on the quad's side, and the sides
        # facing away must show no margin inside either: a cut-out copy's sheet has one.
        inner = _inset(quad, size, f_px, config)
        if inner is not None:
            again = _judge(full, inner, expected, size, f_px, config, within=True)
            visible, measured = again if again[0] else (False, measured)
    near = [m for m, e in zip(measured, expected, strict=True) if e >= config.min_band_px]
    return EdgeBand(
        visible=visible,
        width_px=float(max(near, default=0.0)) if visible else 0.0,
        expected_px=tuple(round(e, 3) for e in expected),
        measured_px=tuple(round(m, 3) for m in measured),
    )


def _judge(
    full: F32, quad: F64, expected: list[float], size: tuple[int, int], f_px: float,
    config: DetectConfig, *, within: bool,
) -> tuple[bool, list[float]]:  # fmt: skip
    """Whether the thickness shows, and the band (or margin) measured along each side.

    With ``within``, ``quad``'s camera-facing sides were moved in by their band's width:
    each band must be about that wide, and the sides facing away are also probed for a
    margin inside the quad.
    """
    near = [i for i, e in enumerate(expected) if e >= config.min_band_px]
    hidden = [i for i, e in enumerate(expected) if e < config.min_band_px]
    tolerance = config.face_edge_veto_ratio if within else config.band_width_tolerance
    measured = [0.0] * 4
    for i in near:
        measured[i] = _band_at(
            full, quad[i], quad[(i + 1) % 4], expected[i], tolerance, config, face_edge=within
        )
    found = [i for i in near if measured[i] > 0]
    if not found:
        return False, measured
    # A copy's printed or cut margin runs along every side, the same distance in on the
    # card's face; a card's side face never shows on the sides facing away. Each hidden
    # side is probed for a strip as wide as the widest band found would be there if it
    # were such a margin: a strip of about that width is a margin, anything else there
    # (the table's texture, a shadow) is not.
    printed = side_face_widths(quad, size, f_px, config, inward_mm=1.0)[:, 0]
    widest = max(found, key=lambda k: measured[k])
    ratio = config.face_edge_veto_ratio
    margin_like = 0
    for j in hidden:
        expect = measured[widest] * float(printed[j]) / max(float(printed[widest]), 1e-9)
        p0, p1 = quad[j], quad[(j + 1) % 4]
        strip = _band_at(full, p0, p1, expect, ratio, config)
        if within and strip <= 0:
            strip = _band_at(full, p1, p0, expect, ratio, config)  # inside the quad
        measured[j] = strip
        margin_like += strip > 0
    return 2 * margin_like <= len(hidden) - (len(hidden) > 1), measured


def _inset(quad: F64, size: tuple[int, int], f_px: float, config: DetectConfig) -> F64 | None:
    """``quad`` with each camera-facing side moved in by its side face's width."""
    widths = side_face_widths(quad, size, f_px, config, at=(0.0, 1.0))
    lines = []
    for i in range(4):
        p0, p1 = quad[i], quad[(i + 1) % 4]
        d = (p1 - p0) / max(float(np.hypot(*(p1 - p0))), 1e-9)
        inward = np.array([-d[1], d[0]])
        lines.append((p0 + inward * widths[i, 0], p1 + inward * widths[i, 1]))
    corners = np.array([line_intersection(lines[i - 1], lines[i]) for i in range(4)])
    return corners if np.all(np.isfinite(corners)) else None


def _band_at(
    full: F32, p0: F64, p1: F64, width: float, tolerance: float, cfg: DetectConfig,
    face_edge: bool = False,
) -> float:  # fmt: skip
    """Measured width of a band ``width`` px wide (within ``tolerance`` times) outside the side.

    0 when there is none. The band must differ in colour from what lies beyond its outer
    edge, and a colour edge must close it within the width tolerance; with ``face_edge``
    (the side was moved in, off the strongest edge) an edge must also open it at the
    side, on the printed face's side of the band. It must also show,
    about as wide, in the median profile of all but one of ``_PIECES`` stretches of the
    side: a card's side face or a copy's cut edge runs straight along the whole side, the
    table's grain, a shadow or a printed line that ends midway does not; one stretch may
    be under a finger.
    """
    reach = width * tolerance + 5.0
    prof = sample_profiles(full, p0, p1, reach, cfg)
    if prof is None:
        return 0.0
    # The median over the side is robust to a finger over part of it.
    median = np.median(prof.colour, axis=0)
    edge = _band_in(median, prof.offsets, width, tolerance, cfg)
    if edge > 0 and face_edge and not _face_edge_at_zero(median, prof.offsets, edge, cfg):
        return 0.0
    if edge <= 0 or len(prof.colour) < 4 * _PIECES:
        return edge
    agree = 0
    for part in np.array_split(prof.colour, _PIECES):
        e = _band_in(np.median(part, axis=0), prof.offsets, width, tolerance, cfg)
        agree += e > 0 and abs(e - edge) <= max(_PIECE_AGREE_PX, 0.3 * edge)
    return edge if agree >= _PIECES - 1 else 0.0


def _face_edge_at_zero(mean: F32, offsets: F64, edge: float, cfg: DetectConfig) -> bool:
    """An edge at offset 0 (the printed face's), apart from the band's outer one at ``edge``.

    Its gradient peak rises above the valley between the two as the outer edge's must,
    and the face differs in colour from the band: without both, the "band" is only the
    face's own outermost strip.
    """
    step = cfg.profile_step_px
    smooth = cv2.GaussianBlur(mean[None], (0, 0), sigmaX=0.7 / step, sigmaY=1e-3)[0]
    grad = np.linalg.norm(np.diff(smooth, axis=0), axis=1) / step
    centres = offsets[:-1] + step / 2
    at_zero = float(grad[np.abs(centres) <= 1.0].max(initial=0.0))
    valley = float(grad[(centres > 1.0) & (centres < edge - 1.0)].min(initial=at_zero))
    face = _mean_between(smooth, offsets, -3.0, -1.0)
    band = _mean_between(smooth, offsets, 0.3 * edge, 0.7 * edge)
    return (
        at_zero >= cfg.band_peak_ratio * valley + 1.0
        and float(np.linalg.norm(face - band)) >= cfg.min_band_contrast
    )


def _band_in(mean: F32, offsets: F64, width: float, tolerance: float, cfg: DetectConfig) -> float:
    """The band's outer edge in one (median) colour profile, 0 when there is none."""
    step = cfg.profile_step_px
    smooth = cv2.GaussianBlur(mean[None], (0, 0), sigmaX=0.7 / step, sigmaY=1e-3)[0]
    grad = np.linalg.norm(np.diff(smooth, axis=0), axis=1) / step
    centres = offsets[:-1] + step / 2
    lo = max(cfg.min_band_px, width / tolerance)
    zone = (centres >= lo) & (centres <= width * tolerance)
    # The band's outer edge is a second peak: a local maximum standing clear of the valley
    # that separates it from the printed face's edge (a blurred face edge has no valley).
    peak = np.zeros_like(zone)
    peak[2:-2] = (
        (grad[2:-2] >= grad[1:-3]) & (grad[2:-2] >= grad[3:-1])
        & (grad[2:-2] > grad[:-4]) & (grad[2:-2] > grad[4:])
    )  # fmt: skip
    zone &= peak
    if not zone.any():
        return 0.0
    idx = np.flatnonzero(zone)[np.argmax(grad[zone])]
    edge = float(centres[idx])
    valley = float(grad[(centres > 0) & (centres < edge)].min(initial=float(grad[idx])))
    if grad[idx] < cfg.band_peak_ratio * valley + 1.0:
        return 0.0
    band = _mean_between(smooth, offsets, 0.3 * edge, 0.7 * edge)
    beyond = _mean_between(smooth, offsets, edge + 1.5, edge + 4.0)
    contrast = float(np.linalg.norm(band - beyond))
    return edge if contrast >= cfg.min_band_contrast else 0.0


def _mean_between(profile: F32, offsets: F64, a: float, b: float) -> F32:
    lo, hi = min(a, b), max(a, b)
    sel = (offsets >= lo) & (offsets <= hi)
    if not sel.any():
        sel = np.abs(offsets - (lo + hi) / 2) == np.abs(offsets - (lo + hi) / 2).min()
    return np.asarray(profile[sel].mean(axis=0), dtype=np.float32)
