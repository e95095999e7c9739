"""Card-layout templates: the mean printed face of each document type and side.

Built by ``models/build_layouts.py`` from the project's own card generator and shipped
through the model registry (``card-layout/synth-mean@1``), checked by sha256 like any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.errors import ModelError
from ekyc.registry import Registry
from ekyc.types import DocumentType, ModelRef, RGBImage, Side

__all__ = ["DEFAULT_LAYOUT_MODEL", "CardLayouts", "band_pass", "layout_features"]

DEFAULT_LAYOUT_MODEL = "card-layout/synth-mean@1"
# In template pixels (0.5 mm each). The blur absorbs ~1 mm of corner error; subtracting a
# 3 mm blur (a high-pass) removes lighting gradients, shadows and vignetting. Chosen on 300
# synthetic scenes (seed 101): with the high-pass every class was right, with a margin of
# 0.37 at the 1st percentile; without it 4 were wrong and the margin fell to 0.
_BLUR_SIGMA_PX = 1.0
_HIGHPASS_SIGMA_PX = 6.0


@dataclass(frozen=True, slots=True, eq=False)
class CardLayouts:
    """Loaded layout templates.

    Attributes:
        templates: ``(classes, H, W, 3)`` float32 mean RGB in [0, 1], ID-1 geometry.
        personal: ``(classes, H, W)`` float32 in [0, 1]: how much each pixel varies from
            person to person (names, numbers, dates, the portrait); 0 on the fixed print.
        classes: ``(document type, side)`` of each template, in the same order.
        px_per_mm: Resolution of the templates.
        model: The registry entry they came from.
        features: ``layout_features`` of every template, computed once at load.
        oriented: ``(2 * classes, H * W * 3)``: every template's features flattened,
            upright then turned by 180 degrees (``classify_layout``'s one product).
    """

    templates: npt.NDArray[np.float32]
    personal: npt.NDArray[np.float32]
    classes: tuple[tuple[DocumentType, Side], ...]
    px_per_mm: float
    model: ModelRef
    features: npt.NDArray[np.float32] = field(init=False, repr=False)
    oriented: npt.NDArray[np.float32] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.templates.ndim != 4 or self.templates.shape[0] != len(self.classes):
            raise ValueError(
                f"templates {self.templates.shape} do not match {len(self.classes)} classes"
            )
        if self.personal.shape != self.templates.shape[:3]:
            raise ValueError(
                f"personal {self.personal.shape} does not match templates {self.templates.shape}"
            )
        size = (int(self.templates.shape[2]), int(self.templates.shape[1]))
        feats = np.stack([layout_features(t * 255.0, size) for t in self.templates])
        object.__setattr__(self, "features", feats)
        rows = [*(f.reshape(-1) for f in feats), *(f[::-1, ::-1].reshape(-1) for f in feats)]
        object.__setattr__(self, "oriented", np.ascontiguousarray(np.stack(rows)))

    @property
    def size_px(self) -> tuple[int, int]:
        """``(width, height)`` of one template."""
        return int(self.templates.shape[2]), int(self.templates.shape[1])

    def template(self, document_type: DocumentType, side: Side) -> npt.NDArray[np.float32]:
        """The mean layout of one class."""
        return np.asarray(self.templates[self.classes.index((document_type, side))])

    @classmethod
    def from_registry(cls, registry: Registry, model_id: str = DEFAULT_LAYOUT_MODEL) -> CardLayouts:
        """Load and check the templates named by ``model_id``."""
        spec = registry.spec(model_id)
        path = registry.path(model_id)
        stack = np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
        try:
            classes = tuple(
                (DocumentType(doc), Side(side))
                for doc, side in (str(name).split("/") for name in spec.extra["classes"])
            )
            px_per_mm = float(spec.extra["px_per_mm"])
        except (KeyError, ValueError) as exc:
            raise ModelError(
                f"{model_id!r}: manifest entry lacks valid classes/px_per_mm", model_id=model_id
            ) from exc
        if stack.ndim != 4 or stack.shape[3] != 4:
            raise ModelError(
                f"{model_id!r}: expected (classes, H, W, 4), got {stack.shape}", model_id=model_id
            )
        return cls(
            templates=stack[..., :3].copy(),
            personal=stack[..., 3].copy(),
            classes=classes,
            px_per_mm=px_per_mm,
            model=spec.ref,
        )


def band_pass(img: npt.NDArray[np.float32], scale: float = 1.0) -> npt.NDArray[np.float32]:
    """The templates' band-pass: fine noise blurred away, slow shading removed.

    ``scale`` is the image's pixels per template pixel (``ekyc.detect.align`` filters a
    canvas at another resolution with the same filter in card millimetres).
    """
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), _BLUR_SIGMA_PX * scale), np.float32)
    low = np.asarray(cv2.GaussianBlur(img, (0, 0), _HIGHPASS_SIGMA_PX * scale), np.float32)
    return np.asarray(img - low, dtype=np.float32)


def layout_features(
    card: RGBImage | npt.NDArray[np.float32], size_px: tuple[int, int], scale: float = 1.0
) -> npt.NDArray[np.float32]:
    """Resize to ``size_px``, band-pass, normalise each channel to zero mean, unit norm.

    ``scale`` is as ``band_pass``'s: ``size_px`` pixels per template pixel (the rough
    reads of ``ekyc.detect.coarse`` use the same features at 1 px/mm).
    """
    img = np.asarray(card, dtype=np.float32)
    if img.shape[1] != size_px[0] or img.shape[0] != size_px[1]:
        img = np.asarray(cv2.resize(img, size_px, interpolation=cv2.INTER_AREA), np.float32)
    img = band_pass(img, scale)
    img = img - np.asarray(cv2.mean(img)[:3], np.float32)  # numpy's strided mean: ~15x slower
    norms = np.sqrt(np.einsum("hwk,hwk->k", img, img))
    return np.asarray(img / np.maximum(norms, 1e-6), dtype=np.float32)
