"""Render the printed faces of synthetic documents, with field boxes and values as ground truth."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import layout_license, layout_mynumber, layout_other, layout_residence
from benchmarks.synth.geometry import ID1_MM, ID1_RADIUS_MM, ID1_THICKNESS_MM
from benchmarks.synth.identity import Identity
from benchmarks.synth.layout_common import Canvas, Field
from ekyc.types import DocumentType, Side

DEFAULT_PX_PER_MM = 12.0

U8 = npt.NDArray[np.uint8]
Drawer = Callable[[Canvas, Identity, npt.NDArray[np.uint8], np.random.Generator], None]


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    """Physical size and the layouts of one document type."""

    size_mm: tuple[float, float]
    radius_mm: float
    thickness_mm: float
    paper: tuple[int, int, int]
    drawers: dict[Side, Drawer]


DOCUMENTS: dict[DocumentType, DocumentSpec] = {
    DocumentType.DRIVERS_LICENSE: DocumentSpec(
        ID1_MM,
        ID1_RADIUS_MM,
        ID1_THICKNESS_MM,
        (244, 246, 240),
        {Side.FRONT: layout_license.draw_front, Side.BACK: layout_license.draw_back},
    ),
    DocumentType.MY_NUMBER_CARD: DocumentSpec(
        ID1_MM,
        ID1_RADIUS_MM,
        ID1_THICKNESS_MM,
        (250, 238, 236),
        {Side.FRONT: layout_mynumber.draw_front, Side.BACK: layout_mynumber.draw_back},
    ),
    DocumentType.RESIDENCE_CARD: DocumentSpec(
        ID1_MM,
        ID1_RADIUS_MM,
        ID1_THICKNESS_MM,
        (236, 236, 248),
        {Side.FRONT: layout_residence.draw_front, Side.BACK: layout_residence.draw_back},
    ),
    DocumentType.HEALTH_INSURANCE_CARD: DocumentSpec(
        ID1_MM,
        ID1_RADIUS_MM,
        ID1_THICKNESS_MM,
        (250, 250, 248),
        {Side.FRONT: layout_other.health_front, Side.BACK: layout_other.health_back},
    ),
    # ID-3 data page laminated in a booklet; the visible edge is the page stack (approximate).
    DocumentType.PASSPORT: DocumentSpec(
        (125.0, 88.0), 3.0, 1.6, (240, 232, 238), {Side.FRONT: layout_other.passport_front}
    ),
}


@dataclass(frozen=True, slots=True, eq=False)
class CardFace:
    """A rendered printed face: RGB pixels, an alpha mask of the rounded outline, and fields.

    The image covers the document's geometric rectangle exactly: pixel ``(0, 0)``'s corner is
    the TL corner and ``(width, height)`` the BR corner, at ``px_per_mm`` (per axis, rounded).
    """

    doc_type: DocumentType
    side: Side
    image: npt.NDArray[np.uint8]
    alpha: npt.NDArray[np.uint8]
    fields: tuple[Field, ...]
    portrait_box: tuple[int, int, int, int] | None
    px_per_mm: float

    @property
    def size_mm(self) -> tuple[float, float]:
        return DOCUMENTS[self.doc_type].size_mm

    def values(self) -> dict[str, str]:
        """Printed field values by name."""
        return {f.name: f.value for f in self.fields}


def _rounded_mask_ss(width: int, height: int, r: int, ss: int, box: tuple[int, int]) -> U8:
    """The ``ss``-times supersampled rounded-rectangle mask, only its top-left ``box``."""
    mask = np.zeros((box[1], box[0]), np.uint8)
    cv2.rectangle(mask, (r, 0), (width * ss - 1 - r, height * ss - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (width * ss - 1, height * ss - 1 - r), 255, -1)
    for cx, cy in (
        (r, r),
        (width * ss - 1 - r, r),
        (r, height * ss - 1 - r),
        (width * ss - 1 - r, height * ss - 1 - r),
    ):
        cv2.circle(mask, (cx, cy), r, 255, -1)
    return mask


@functools.cache
def rounded_alpha(width: int, height: int, radius_px: float) -> npt.NDArray[np.uint8]:
    """An anti-aliased 0..255 mask of a rounded rectangle filling ``width x height`` (cached).

    Drawn 4x supersampled and box-filtered. The mask is symmetric under both flips and opaque
    away from the corners, so only one corner is drawn when the corners are apart.
    """
    ss = 4
    r = round(radius_px * ss)
    corner = -(-r // ss) + 1  # whole output pixels that cover the corner arc, plus one
    if 2 * corner >= min(width, height):
        full = _rounded_mask_ss(width, height, r, ss, (width * ss, height * ss))
        small = cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)
    else:
        tl = _rounded_mask_ss(width, height, r, ss, (corner * ss, corner * ss))
        tl = cv2.resize(tl, (corner, corner), interpolation=cv2.INTER_AREA)
        small = np.full((height, width), 255, np.uint8)
        small[:corner, :corner] = tl
        small[:corner, width - corner :] = tl[:, ::-1]
        small[height - corner :, :corner] = tl[::-1, :]
        small[height - corner :, width - corner :] = tl[::-1, ::-1]
    small.setflags(write=False)
    return small


def render_card(
    doc_type: DocumentType,
    side: Side,
    identity: Identity,
    face: npt.NDArray[np.uint8] | None,
    px_per_mm: float = DEFAULT_PX_PER_MM,
) -> CardFace:
    """Draw one printed face of ``identity``'s document.

    Decorative randomness (guilloche phase, seal numbers, remarks) comes from the identity's
    seed, so the same identity always gives the same pixels; use :func:`render_card_cached`
    in loops.

    Raises:
        ValueError: for a side the document does not have (a passport's back), or a face-less
            call for a side that carries a portrait.
    """
    spec = DOCUMENTS[doc_type]
    if side not in spec.drawers:
        raise ValueError(f"{doc_type.value} has no {side.value} layout")
    rng = np.random.default_rng([identity.seed, list(Side).index(side), 11])
    canvas = Canvas(spec.size_mm, px_per_mm, spec.paper)
    if face is None:
        face = np.full((112, 112, 3), 128, np.uint8)
    spec.drawers[side](canvas, identity, face, rng)
    image = canvas.array()
    alpha = rounded_alpha(canvas.width, canvas.height, spec.radius_mm * px_per_mm)
    image.setflags(write=False)
    return CardFace(
        doc_type, side, image, alpha, tuple(canvas.fields), canvas.portrait_box, px_per_mm
    )


_CACHE: dict[tuple[str, DocumentType, Side, float, str], CardFace] = {}
_CACHE_MAX = 64


def render_card_cached(
    doc_type: DocumentType,
    side: Side,
    identity: Identity,
    face: npt.NDArray[np.uint8] | None,
    px_per_mm: float = DEFAULT_PX_PER_MM,
) -> CardFace:
    """:func:`render_card` memoised on (identity, type, side, resolution, face key)."""
    key = (identity.identity_id + str(identity.seed), doc_type, side, px_per_mm, identity.face_key)
    hit = _CACHE.get(key)
    if hit is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        hit = _CACHE[key] = render_card(doc_type, side, identity, face, px_per_mm)
    return hit
