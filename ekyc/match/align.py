"""Alignment: warp a face so its five landmarks land on an embedder's own template.

Why: an embedder only gives comparable descriptors for faces framed the way it was trained.
SFace (ArcFace family) wants the 112x112 five-point ArcFace crop; dlib's ResNet wants dlib's
150 px face chip with 25 % padding. The manifest names the template per model (``alignment``
in the input spec); this module holds the templates and one pure warp function.

Convention: landmarks and templates are ``(x, y)`` in the project convention (origin at the
top-left corner of the top-left pixel, see ``ekyc.types``), in the order of
``FaceDetection.landmarks``. OpenCV's warp treats pixel centres as integers; ``align_face``
shifts by half a pixel on both sides so the convention holds exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ekyc.types import RGBImage

__all__ = [
    "TEMPLATES",
    "Template",
    "align_face",
    "realign",
    "similarity_transform",
    "warp_affine",
]


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """Where the five landmarks go in an aligned crop of ``size`` x ``size`` pixels."""

    name: str
    size: int
    points: npt.NDArray[np.float32]  # (5, 2)

    def __post_init__(self) -> None:
        if self.points.shape != (5, 2) or self.size < 1:
            raise ValueError(f"template needs (5, 2) points and size >= 1, got {self.points.shape}")


def _dlib_chip_points() -> npt.NDArray[np.float32]:
    """Dlib's 150 px chip, padding 0.25, from dlib's own mean face (get_face_chip_details).

    Eye centres are the means of dlib's six eye-contour points (36-41, 42-47); nose tip is
    point 30, mouth corners 48 and 54. dlib places mean-face point p at
    ``(padding + p) / (1 + 2 padding) * size`` with pixel centres at integers; + 0.5 moves it
    to the project convention.
    """
    eye_l = np.array([[0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743],
                      [0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077]])  # fmt: skip
    eye_r = np.array([[0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335],
                      [0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099]])  # fmt: skip
    unit = np.array(
        [
            eye_l.mean(axis=1),
            eye_r.mean(axis=1),
            (0.490127, 0.515625),
            (0.254149, 0.780233),
            (0.726104, 0.780233),
        ]
    )
    padding, size = 0.25, 150
    return ((padding + unit) / (1 + 2 * padding) * size + 0.5).astype(np.float32)


# insightface's arcface_dst (utils/face_align.py), the template SFace was trained with.
_ARCFACE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)

TEMPLATES: dict[str, Template] = {
    "arcface-5pt-112": Template("arcface-5pt-112", 112, _ARCFACE),
    "dlib-chip-150-pad0.25": Template("dlib-chip-150-pad0.25", 150, _dlib_chip_points()),
}
"""Alignment templates by the name the manifest's ``input.alignment`` uses."""


def similarity_transform(
    src: npt.NDArray[np.float32], dst: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, shift) taking ``src`` onto ``dst``.

    Umeyama's closed form; no RANSAC, since five good landmarks have no outliers to reject
    and a deterministic answer keeps alignment reproducible.

    Returns:
        The ``(2, 3)`` matrix ``M`` with ``dst ~ M @ [x, y, 1]``.
    """
    src64, dst64 = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src64.shape != dst64.shape or src64.ndim != 2 or src64.shape[1] != 2:
        raise ValueError(f"points must be matching (N, 2) arrays, got {src.shape}, {dst.shape}")
    mu_s, mu_d = src64.mean(axis=0), dst64.mean(axis=0)
    s, d = src64 - mu_s, dst64 - mu_d
    cov = d.T @ s / len(src64)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)])
    rot = u @ fix @ vt
    var = float((s**2).sum() / len(src64))
    if var == 0:
        raise ValueError("landmarks are all in one place")
    scale = float(np.trace(np.diag(sig) @ fix)) / var
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def _template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        known = sorted(TEMPLATES)
        raise ValueError(f"unknown alignment template {name!r}; known: {known}") from None


def warp_affine(
    image: RGBImage, matrix: npt.NDArray[np.float64], size: int, *, replicate: bool = False
) -> RGBImage:
    """``image`` under ``matrix`` (pixel corners at integers) as a ``size``-px square.

    Outside pixels are black, or the nearest edge's with ``replicate``.
    """
    import cv2

    # Project convention (corner origin) -> OpenCV's (integer centres): M'(p) = M(p + .5) - .5
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ np.array([0.5, 0.5]) - 0.5
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    out = cv2.warpAffine(
        image, shifted, (size, size), flags=cv2.INTER_LINEAR, borderMode=border,
        borderValue=(0, 0, 0),
    )  # fmt: skip
    return np.ascontiguousarray(out, dtype=np.uint8)


def align_face(image: RGBImage, landmarks: npt.NDArray[np.float32], template: str) -> RGBImage:
    """The face warped onto ``template`` (a name in ``TEMPLATES``): ``(size, size, 3)`` RGB.

    Pixels from outside the image are black, as in dlib's chips and insightface's crops.
    """
    tpl = _template(template)
    return warp_affine(image, similarity_transform(landmarks, tpl.points), tpl.size)


@functools.lru_cache(maxsize=32)
def _between(source: str, side: int, target: str) -> npt.NDArray[np.float64]:
    points = _template(source).points * np.float32(side / _template(source).size)
    matrix = similarity_transform(points, _template(target).points)
    matrix.flags.writeable = False
    return matrix


def realign(crop: RGBImage, source: str, target: str) -> RGBImage:
    """A crop aligned to ``source`` (at any square size) warped onto ``target``.

    The same pixels as ``align_face(crop, source points scaled to the crop, target)``; the
    fixed transform between two templates is computed once per crop size.
    """
    side = int(np.asarray(crop).shape[1])
    return warp_affine(crop, _between(source, side, target), _template(target).size)
