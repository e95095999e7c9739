"""A learned candidate source for ``find_card``: the card's corners from a small CNN.

``card-corners/cornernet-s-anysize@1`` (``card-corners/cornernet-s@1``, trained by
``models/train_corners.py`` on the project's own synthetic scenes, its graph rewritten to
take any input size: ``train_corners.dynamic_graph``) maps the shot halved by
``cv2.pyrDown`` to 320 px wide (1280x720 -> 320x180, RGB) to three maps at
stride 4: a corner heatmap (one class, corners unordered), each corner's
sub-cell offset, and the card's mask. ``CornerProposer.propose`` takes the four strongest
heatmap peaks as the rough quad when the evidence is clear (four strong peaks, no fifth
near them, a convex quad that covers the predicted mask); ``find_card`` then refines,
finishes and reads it as it does its own choice, and keeps it only when its layout reads
``DetectConfig.proposal_confident`` or better (else the classical search runs as before).

The model is loaded through a registry: ``Verifier.from_registry`` loads it from its own
with the other models (``find_card(..., learned=proposer)``); other callers get the default
manifest's, loaded once per process with onnxruntime on one thread (``default_proposer``).
A missing file or one that differs from its sha256 raises, as for every other model.

It was trained on 16:9 landscape shots whose card spans 45-85 % of the frame's width. A
shot of another aspect (4:3, a card shot in portrait) is shrunk at its own aspect to 240 px
wide (``shrink``). A shot that would have to grow, or shorter than ``_MIN_CELLS`` cells,
gets no proposal. Selfies are searched without it (``ekyc.detect.back.SELFIE_LEARNED``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.candidates import clockwise
from ekyc.errors import ModelError
from ekyc.registry import Registry
from ekyc.types import Frame, ModelRef, RGBImage

__all__ = [
    "CORNER_MODEL",
    "CornerProposer",
    "Proposal",
    "cells_to_pixels",
    "corner_peaks",
    "default_proposer",
    "shrink",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
CORNER_MODEL = "card-corners/cornernet-s-anysize@1"

# Every one of the four corner peaks must reach this heat (a finger over a corner, a card
# cut by the border or a faint corner leaves a weaker fourth peak: no proposal) ...
PEAK_MIN = 0.35
# ... and a fifth peak (another card's corner, a rectangle in the background) must stay
# under this: which four corners belong together is then not the proposer's to say.
FIFTH_MAX = 0.2
# The quad must cover the predicted card mask (mask > 0.5) with this intersection over union.
MASK_IOU_MIN = 0.8
_PEAK_FLOOR = 0.05
# The shrunk shot's height in stride cells at least (a 320 px wide shot: 64 px).
_MIN_CELLS = 16
# A shot narrower than 16:9 (up to this slack) is shrunk to this share of the trained width.
_NARROW = 0.75
_ASPECT_SLACK = 0.02


@dataclass(frozen=True, slots=True)
class Proposal:
    """The rough quad (shot pixels, clockwise) and the evidence behind it.

    Attributes:
        corners: (4, 2) float64, clockwise on screen.
        peaks: The four corners' heat, strongest first.
        fifth: The next strongest peak's heat (0 when none).
        mask_iou: Intersection over union of the quad with the predicted mask.
    """

    corners: F64
    peaks: tuple[float, float, float, float]
    fifth: float
    mask_iou: float

    @property
    def clear(self) -> bool:
        """The evidence is clear enough to try the quad (see the module constants)."""
        return (
            self.peaks[3] >= PEAK_MIN and self.fifth < FIFTH_MAX and self.mask_iou >= MASK_IOU_MIN
        )


class CornerProposer:
    """Runs the corner model on a shot and decodes its maps (``propose``)."""

    def __init__(self, session: Any, input_name: str, width: int, stride: int,
                 model: ModelRef | None = None) -> None:  # fmt: skip
        self._session = session
        self._input = input_name
        self._width = width  # the trained input's width: every shot is shrunk to it
        self._stride = stride
        self.model = model
        """The model's id and sha256, for a verdict's list of the models it may have used."""

    @classmethod
    def from_registry(cls, registry: Registry, model_id: str = CORNER_MODEL) -> CornerProposer:
        """Load the model named by ``model_id`` (size and sha256 checked by the registry)."""
        spec = registry.spec(model_id)
        if spec.input is None or len(spec.input.shape) != 4 or spec.input.layout != "NHWC":
            raise ModelError(f"{model_id!r}: expected an NHWC input declaration", model_id=model_id)
        trained = spec.extra.get("trained_size")
        if not isinstance(trained, list) or len(trained) != 2:
            raise ModelError(f"{model_id!r}: expected trained_size = [width, height]",
                             model_id=model_id)  # fmt: skip
        stride = int(spec.extra.get("stride", 4))
        session = registry.session(model_id)
        return cls(session, spec.input.name, int(trained[0]), stride, spec.ref)

    def maps(self, image: Frame | RGBImage, half: RGBImage | None = None) -> F32 | None:
        """The model's (4, H/stride, W/stride) maps, or None for a shot it does not take.

        ``half``: the shot halved by ``cv2.pyrDown`` when the caller has it.
        """
        ran = self._run(image.image if isinstance(image, Frame) else image, half)
        return None if ran is None else ran[0]

    def propose(self, image: Frame | RGBImage, half: RGBImage | None = None) -> Proposal | None:
        """The four strongest corner peaks as a quad in shot pixels, or None.

        None: fewer than four peaks, a quad that is not convex, or a shot the model does
        not take.
        """
        rgb = image.image if isinstance(image, Frame) else image
        ran = self._run(rgb, half)
        if ran is None:
            return None
        out, scale = ran
        cells, values = corner_peaks(out, _PEAK_FLOOR, 5)
        if len(cells) < 4:
            return None
        centre = cells[:4].mean(axis=0)
        around = np.arctan2(cells[:4, 1] - centre[1], cells[:4, 0] - centre[0])
        quad = clockwise(cells[:4][np.argsort(around)])  # polygon order
        if not cv2.isContourConvex(np.round(quad * 16).astype(np.int32)):
            return None
        return Proposal(
            corners=cells_to_pixels(quad, self._stride, scale),
            peaks=(float(values[0]), float(values[1]), float(values[2]), float(values[3])),
            fifth=float(values[4]) if len(values) > 4 else 0.0,
            mask_iou=_mask_iou(quad, out[3]),
        )

    def _run(self, rgb: RGBImage, half: RGBImage | None) -> tuple[F32, F64] | None:
        """The maps and the shot's pixels per model pixel (x, y), or None (too small)."""
        shrunk = shrink(rgb, self._width, half)
        if shrunk is None:
            return None
        small, scale = shrunk
        out: F32 = self._session.run(None, {self._input: small.astype(np.float32)[None]})[0][0]
        return out, scale


def shrink(rgb: RGBImage, width: int, half: RGBImage | None = None) -> tuple[RGBImage, F64] | None:
    """The shot at its own aspect, ``width`` px wide (narrower than 16:9: 3/4 of it).

    pyrDown halvings, then an area resize: 1280x720 -> 320x180 (the training shots went
    through this: ``train_corners``), 4032x3024 -> 240x180, 720x1280 -> 240x427. A card
    spans about the same share of the width whatever the aspect; 3/4 of the trained width
    shows it at 3/4 of the trained size, which kept more cards, for less, than the trained
    width did (seeds 30000+, 60 scenes at 1600x1200: 15 of 19 flat genuine cards kept
    against 13, proposal 7.7 against 10.1 ms CPU; 60 at 720x1280, seeds 31000+: 9 of 21
    against 8, 16 against 24 ms; 9 applicants' 12 MP front and back shots, seeds 9100+: 9
    of 15 against 8, find_card CPU 2,020 against 2,251 ms in all).

    Returns the small image and the shot's pixels per small pixel on x and y; None for a
    shot that would have to grow, or whose small height is under ``_MIN_CELLS`` x 4 px.
    ``half``: the shot already halved by ``cv2.pyrDown``.
    """
    h, w = rgb.shape[:2]
    if not w or not h:
        return None
    wide = w * 9 >= h * 16 * (1.0 - _ASPECT_SLACK)
    narrow = width if wide else round(width * _NARROW)
    size = (narrow, round(h * narrow / w))
    if size[0] > w or size[1] < 4 * _MIN_CELLS:
        return None
    small = rgb if half is None or w < 2 * size[0] else half
    while small.shape[1] >= 2 * size[0]:
        small = np.asarray(cv2.pyrDown(small), dtype=np.uint8)
    if (small.shape[1], small.shape[0]) != size:
        small = np.asarray(cv2.resize(small, size, interpolation=cv2.INTER_AREA))
    return small, np.array([w / size[0], h / size[1]], np.float64)


def corner_peaks(maps: F32, floor: float, count: int) -> tuple[F64, F64]:
    """The heat's (``maps[0]``) strongest local maxima, up to ``count``, ``floor`` or more.

    Returns their positions in stride cells with the predicted sub-cell offsets (k, 2) and
    their heat (k,), strongest first. Shared with the training's watch
    (``models/train_corners.py``).
    """
    heat = maps[0]
    peaks = (heat == cv2.dilate(heat, np.ones((3, 3), np.float32))) & (heat >= floor)
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-heat[ys, xs], kind="stable")[:count]
    ys, xs = ys[order], xs[order]
    cells = np.stack([xs + maps[1, ys, xs], ys + maps[2, ys, xs]], 1).astype(np.float64)
    return cells.reshape(-1, 2), heat[ys, xs].astype(np.float64)


def cells_to_pixels(cells: F64, stride: int, scale: F64 | float = 1.0) -> F64:
    """Stride cells -> shot px: the inverse of the training labels' mapping.

    Cell -> model px (p = (c + 0.5) stride - 0.5) -> shot px (x = (p + 0.5) scale - 0.5);
    ``models/train_corners.py`` labels corners with the inverse (``targets``).
    """
    return np.asarray((cells + 0.5) * stride * scale - 0.5, np.float64)


def _mask_iou(quad_cells: F64, mask: F32) -> float:
    """IoU of the quad (stride cells) with the predicted mask above 0.5."""
    drawn = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(drawn, np.round(quad_cells * 16).astype(np.int32), (1,), cv2.LINE_8, 4)
    pred = mask > 0.5
    quad = drawn > 0
    union = int(np.count_nonzero(pred | quad))
    return float(np.count_nonzero(pred & quad)) / union if union else 0.0


@functools.cache
def default_proposer() -> CornerProposer:
    """The default manifest's proposer, loaded once per process (one onnxruntime thread).

    For callers without a registry of their own (``ekyc detect``, the benchmarks); a
    ``Verifier`` loads its own from the registry it was built with.

    Raises:
        ModelError: the model file is missing (``ModelNotFound``) or differs from the
            manifest's sha256 (``ChecksumMismatch``), as for every other model.
    """
    return CornerProposer.from_registry(Registry.from_manifest(threads=1))
