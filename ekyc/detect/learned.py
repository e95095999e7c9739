"""A learned candidate source for ``find_card``: the card's corners from a small CNN.

``card-corners/cornernet-s@1`` (``models/train_corners.py``: trained on the project's own
synthetic scenes) maps the shot halved twice by ``cv2.pyrDown`` (1280x720 -> 320x180, RGB)
to three maps at stride 4: a corner heatmap (one class, corners unordered), each corner's
sub-cell offset, and the card's mask. ``CornerProposer.propose`` takes the four strongest
heatmap peaks as the rough quad when the evidence is clear (four strong peaks, no fifth
near them, a convex quad that covers the predicted mask); ``find_card`` then refines,
finishes and reads it as it does its own choice, and keeps it only when its layout reads
``DetectConfig.layout_confident`` or better (else the classical search runs as before).

The model is loaded lazily through the registry (``default_proposer``), once per
process, with onnxruntime on one thread. A shot whose aspect is not 16:9 (or under
320x180) gets no proposal.
"""

from __future__ import annotations

import functools
import logging
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
    "default_proposer",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
CORNER_MODEL = "card-corners/cornernet-s@1"
_log = logging.getLogger(__name__)

# Every one of the four corner peaks must reach this heat (a finger over a corner, a card
# cut by the border or a faint corner leaves a weaker fourth peak: no proposal) ...
PEAK_MIN = 0.35
# ... and a fifth peak (another card's corner, a rectangle in the background) must stay
# under this: which four corners belong together is then not the proposer's to say.
FIFTH_MAX = 0.2
# The quad must cover the predicted card mask (mask > 0.5) with this intersection over union.
MASK_IOU_MIN = 0.8
_PEAK_FLOOR = 0.05


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

    def __init__(self, session: Any, input_name: str, size: tuple[int, int], stride: int,
                 model: ModelRef | None = None) -> None:  # fmt: skip
        self._session = session
        self._input = input_name
        self._size = size  # (width, height) of the model's input
        self._stride = stride
        self.model = model
        """The model's id and sha256, for a verdict's list of the models it may have used."""

    @classmethod
    def from_registry(cls, registry: Registry, model_id: str = CORNER_MODEL) -> CornerProposer:
        """Load the model named by ``model_id`` (size and sha256 checked by the registry)."""
        spec = registry.spec(model_id)
        if spec.input is None or len(spec.input.shape) != 4 or spec.input.layout != "NHWC":
            raise ModelError(f"{model_id!r}: expected an NHWC input declaration", model_id=model_id)
        _, height, width, _ = spec.input.shape
        stride = int(spec.extra.get("stride", 4))
        session = registry.session(model_id)
        return cls(session, spec.input.name, (int(width), int(height)), stride, spec.ref)

    def maps(self, image: Frame | RGBImage, half: RGBImage | None = None) -> F32 | None:
        """The model's (4, H/stride, W/stride) maps, or None for a shot it does not take.

        ``half``: the shot halved by ``cv2.pyrDown`` when the caller has it.
        """
        rgb = image.image if isinstance(image, Frame) else image
        small = self._shrink(rgb, half)
        if small is None:
            return None
        x = small.astype(np.float32)[None]
        out: F32 = self._session.run(None, {self._input: x})[0][0]
        return out

    def propose(self, image: Frame | RGBImage, half: RGBImage | None = None) -> Proposal | None:
        """The four strongest corner peaks as a quad in shot pixels, or None.

        None: fewer than four peaks, a quad that is not convex, or a shot the model does
        not take.
        """
        rgb = image.image if isinstance(image, Frame) else image
        out = self.maps(rgb, half)
        if out is None:
            return None
        heat = out[0]
        peaks = (heat == cv2.dilate(heat, np.ones((3, 3), np.float32))) & (heat >= _PEAK_FLOOR)
        ys, xs = np.nonzero(peaks)
        if len(xs) < 4:
            return None
        order = np.argsort(-heat[ys, xs], kind="stable")[:5]
        ys, xs = ys[order], xs[order]
        values = heat[ys, xs].astype(np.float64)
        s = self._stride
        cells = np.stack([xs[:4] + out[1, ys[:4], xs[:4]], ys[:4] + out[2, ys[:4], xs[:4]]], 1)
        centre = cells.mean(axis=0)
        around = np.arctan2(cells[:, 1] - centre[1], cells[:, 0] - centre[0])
        quad = clockwise(cells[np.argsort(around)].astype(np.float64))  # polygon order
        if not cv2.isContourConvex(np.round(quad * 16).astype(np.int32)):
            return None
        mask_iou = _mask_iou(quad, out[3])
        scale = rgb.shape[1] / self._size[0]
        # cell -> model px (p = (c + 0.5) s - 0.5) -> shot px (x = (p + 0.5) scale - 0.5), the
        # inverse of the training labels' mapping (``models/train_corners.py``)
        corners = (quad + 0.5) * s * scale - 0.5
        return Proposal(
            corners=corners,
            peaks=(float(values[0]), float(values[1]), float(values[2]), float(values[3])),
            fifth=float(values[4]) if len(values) > 4 else 0.0,
            mask_iou=mask_iou,
        )

    def _shrink(self, rgb: RGBImage, half: RGBImage | None) -> RGBImage | None:
        """The shot at the model's input size: pyrDown halvings, then an area resize."""
        width, height = self._size
        h, w = rgb.shape[:2]
        if w < width or h < height or abs(w * height - h * width) > 0.02 * w * height:
            return None
        small = rgb if half is None or w < 2 * width else half
        while small.shape[1] >= 2 * width:
            small = np.asarray(cv2.pyrDown(small), dtype=np.uint8)
        if small.shape[1] != width or small.shape[0] != height:
            small = np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_AREA))
        return small


def _mask_iou(quad_cells: F64, mask: F32) -> float:
    """IoU of the quad (stride cells) with the predicted mask above 0.5."""
    drawn = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(drawn, np.round(quad_cells * 16).astype(np.int32), (1,), cv2.LINE_8, 4)
    pred = mask > 0.5
    quad = drawn > 0
    union = int(np.count_nonzero(pred | quad))
    return float(np.count_nonzero(pred & quad)) / union if union else 0.0


@functools.cache
def default_proposer() -> CornerProposer | None:
    """The shipped proposer, loaded once per process (one onnxruntime thread), or None.

    None (logged once) when its file is missing or does not match the manifest:
    ``find_card`` then runs the classical search alone.
    """
    try:
        return CornerProposer.from_registry(Registry.from_manifest(threads=1))
    except ModelError as exc:
        _log.warning("learned corner proposals off: %s", exc)
        return None
