"""Whether two shots show the same card: the tilted shot against the front, for instance.

Two cards of one type share their whole printed layout, so comparing the shots directly
would call any two driver's licences "the same". What differs between two shots of *one*
card is how they were taken: the tilted shot is foreshortened and blurred, lit otherwise,
and its quad (hence its rectification) is off by a pixel or two here and there. What differs
between two people's cards is what is printed in the personal fields: portrait, name,
numbers, dates. So the comparison

1. registers the second rectified shot onto the first (ECC homography on the band-passed
   gray cards at 2 px/mm: the shared print anchors it, so corner errors of both quads drop
   out); when that does not converge to a good fit (a quad 40-120 px off the card leaves
   the shots ~10 mm apart), ECC starts again from the homography of matched ORB
   keypoints, and the better fit is kept,
2. band-passes both at 4 px/mm (0.25 to 1 mm detail) and blurs the sharper one to the
   other's blur (the blur of either shot that correlates best over the personal fields),
3. scores each 8 mm tile of the personal fields (the class's ``personal`` map) that both
   shots show (not cut off by either quad) by the *partial* correlation of the two shots
   given the class's mean layout, so the print the two cards share (field frames, text
   baselines, the generic head-and-shoulders outline) adds nothing, and
4. averages the tiles after dropping the worst tenth (glare, a finger).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.layouts import CardLayouts, band_pass
from ekyc.types import DocumentType, RGBImage, SameCardCheck, Side

__all__ = ["SAME_CARD_THRESHOLD", "card_similarity", "compare_cards"]

F32 = npt.NDArray[np.float32]

# Chosen on seeds 5152 and 6263 (synthetic sessions, LFW portraits; 500 scenes each, 511
# pairs): the middle of the range (0.66-0.70) where the worse of same-card accepted and
# other-person refused is best (0.989), true and detected corners pooled. The seeds the
# benchmark reports (7778, 31338) were not used.
SAME_CARD_THRESHOLD = 0.68
_WORK_PX_PER_MM = 4.0  # twice the layouts': fine print, still above a 45-degree shot's blur
_BAND_SIGMAS_PX = (1.0, 4.0)  # 0.25 mm noise blur, 1 mm shading removal at 4 px/mm
_MATCH_BLURS_PX = (0.7, 1.2, 1.8)
_TILE_PX = 32  # 8 mm
_MIN_PERSONAL = 0.15  # a tile's mean ``personal`` weight to count
_DROP_WORST = 0.1
_ECC_ITERATIONS = 50
# ECC from the identity converging below this correlation (band-passed cards at 2 px/mm)
# is tried again from matched keypoints: two shots of a card register at 0.9-0.97, two
# people's cards of one type at ~0.9; a quad ~10 mm off the card's edge left 0.48 (and
# 0.96 from the keypoints).
_REGISTER_RETRY_BELOW = 0.8
# A tile counts only where the second shot covers this much of it once registered (when
# at least ``_MIN_TILES`` are).
_MIN_COVERED = 0.9
_MIN_TILES = 4
_MIN_MATCHES = 8
# ... and only when the keypoints put the shots this far apart somewhere (2 mm at 4 px/mm;
# ECC from the identity absorbs less): otherwise that fit stands, however poor (a blurred
# or glared shot), and the shots keep their roles.
_FAR_OFF_PX = 8.0


def compare_cards(
    card_a: RGBImage,
    card_b: RGBImage,
    layouts: CardLayouts,
    *,
    type_a: tuple[DocumentType, Side] | None,
    type_b: tuple[DocumentType, Side] | None,
    threshold: float = SAME_CARD_THRESHOLD,
) -> SameCardCheck:
    """Compare two upright rectified shots of the same face of a card.

    Args:
        card_a: Rectified card image (e.g. the front shot).
        card_b: Rectified card image (e.g. the tilted shot).
        layouts: The loaded layout templates.
        type_a: Recognised (type, side) of ``card_a``; None when unknown.
        type_b: Recognised (type, side) of ``card_b``; None when unknown.
        threshold: Similarity at or above which the shots count as one card.

    Returns:
        The check; an unknown or differing layout is never "the same card".
    """
    agree = type_a is not None and type_a == type_b
    if not agree or type_a is None:
        return SameCardCheck(
            similarity=0.0, threshold=threshold, same=False, document_types_agree=False
        )
    similarity = card_similarity(card_a, card_b, layouts, *type_a)
    return SameCardCheck(
        similarity=similarity,
        threshold=threshold,
        same=similarity >= threshold,
        document_types_agree=True,
    )


def card_similarity(
    card_a: RGBImage,
    card_b: RGBImage,
    layouts: CardLayouts,
    document_type: DocumentType,
    side: Side,
) -> float:
    """How alike the personal fields of two rectified shots of one class are, in [-1, 1].

    About 0.2 to 0.5 for two people's cards of the same type, 0.7 to 0.95 for two shots
    of one card (the tilted one up to 60 degrees). A class without personal fields
    (``personal`` all but zero) is compared over the whole card.
    """
    index = layouts.classes.index((document_type, side))
    size = (round(85.6 * _WORK_PX_PER_MM), round(54.0 * _WORK_PX_PER_MM))
    template = _gray(layouts.templates[index] * 255.0, size)
    gray_a, gray_b, covered, small_a = _register(
        _gray(card_a, size), _gray(card_b, size), template, layouts.size_px
    )
    personal = np.asarray(
        cv2.resize(layouts.personal[index], size, interpolation=cv2.INTER_LINEAR), np.float32
    )
    template, personal = _onto(template, personal, small_a, layouts.size_px)
    feat_a, feat_b, feat_t = (_band(g) for g in (gray_a, gray_b, template))
    feat_a, feat_b = _match_blur(feat_a, feat_b, personal * covered)
    rows, cols = size[1] // _TILE_PX, size[0] // _TILE_PX
    a, b, t, w, c = (_tiles(x, rows, cols) for x in (feat_a, feat_b, feat_t, personal, covered))
    keep = w.mean(axis=1) >= _MIN_PERSONAL
    if not keep.any():
        keep[:] = True
    covered_enough = keep & (c.mean(axis=1) >= _MIN_COVERED)
    if int(covered_enough.sum()) >= _MIN_TILES:
        keep = covered_enough
    r_ab, r_at, r_bt = (
        _row_corr(a[keep], b[keep]),
        _row_corr(a[keep], t[keep]),
        _row_corr(b[keep], t[keep]),
    )
    partial = (r_ab - r_at * r_bt) / np.sqrt(np.maximum((1.0 - r_at**2) * (1.0 - r_bt**2), 1e-6))
    ranked = np.sort(partial)
    return float(np.mean(ranked[int(len(ranked) * _DROP_WORST) :]))


def _gray(image: RGBImage | F32, size: tuple[int, int]) -> F32:
    gray = cv2.cvtColor(np.asarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    shrink = gray.shape[1] >= size[0]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, size, interpolation=interpolation), np.float32)


def _band(gray: F32) -> F32:
    fine, coarse = _BAND_SIGMAS_PX
    blurred = cv2.GaussianBlur(gray, (0, 0), fine)
    return np.asarray(blurred - cv2.GaussianBlur(gray, (0, 0), coarse), np.float32)


def _register(
    gray_a: F32, gray_b: F32, template: F32, coarse_size: tuple[int, int]
) -> tuple[F32, F32, F32, F32]:
    """One shot, the other warped onto it, where that has pixels, the first band-passed.

    The last is the first shot band-passed at ``coarse_size`` (``_onto`` registers the
    layout onto it).

    ``gray_b`` is warped onto ``gray_a`` by the ECC homography found at the layouts' size
    (``covered``: 1 where it has pixels, 0 beyond its quad). When ECC from the identity fits
    worse than ``_REGISTER_RETRY_BELOW`` and matched keypoints put the shots
    ``_FAR_OFF_PX`` or more apart, one quad is well off its card: the comparison is then
    made in the frame of the shot that fits the class's mean layout better (the other
    quad's frame would put the personal fields in the wrong place), the other shot warped
    onto it with ECC starting from the keypoints' homography. Unwarped when ECC does not
    converge (two shots too different to register are then left to score low).
    """
    small_a = band_pass(_resized(gray_a, coarse_size))
    small_b = band_pass(_resized(gray_b, coarse_size))
    fit, warp = _ecc(small_a, small_b, np.eye(3, dtype=np.float32))
    height, width = gray_a.shape
    scale = np.diag([width / coarse_size[0], height / coarse_size[1], 1.0])
    start = _keypoint_homography(gray_a, gray_b) if fit < _REGISTER_RETRY_BELOW else None
    if start is not None and _largest_move(start, width, height) >= _FAR_OFF_PX:
        layout = band_pass(_resized(template, coarse_size))
        if _corr(small_b, layout) > _corr(small_a, layout):
            gray_a, gray_b, small_a, small_b = gray_b, gray_a, small_b, small_a
            fit, warp = _ecc(small_a, small_b, np.eye(3, dtype=np.float32))
            start = np.linalg.inv(start)
        coarse = (np.linalg.inv(scale) @ start @ scale).astype(np.float32)
        again, moved = _ecc(small_a, small_b, coarse / coarse[2, 2])
        if again > fit:
            fit, warp = again, moved
    if warp is None:
        return gray_a, gray_b, np.ones_like(gray_b), small_a
    warped = _warp_full(gray_b, warp, coarse_size, cv2.BORDER_REPLICATE)
    covered = _warp_full(np.ones_like(gray_b), warp, coarse_size, cv2.BORDER_CONSTANT)
    return gray_a, warped, covered, small_a


def _warp_full(image: F32, warp: F32, coarse_size: tuple[int, int], border: int) -> F32:
    """``image`` (full size) warped by ``warp``, a homography found at ``coarse_size``.

    ``warp`` maps the reference's coarse pixels to ``image``'s (ECC's convention), so the
    full-size map is applied inverted; ``BORDER_CONSTANT`` fills with 0.
    """
    height, width = image.shape
    scale = np.diag([width / coarse_size[0], height / coarse_size[1], 1.0])
    full = (scale @ warp @ np.linalg.inv(scale)).astype(np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    moved = cv2.warpPerspective(
        image, full, (width, height), flags=flags, borderMode=border, borderValue=(0.0,)
    )
    return np.asarray(moved, np.float32)


def _onto(
    template: F32, personal: F32, small_shot: F32, coarse_size: tuple[int, int]
) -> tuple[F32, F32]:
    """The class's mean layout and personal map warped onto a shot.

    ``small_shot`` is the shot band-passed at ``coarse_size`` (from ``_register``).

    The partial correlation takes out what the two shots share with the layout; a quad a
    millimetre or two off its card leaves both shots (registered onto each other) off the
    layout alike, and their shared print then counts as likeness. Unwarped when ECC does
    not converge.
    """
    small_layout = band_pass(_resized(template, coarse_size))
    _, warp = _ecc(small_shot, small_layout, np.eye(3, dtype=np.float32))
    if warp is None:
        return template, personal
    border = cv2.BORDER_REPLICATE
    moved_template = _warp_full(template, warp, coarse_size, border)
    return moved_template, _warp_full(personal, warp, coarse_size, border)


def _largest_move(hom: npt.NDArray[np.float64], width: int, height: int) -> float:
    """How far (pixels) ``hom`` moves the farthest corner of a ``width`` x ``height`` frame."""
    frame = np.array([[[0, 0], [width, 0], [width, height], [0, height]]], np.float32)
    moved = cv2.perspectiveTransform(frame, hom.astype(np.float32))
    return float(np.max(np.linalg.norm(moved - frame, axis=2)))


def _ecc(small_a: F32, small_b: F32, start: F32) -> tuple[float, F32 | None]:
    """ECC homography of ``small_b`` onto ``small_a`` from ``start``: (correlation, warp)."""
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ECC_ITERATIONS, 1e-5)
    try:
        fit, warp = cv2.findTransformECC(
            small_a,
            small_b,
            start,
            cv2.MOTION_HOMOGRAPHY,
            criteria,
            np.full(small_a.shape, 255, np.uint8),  # everywhere: the 7-argument form needs one
            3,
        )
    except cv2.error:
        return -1.0, None
    return float(fit), np.asarray(warp, np.float32)


def _keypoint_homography(gray_a: F32, gray_b: F32) -> npt.NDArray[np.float64] | None:
    """Homography taking ``gray_a``'s pixels to ``gray_b``'s from matched ORB keypoints.

    The print both shots share gives hundreds of matches however far apart the shots
    are; None when too few match.
    """
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=1000, edgeThreshold=15, patchSize=15
    )
    found = [
        orb.detectAndCompute(np.clip(g, 0, 255).astype(np.uint8), None) for g in (gray_a, gray_b)
    ]
    (keys_a, desc_a), (keys_b, desc_b) = found
    if desc_a is None or desc_b is None or len(keys_a) < _MIN_MATCHES or len(keys_b) < 2:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_a, desc_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < _MIN_MATCHES:
        return None
    pts_a = np.array([keys_a[m.queryIdx].pt for m in good], np.float32)
    pts_b = np.array([keys_b[m.trainIdx].pt for m in good], np.float32)
    hom, _ = cv2.findHomography(pts_a, pts_b, cv2.RANSAC, 3.0)
    return None if hom is None else np.asarray(hom, np.float64)


def _resized(gray: F32, size: tuple[int, int]) -> F32:
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.float32)


def _match_blur(feat_a: F32, feat_b: F32, personal: F32) -> tuple[F32, F32]:
    """Blur whichever shot is sharper to the other's blur.

    The blur kept is the one (of either shot, or none) under which the two correlate best
    over the personal fields: a tilted shot loses the finest print, and comparing it with
    the sharp front's would count that loss as a difference.
    """
    best = (_corr(feat_a * personal, feat_b * personal), feat_a, feat_b)
    for sigma in _MATCH_BLURS_PX:
        blur_a = np.asarray(cv2.GaussianBlur(feat_a, (0, 0), sigma), np.float32)
        blur_b = np.asarray(cv2.GaussianBlur(feat_b, (0, 0), sigma), np.float32)
        for x, y in ((blur_a, feat_b), (feat_a, blur_b)):
            corr = _corr(x * personal, y * personal)
            if corr > best[0]:
                best = (corr, x, y)
    return best[1], best[2]


def _tiles(image: F32, rows: int, cols: int) -> F32:
    """``(rows * cols, tile * tile)``: the image's tiles from its top-left corner, flattened."""
    cut = image[: rows * _TILE_PX, : cols * _TILE_PX]
    tiles = cut.reshape(rows, _TILE_PX, cols, _TILE_PX).transpose(0, 2, 1, 3)
    return np.asarray(tiles.reshape(rows * cols, _TILE_PX * _TILE_PX), np.float32)


def _corr(a: F32, b: F32) -> float:
    return float(_row_corr(a.reshape(1, -1), b.reshape(1, -1))[0])


def _row_corr(a: F32, b: F32) -> npt.NDArray[np.float64]:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (0 if flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    den = np.sqrt(
        np.einsum("ij,ij->i", a, a, dtype=np.float64)
        * np.einsum("ij,ij->i", b, b, dtype=np.float64)
    )
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)
