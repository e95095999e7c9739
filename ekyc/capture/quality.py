"""Capture quality: sharpness, exposure, glare, noise and resolution of one image.

Every figure except resolution is measured on a copy whose longer side is
``QualityThresholds.working_side_px``, so the same scene photographed at 720p or 12 MP gets
the same sharpness and noise figures and one set of thresholds serves every camera.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.config import QualityThresholds
from ekyc.types import CardQuad, Check, Frame, QualityReport, RGBImage

__all__ = ["assess_quality", "glare_mask", "sharpness"]

# Immerkaer's noise kernel: the difference of two Laplacians, blind to linear ramps.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
_NOISE_KERNEL_NORM = 6.0  # L2 norm of the kernel
_MAD_TO_SIGMA = 1.4826  # median absolute deviation -> Gaussian sigma


def assess_quality(
    image: Frame | RGBImage,
    thresholds: QualityThresholds | None = None,
    region: CardQuad | npt.NDArray[np.float32] | None = None,
) -> QualityReport:
    """Measure an image's capture quality and judge each figure against its threshold.

    Args:
        image: A decoded ``Frame`` or an RGB uint8 image.
        thresholds: Limits; ``QualityThresholds()`` when omitted.
        region: Optional polygon (e.g. the card's corners, image pixels) in which glare is
            judged separately: glare on the card matters more than glare on the table.

    Returns:
        A ``QualityReport``; a failed check is a result, never an exception.

    Example:
        >>> import numpy as np
        >>> report = assess_quality(np.full((720, 1280, 3), 128, np.uint8))
        >>> report.sharpness.passed  # a flat grey frame has nothing in focus
        False
    """
    t = thresholds or QualityThresholds()
    rgb = image.image if isinstance(image, Frame) else image
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    scale = min(1.0, t.working_side_px / max(height, width))
    small = _resize(rgb, scale)
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    glare = glare_mask(small, t)
    report_region = region_sharp = None
    if region is not None:
        corners = region.corners if isinstance(region, CardQuad) else region
        report_region = Check(
            _masked_fraction(glare, corners * scale), t.max_glare_in_region_fraction, "max"
        )
        if len(corners) == 4:
            region_sharp = Check(_region_sharpness(rgb, corners), t.min_sharpness_in_region, "min")
    return QualityReport(
        sharpness=Check(sharpness(grey), t.min_sharpness, "min"),
        underexposure=Check(
            float(np.mean(grey < t.dark_level)), t.max_underexposed_fraction, "max"
        ),
        overexposure=Check(
            float(np.mean(grey > t.bright_level)), t.max_overexposed_fraction, "max"
        ),
        glare=Check(float(np.mean(glare)), t.max_glare_fraction, "max"),
        noise=Check(_noise_sigma(grey), t.max_noise_sigma, "max"),
        resolution=Check(float(min(height, width)), float(t.min_short_side_px), "min"),
        glare_in_region=report_region,
        sharpness_in_region=region_sharp,
    )


def glare_mask(rgb: RGBImage, thresholds: QualityThresholds | None = None) -> npt.NDArray[np.bool_]:
    """Specular highlights: saturated, colourless blobs, ignoring isolated bright pixels.

    White paper is bright too, but sits below the sensor's clipping level under normal
    exposure; a lamp's reflection clips every channel at once.
    """
    t = thresholds or QualityThresholds()
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]  # ~20x faster than .min(axis=2)
    lo = np.minimum(np.minimum(r, g), b)
    hi = np.maximum(np.maximum(r, g), b)
    mask = ((lo >= t.glare_level) & (hi - lo <= 12)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_area = t.min_glare_blob_fraction * mask.size
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return np.asarray(keep[labels], dtype=np.bool_)


def _resize(rgb: RGBImage, scale: float) -> RGBImage:
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def sharpness(grey: npt.NDArray[np.uint8]) -> float:
    """Laplacian energy over intensity variance: gain-invariant, falls fast with defocus.

    Measured as is; ``assess_quality`` first brings images to its working size so that the
    figure does not depend on resolution. The face gate uses it on aligned face crops.
    """
    g = grey.astype(np.float32) / 255.0
    variance = float(g.var())
    if variance < 1e-6:
        return 0.0
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    return float(np.mean(lap * lap)) / variance


def _region_sharpness(rgb: RGBImage, corners: npt.NDArray[np.float32]) -> float:
    """``sharpness`` of a card region warped to ID-1 at 5 px/mm (long side 428 px).

    Warped at 10 px/mm first and then area-averaged, so that a large card is not aliased
    into false sharpness; the longer pair of edges becomes the long side whatever the
    corner order. Corners are in the project convention (pixel corners at integers); a
    corner outside the frame is filled by replicating its edge, as ``rectify`` does.
    """
    pts = np.asarray(corners, dtype=np.float32).reshape(4, 2)
    edges = np.linalg.norm(pts - np.roll(pts, -1, axis=0), axis=1)
    landscape = edges[0] + edges[2] >= edges[1] + edges[3]
    w, h = (856, 540) if landscape else (540, 856)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - 0.5
    matrix = cv2.getPerspectiveTransform(pts - 0.5, dst)
    card = cv2.warpPerspective(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    grey = cv2.cvtColor(card, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return sharpness(np.asarray(small, dtype=np.uint8))


def _noise_sigma(grey: npt.NDArray[np.uint8]) -> float:
    """Robust Immerkaer estimate: the median ignores the minority of pixels on edges."""
    if min(grey.shape) < 3:
        return 0.0
    response = cv2.filter2D(
        grey.astype(np.float32), -1, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT
    )[1:-1, 1:-1]
    return float(_MAD_TO_SIGMA * np.median(np.abs(response)) / _NOISE_KERNEL_NORM)


def _masked_fraction(mask: npt.NDArray[np.bool_], polygon: npt.NDArray[np.float32]) -> float:
    region = np.zeros(mask.shape, dtype=np.uint8)
    cv2.fillPoly(region, [np.round(polygon).astype(np.int32)], (1,))
    area = int(region.sum())
    if area == 0:
        return 0.0
    fraction = float(np.count_nonzero(mask & (region > 0))) / area
    return fraction if math.isfinite(fraction) else 0.0
