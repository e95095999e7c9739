"""Warp a card's printed face to a fixed, fronto-parallel resolution."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.types import CardQuad, Frame, RectifiedCard, RGBImage

__all__ = ["ID1_SIZE_MM", "card_homography", "rectify"]

ID1_SIZE_MM = (85.60, 53.98)
_SHIFT = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
_UNSHIFT = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)


def card_homography(
    corners: npt.NDArray[np.float32], size_px: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """The homography taking image points to card points, both in our pixel convention.

    The card's TL corner maps to ``(0, 0)`` and its BR corner to ``size_px`` (W, H): pixel
    *edges*, as in ``ekyc.types``, not OpenCV's pixel centres.
    """
    width, height = size_px
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    return np.asarray(
        cv2.getPerspectiveTransform(corners.astype(np.float32), dst), dtype=np.float64
    )


def rectify(
    image: Frame | RGBImage,
    quad: CardQuad,
    *,
    px_per_mm: float = 10.0,
    size_mm: tuple[float, float] = ID1_SIZE_MM,
) -> RectifiedCard:
    """Warp the quad's inside to ``size_mm * px_per_mm`` pixels, upright.

    Args:
        image: The shot (RGB) the quad was found in.
        quad: Corners TL, TR, BR, BL of the upright card in that shot.
        px_per_mm: Output resolution; 10 px/mm makes an ID-1 card 856 x 540 pixels. The
            warp samples bilinearly: for a much smaller output, rectify larger and shrink
            with ``cv2.INTER_AREA`` to avoid aliasing.
        size_mm: The document's physical size (ID-1 by default).

    Example:
        >>> import numpy as np
        >>> from ekyc.types import CardQuad
        >>> corners = np.array([[10, 10], [95.6, 10], [95.6, 63.98], [10, 63.98]], np.float32)
        >>> rectify(np.zeros((80, 120, 3), np.uint8), CardQuad(corners, 1.0),
        ...         px_per_mm=1.0).image.shape
        (54, 86, 3)
    """
    rgb = image.image if isinstance(image, Frame) else image
    size_px = (round(size_mm[0] * px_per_mm), round(size_mm[1] * px_per_mm))
    homography = card_homography(quad.corners, size_px)
    # OpenCV samples at pixel centres: conjugate by the half-pixel shift.
    warped = cv2.warpPerspective(
        rgb,
        _UNSHIFT @ homography @ _SHIFT,
        size_px,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return RectifiedCard(
        image=np.asarray(warped, dtype=np.uint8),
        px_per_mm=px_per_mm,
        homography=homography,
        quad=quad,
    )
