"""Rough layout reads at 1 px/mm: which of many candidate quads come near the best one.

``find_card`` reads the layout inside up to ten quads per shot (the detector's choice and
its runners-up) only to learn which ones deserve a full read. A full read warps the quad
at 8 px/mm and band-passes a 171 x 108 image (~6 ms); a rough one here costs ~0.6 ms:
the shot is halved once (``cv2.pyrDown``, shared by every read of the shot), each quad
is warped from the half-size copy at 2 px/mm and box-averaged 2x to 1 px/mm, the same 2x
oversampling against aliasing as a full read, and correlated with the templates reduced
to 1 px/mm and band-passed with the same filter in card millimetres. Scores are only
compared with one another (and with the same rough read of the first choice), never
with the full reads' scores.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.classify import LayoutMatch, layout_decision
from ekyc.detect.layouts import CardLayouts, layout_features
from ekyc.detect.rectify import rectify
from ekyc.types import CardQuad, Frame, RGBImage

__all__ = ["CoarseReader"]

F32 = npt.NDArray[np.float32]
_PX_PER_MM = 1.0  # resolution of a rough read
_SIZE = (86, 54)  # ID-1 at 1 px/mm, even-sized at 2x (an integer box average is fast)
_REFS: dict[int, tuple[CardLayouts, F32]] = {}


class CoarseReader:
    """Rough layout reads of quads in one shot (``classify_layout``'s rule at 1 px/mm).

    Example:
        >>> import numpy as np
        >>> from ekyc.detect import CardLayouts
        >>> from ekyc.registry import Registry
        >>> layouts = CardLayouts.from_registry(Registry.from_manifest())
        >>> reader = CoarseReader(np.zeros((720, 1280, 3), np.uint8), layouts)
        >>> corners = np.array([[200, 100], [1000, 100], [1000, 600], [200, 600]], np.float32)
        >>> reader.read(corners).document_type is None  # a black frame shows no layout
        True
    """

    def __init__(
        self, image: Frame | RGBImage, layouts: CardLayouts, half: RGBImage | None = None
    ) -> None:
        """``half``: ``cv2.pyrDown`` of the shot when the caller has it (else made lazily)."""
        self._rgb = image.image if isinstance(image, Frame) else image
        self._half = half  # the halved shot, else made by the first read
        self._layouts = layouts
        self._refs = _references(layouts)

    @property
    def image(self) -> RGBImage:
        """The shot."""
        return self._rgb

    @property
    def half(self) -> RGBImage:
        """The shot halved by ``cv2.pyrDown`` (made on first use, shared by every read)."""
        if self._half is None:
            self._half = np.asarray(cv2.pyrDown(self._rgb), dtype=np.uint8)
        return self._half

    def read(self, corners: npt.NDArray[np.float32]) -> LayoutMatch:
        """The layout inside ``corners`` (full-resolution pixels, any turn by 180 degrees)."""
        scores = self.scores(corners)
        count = len(self._layouts.classes)
        return layout_decision(scores[:count], scores[count:], self._layouts)

    def scores(self, corners: npt.NDArray[np.float32]) -> F32:
        """``read``'s correlations: every class upright, then every class turned by 180."""
        # pyrDown's pixel i covers the shot's pixels 2i and 2i + 1: with pixel edges at
        # integers (``ekyc.types``), full-resolution coordinates simply halve.
        half = CardQuad(np.asarray(corners, np.float32) / 2.0, 1.0)
        size_mm = (_SIZE[0] / _PX_PER_MM, _SIZE[1] / _PX_PER_MM)
        card = rectify(self.half, half, px_per_mm=2.0 * _PX_PER_MM, size_mm=size_mm)
        # The 2x box average on the uint8 warp, as before the features (rounded like it).
        small = np.asarray(cv2.resize(card.image, _SIZE, interpolation=cv2.INTER_AREA), np.uint8)
        query = _features(small).reshape(-1)
        # (2 * classes,): upright, then turned. einsum, not ``@``: OpenBLAS wakes its
        # thread pool for a matrix-vector product this size, ~20x the product's own CPU.
        return np.asarray(np.einsum("rn,n->r", self._refs, query) / 3.0, dtype=np.float32)


def _features(img: RGBImage | F32) -> F32:
    """``layout_features`` at 1 px/mm: the templates' band-pass in card millimetres."""
    return layout_features(img, _SIZE, _PX_PER_MM / 2.0)  # the templates' is set at 2 px/mm


def _references(layouts: CardLayouts) -> F32:
    """``(2 * classes, pixels)``: every template's rough features, upright then turned.

    Correlating a turned query with a template equals correlating the query with the
    turned template, so both orientations are one matrix-vector product.
    """
    cached = _REFS.get(id(layouts))
    if cached is not None and cached[0] is layouts:
        return cached[1]
    feats = [_features(t * 255.0) for t in layouts.templates]
    rows = [f.reshape(-1) for f in feats] + [f[::-1, ::-1].reshape(-1) for f in feats]
    refs = np.ascontiguousarray(np.stack(rows), dtype=np.float32)
    if len(_REFS) >= 4:  # a process loads one set; tests load a few
        _REFS.pop(next(iter(_REFS)))
    _REFS[id(layouts)] = (layouts, refs)  # keeps ``layouts`` alive: its id stays its own
    return refs
