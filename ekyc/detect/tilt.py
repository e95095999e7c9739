"""Tilt of the card from its quad, and whether its thickness shows: the tilted-shot check.

The image-based method asks for a shot of the
card at an angle that shows its thickness. The angle comes from the plane pose of the quad
(``ekyc.detect.plane``) with the camera's focal length: from EXIF FocalLengthIn35mmFilm when
present (diagonal convention, ``f_px = f35 * hypot(W, H) / 43.27``), otherwise from a
phone-camera prior (``DetectConfig.prior_focal_35mm``). The thickness comes from the edge
band (``ekyc.detect.thickness``); a flat reproduction has none, however it is tilted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import focal_px, plane_pose
from ekyc.detect.thickness import measure_edge_band
from ekyc.types import CaptureMetadata, CardQuad, QuadDetection, RGBImage, TiltCheck

__all__ = ["estimate_tilt"]


def estimate_tilt(
    quad: QuadDetection | CardQuad | npt.NDArray[np.float32],
    image_size: tuple[int, int],
    metadata: CaptureMetadata | None = None,
    config: DetectConfig | None = None,
    *,
    image: RGBImage | None = None,
) -> TiltCheck:
    """Judge a tilted shot: angle in the accepted band and the card's side face visible.

    Args:
        quad: The card's corners (any of the corner-carrying types), clockwise.
        image_size: ``(width, height)`` of the image the quad was found in.
        metadata: Capture metadata; its ``focal_length_35mm`` sets the camera model.
        config: Band limits and the focal-length prior; ``DetectConfig()`` when omitted.
        image: The RGB image, to look for the edge band. Without it the thickness is not
            measured and the check cannot pass.

    Returns:
        A ``TiltCheck``; ``tilt_deg`` is 90 when the quad admits no plane pose.

    Example:
        >>> import numpy as np
        >>> square_on = np.array([[440, 200], [840, 200], [840, 452], [440, 452]], np.float32)
        >>> round(estimate_tilt(square_on, (1280, 720)).tilt_deg, 1)
        0.0
    """
    cfg = config or DetectConfig()
    corners = _corners(quad)
    width, height = image_size
    if width < 1 or height < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    exif_focal = metadata.focal_length_35mm if metadata is not None else None
    focal_35mm = exif_focal if exif_focal is not None else cfg.prior_focal_35mm
    pose = plane_pose(corners, image_size, focal_px(image_size, focal_35mm))
    band_visible, band_px, blurred = False, 0.0, False
    if image is not None:
        if image.shape[:2] != (height, width):
            raise ValueError(f"image is {image.shape[1]}x{image.shape[0]}, image_size {image_size}")
        band = measure_edge_band(image, corners, focal_35mm, cfg)
        band_visible, band_px, blurred = band.visible, band.width_px, band.blurred
    return TiltCheck(
        tilt_deg=pose.tilt_deg if pose is not None else 90.0,
        min_tilt_deg=cfg.min_tilt_deg,
        max_tilt_deg=cfg.max_tilt_deg,
        thickness_visible=band_visible,
        edge_band_px=band_px,
        focal_length_source="exif" if exif_focal is not None else "prior",
        edge_blurred=blurred,
    )


def _corners(quad: QuadDetection | CardQuad | npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    if isinstance(quad, QuadDetection):
        return quad.quad.corners
    if isinstance(quad, CardQuad):
        return quad.corners
    arr = np.asarray(quad, dtype=np.float32)
    if arr.shape != (4, 2) or not np.all(np.isfinite(arr)):
        raise ValueError(f"quad must be 4 finite (x, y) corners, got shape {arr.shape}")
    return arr
