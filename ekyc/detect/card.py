"""``find_card``: locate the card, recognise its layout, and put its corners upright."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.align import align_to_layout
from ekyc.detect.classify import (
    MIN_LAYOUT_SCORE,
    LayoutMatch,
    classify_layout,
    tolerant_layout,
)
from ekyc.detect.coarse import CoarseReader
from ekyc.detect.config import DetectConfig
from ekyc.detect.fast import fast_card
from ekyc.detect.layouts import CardLayouts
from ekyc.detect.learned import CornerProposer, Proposal, default_proposer
from ekyc.detect.plane import focal_px
from ekyc.detect.quad import (
    QuadSearch,
    cut_by_border,
    find_quad,
    finish_quad,
    order_corners,
    refine_sides,
    search_quads,
)
from ekyc.detect.rectify import ID1_SIZE_MM, rectify
from ekyc.detect.thickness import side_face_widths
from ekyc.detect.three_sides import three_side_quads
from ekyc.types import (
    ID1_ASPECT,
    AspectPrior,
    CardDetection,
    CardQuad,
    Frame,
    QuadDetection,
    RGBImage,
    Side,
)

__all__ = ["find_card", "learned_card", "recognise", "upright_detection"]

# Rectify at 4x the templates' resolution, then shrink by area sampling (an exact 4x4
# box average): a direct low-resolution warp would alias fine print into false structure.
_OVERSAMPLE = 4
# Runner-up quads are read at 2x (a quarter of the pixels to warp; the correlation moves by
# <= 0.003 on the benchmark scenes): enough to tell which runners-up come near the first
# choice; only those are refined and read again at ``_OVERSAMPLE``.
_ROUGH_OVERSAMPLE = 2
# ... but first at 1 px/mm (``ekyc.detect.coarse``, ~4x cheaper): a runner-up whose rough
# read falls this far short of what the 2x read must reach is not read at 2x. On 363
# runners-up reading >= 0.3 (seed 555) the rough read was 0.089 below the 2x one at worst,
# 0.066 at the 1st percentile.
_COARSE_SLACK = 0.1
# A search's unread quad at least this much larger than the proposal's, all around it,
# is a frame around the card (``_frames``).
_FRAME_AREA = 1.2
# ``_realign``'s last refit searches this far (card mm) either side of each aligned side:
# the layout places a side to ~1 mm, and a printed frame lies 1-4 mm inside the card.
# Dev seeds 40000/41000/43000/44000/4242 (547 genuine scenes in frame), whole find_card:
# 1.0 mm raised 8 scenes (IoU 0.90-0.97 -> 0.95-0.99) and lowered one (0.852 -> 0.836);
# 0.6 and 1.5 mm gained less (sum of IoU gains 0.22 and 0.16 against 0.23 on the worst 43).
_NEAR_MM = 1.0
_UNREAD = LayoutMatch(None, Side.UNKNOWN, 0.0, False, 0.0)


def recognise(image: Frame | RGBImage, quad: CardQuad, layouts: CardLayouts) -> LayoutMatch:
    """Classify the layout inside ``quad`` (any corner order up to a 180-degree turn)."""
    return _read(image, quad, layouts, _OVERSAMPLE)


def _recognise(coarse: CoarseReader, quad: CardQuad, layouts: CardLayouts) -> LayoutMatch:
    """``recognise`` inside ``find_card``: from the halved shot where it holds the layout.

    The features keep nothing finer than the templates' blur (1 px at ``px_per_mm``), so
    a card shown at twice the templates' resolution or more (4 px/mm: a card 342 px long)
    loses nothing they use in the halved shot (``cv2.pyrDown``, shared with the rough
    reads): warping it at 2x instead of the shot at 4x costs a quarter of the pixels.
    """
    corners = np.asarray(quad.corners, dtype=np.float32)
    px_per_mm = np.sqrt(abs(cv2.contourArea(corners)) / (ID1_SIZE_MM[0] * ID1_SIZE_MM[1]))
    if px_per_mm < 2.0 * layouts.px_per_mm:
        return _read(coarse.image, quad, layouts, _OVERSAMPLE)
    half = CardQuad(corners / 2.0, quad.score)  # pyrDown: coordinates halve (``coarse``)
    return _read(coarse.half, half, layouts, _OVERSAMPLE // 2)


def _read(
    image: Frame | RGBImage, quad: CardQuad, layouts: CardLayouts, oversample: int,
    *, tolerant: bool = False,
) -> LayoutMatch:  # fmt: skip
    """``classify_layout`` of the quad warped to ``oversample`` x the templates' size.

    ``tolerant``: ``tolerant_layout`` instead (``find_card``'s unread answer).
    """
    width, height = layouts.size_px
    size_mm = (width / layouts.px_per_mm, height / layouts.px_per_mm)
    card = rectify(image, quad, px_per_mm=layouts.px_per_mm * oversample, size_mm=size_mm)
    # An integer factor takes OpenCV's fast box-average path (a fractional one costs ~40x).
    small = cv2.resize(card.image, (width, height), interpolation=cv2.INTER_AREA)
    classify = tolerant_layout if tolerant else classify_layout
    return classify(np.asarray(small, dtype=np.uint8), layouts)


def find_card(
    image: Frame | RGBImage,
    layouts: CardLayouts,
    aspect: AspectPrior = AspectPrior.ID1,
    config: DetectConfig | None = None,
    *,
    learned: bool | CornerProposer = True,
    propose_first: bool = True,
    half: RGBImage | None = None,
) -> CardDetection | None:
    """Find the card, say which document and side it is, with corners TL, TR, BR, BL upright.

    Args:
        image: The shot.
        layouts: Loaded layout templates (``CardLayouts.from_registry``), loaded once.
        aspect: Shape prior; with anything but ID-1 no layout is recognised (A4 documents).
        config: Detector parameters.
        learned: Try the learned corner proposal first (``ekyc.detect.learned``; kept only
            when its refined quad reads ``proposal_confident``): the given proposer (loaded
            from the caller's registry: ``Verifier.from_registry``), or with True the
            default manifest's (``default_proposer``); False runs the classical search alone.
            When the search reads no layout, the proposal is read once more as a last resort
            (``DetectConfig.proposal_last_resort``), tilted views included.
        propose_first: False: the proposal is not tried before the search, only as the
            last resort (a tilted step, where ``learned_card`` keeps nothing: no CPU is
            spent on it unless the search fails).
        half: The shot halved by ``cv2.pyrDown`` when the caller has it (the selfie's
            check shares it with ``find_held_my_number_back``); else made here if needed.

    Raises:
        ModelError: ``learned=True`` and the default manifest's corner model is missing
            or differs from its sha256 (``ModelNotFound``, ``ChecksumMismatch``).

    Returns:
        The detection, or None when no card-shaped outline was found. An outline whose
        layout is not recognised is returned with ``document_type=None``.
    """
    cfg = config or DetectConfig()
    if aspect is not AspectPrior.ID1:
        document = find_quad(image, aspect, cfg)
        if document is None:
            return None
        return CardDetection(document.quad, document.cut_by_border, None, Side.UNKNOWN, 0.0)
    if cfg.fast_path:
        quick = fast_card(image, layouts, cfg)
        if quick is not None:
            return quick
    # ``half``: the halved shot, the proposal's and the search's first step alike.
    proposer: CornerProposer | None = None
    proposal: Proposal | None = None
    if learned is not False:
        proposer = learned if isinstance(learned, CornerProposer) else default_proposer()
        rgb = image.image if isinstance(image, Frame) else image
        if half is None:
            half = np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
        if propose_first:
            proposal = proposer.propose(rgb, half)
            if proposal is not None:
                proposed = learned_card(image, layouts, cfg, proposer, half, proposal=proposal)
                if proposed is not None:
                    return proposed
    search = search_quads(image, aspect, cfg, alternatives=cfg.layout_alternatives, half=half)
    # The halved shot that the working image came through, or halved on a first read.
    coarse = CoarseReader(image, layouts, search.working.half)
    found: QuadDetection | None  # None: no outline at all
    if search.best is None:
        found, match = _three_sides(image, search, coarse, layouts, cfg) or (None, _UNREAD)
    else:
        found, match = _best_layout(image, search.best, search, coarse, layouts, cfg)
        weak = match.score < cfg.layout_realign_below
        if cfg.realign_unread if match.document_type is None else weak:
            found, match = _realign(image, found, match, search, coarse, layouts, cfg)
        if match.document_type is None:
            found, match = _three_sides(image, search, coarse, layouts, cfg) or (found, match)
    if match.document_type is None and proposer is not None and cfg.proposal_last_resort:
        if not propose_first:  # a tilted step: proposed only now
            proposal = proposer.propose(coarse.image, coarse.half)
        last = _proposal_read(image, proposal, coarse, layouts, cfg)
        if last is not None and not (found is not None and _frames(found.quad, last[0].quad)):
            read, read_match = last
            if read_match.score < cfg.layout_realign_below:
                read, read_match = _realign(image, read, read_match, search, coarse, layouts,
                                            cfg)  # fmt: skip
            # Kept only when it reads: an unread proposal is no better evidence than the
            # search's unread answer, which stands (a retake), its tilt judged as before.
            if read_match.document_type is not None:
                return upright_detection(read, read_match)
    if found is None:
        return None
    if match.document_type is None and cfg.realign_unread:
        # The search's answer still reads nothing: read it once more without the tenth of
        # the card that matches each layout worst (a finger, a glare spot over a sparse
        # back: ``classify.tolerant_layout``). Paired old/new: dev detection seeds
        # 40000/41000/43000/44000 (441 genuine, 298 flat copies and screens in frame) and
        # 276 backs of seed 62000: no answer changed; 272 licence backs of seed 62001:
        # right 269 -> 271 (two reading 0.32/0.35 on IoU-1.0 quads), none read wrong.
        # Not in the selfie's My Number back check (``realign_unread`` off there too):
        # its quad is almost never a card.
        match = _read(image, found.quad, layouts, _OVERSAMPLE, tolerant=True)
    return upright_detection(found, match)


def learned_card(
    image: Frame | RGBImage,
    layouts: CardLayouts,
    config: DetectConfig | None = None,
    proposer: CornerProposer | None = None,
    half: RGBImage | None = None,
    *,
    proposal: Proposal | None = None,
) -> CardDetection | None:
    """The learned proposal, refined, finished and read as the search's choice, or None.

    Kept only when it is clear (``Proposal.clear``), seen from the front (no side face
    predicted), in frame, and reads a layout ``proposal_confident`` or better (a little
    under ``layout_confident``, the reading at which ``_best_layout`` keeps a first choice
    without looking at runners-up: see ``DetectConfig``); a back, whose sparse layout
    reads lower, ``proposal_confident_back``. Its confidence is the refined sides' support.
    ``proposer``: the corner model (``default_proposer()`` when None); ``half``: the shot
    halved by ``cv2.pyrDown`` when the caller has it; ``proposal``: the proposer's answer
    on this shot when the caller has it.
    """
    cfg = config or DetectConfig()
    rgb = image.image if isinstance(image, Frame) else image
    if half is None:  # shared with the layout read
        half = np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
    if proposal is None:
        proposal = (proposer or default_proposer()).propose(rgb, half)
    # A tilted view is left to the classical search (as the fast path leaves it): its side
    # face and the band check depend on which of several nested quads is chosen, and a
    # flat copy's card, found precisely, showed a band there (seed 4242 #66). Asked of the
    # rough quad first (no refinement spent on it), then of the refined one.
    coarse = CoarseReader(image, layouts, half)
    kept = _proposal_read(image, proposal, coarse, layouts, cfg, front_only=True)
    if kept is None or kept[1].document_type is None or kept[1].score < _confident(kept[1], cfg):
        return None
    return upright_detection(*kept)


def _confident(match: LayoutMatch, cfg: DetectConfig) -> float:
    """The read that keeps the learned proposal: ``proposal_confident``, lower for a back."""
    if match.side is Side.BACK:
        return cfg.proposal_confident_back
    return cfg.proposal_confident


def _proposal_read(
    image: Frame | RGBImage, proposal: Proposal | None, coarse: CoarseReader,
    layouts: CardLayouts, cfg: DetectConfig, *, front_only: bool = False,
) -> tuple[QuadDetection, LayoutMatch] | None:  # fmt: skip
    """The proposal refined, finished (in frame) and read, or None.

    None as well when its sides find no support. ``front_only`` (``learned_card``): None too
    when the proposal is not clear or its view's side face is predicted. Without it this is
    ``find_card``'s last resort when the classical search reads no layout: on 200 new scenes
    (seed 40000) the search read none on 5 of 44 genuine tilted shots (low-contrast card
    edges among background lines, a finger across a turned card) whose proposal was clear
    and 0.91-0.99 IoU from the truth. The last resort takes proposals that are not clear as
    well (a fifth peak, a weak corner: the refinement and the layout read judge the quad),
    and quads that read nothing (``find_card`` aligns them to a layout; not with
    ``realign_unread`` off): on dev seeds 40000/41000/43000/44000/4242 (547 genuine shots in
    frame) type+side went 0.991 -> 0.998 (4 shots found at IoU 0.93-0.98: two unclear
    proposals, two reading nothing before the alignment), no flat copy's verdict changed.
    """
    if proposal is None or (front_only and not proposal.clear):
        return None
    rgb = coarse.image
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    exif = image.metadata.focal_length_35mm if isinstance(image, Frame) else None
    f_px = focal_px(size, exif if exif is not None else cfg.prior_focal_35mm)

    def tilted(ordered: npt.NDArray[np.float32]) -> bool:
        if not front_only:
            return False
        return bool(side_face_widths(ordered, size, f_px, cfg).max() >= cfg.min_band_px)

    if front_only and tilted(order_corners(proposal.corners, size, cfg)):
        return None
    refined = refine_sides(rgb, proposal.corners, cfg)
    if refined is None:
        return None
    fits, corners = refined
    support = sum(f.support for f in fits if f is not None) / 4.0
    if support < cfg.min_score:
        return None
    ordered = order_corners(corners, size, cfg)  # the tilt check's
    if tilted(ordered):
        return None
    # ``learned_card`` goes straight to the finish and the full read: a rough read first
    # (``coarse``, ~1 ms) only spared them on the ~8 % of proposals that then go to the
    # search anyway (~140 ms), and cost every kept frame its time (300 dev frames, seeds
    # 4242/40000/41000/43000/44000: the same answers; paired median ratio 0.970, mean
    # +0.6 %). The last resort reads on, unread too when unread quads are realigned
    # (``realign_unread``; without it a quad whose rough read shows no layout is dropped):
    # ``find_card`` then aligns a weak or missing read to its layout. A tilted shot whose
    # search read nothing (seed 43000 #125: the card's short sides ranked 35th and 36th
    # of the lines, below ``max_lines``, on a ruled sheet) has its proposal refined at
    # IoU 0.93 reading nothing, which the layout moves into place.
    if not front_only and not cfg.realign_unread and coarse.read(ordered).document_type is None:
        return None
    # ``front_only``: ``tilted`` found no side face on these corners (``flat``).
    found = finish_quad(image, corners, support, cfg, flat=front_only)
    if found.cut_by_border:
        return None
    return found, _recognise(coarse, found.quad, layouts)


def upright_detection(found: QuadDetection, match: LayoutMatch) -> CardDetection:
    """``find_card``'s answer: the quad with its corners upright, and the layout read."""
    corners = found.quad.corners
    if match.upside_down:
        corners = np.ascontiguousarray(np.roll(corners, 2, axis=0))
    return CardDetection(
        quad=CardQuad(corners, found.quad.score),
        cut_by_border=found.cut_by_border,
        document_type=match.document_type,
        side=match.side,
        layout_score=match.score,
    )


def _best_layout(
    image: Frame | RGBImage, found: QuadDetection, search: QuadSearch, coarse: CoarseReader,
    layouts: CardLayouts, cfg: DetectConfig,
) -> tuple[QuadDetection, LayoutMatch]:  # fmt: skip
    """The detector's choice, or a runner-up whose interior matches a layout clearly better.

    Boundary evidence and shape cannot tell the card's outline from a quad that shares
    three of its sides and takes a printed frame's (or a background line's) for the
    fourth; the layout can: correlation with the template peaks when the quad is the card.
    """
    match = _recognise(coarse, found.quad, layouts)
    best: tuple[QuadDetection, LayoutMatch] = (found, match)
    if not search.alternatives or (
        match.document_type is not None and match.score >= cfg.layout_confident
    ):
        return best
    # Rough reads at 1 px/mm first: only runners-up that come within ``_COARSE_SLACK`` of
    # passing are read again at 2x, and the choice below runs on those reads as before.
    floor = (
        max(coarse.read(found.quad.corners).score - cfg.layout_gain, MIN_LAYOUT_SCORE)
        - _COARSE_SLACK
    )
    near = [(s, c) for s, c in search.alternatives if coarse.read(c).score >= floor]
    if not near:
        return best
    first = _read(image, found.quad, layouts, _ROUGH_OVERSAMPLE)
    rough = [(_read(image, CardQuad(c, 1.0), layouts, _ROUGH_OVERSAMPLE), s, c) for s, c in near]
    tried = 0
    for alt, score, corners in sorted(rough, key=lambda r: -r[0].score):
        # A rough quad is a few pixels off, which costs its layout some correlation: it is
        # refined when it comes near, and must then beat the first choice clearly.
        if tried == cfg.layout_refine or alt.score < first.score - cfg.layout_gain:
            break
        # A runner-up that took over reading ``layout_confident`` ends the search, as a
        # first choice reading that well skips it: on 360 scenes (seeds 4242, 777, 2024)
        # no later runner-up beat one by ``layout_gain`` (the 2nd tried came within 0.004).
        if best[0] is not found and best[1].score >= cfg.layout_confident:
            break
        if alt.document_type is None:
            continue
        tried += 1
        refined = search.refine(corners, score)
        if refined is None:
            continue
        again = _recognise(coarse, refined.quad, layouts)
        if again.document_type is not None and again.score >= best[1].score + cfg.layout_gain:
            best = (refined, again)
    return best


def _three_sides(
    image: Frame | RGBImage, search: QuadSearch, coarse: CoarseReader, layouts: CardLayouts,
    cfg: DetectConfig,
) -> tuple[QuadDetection, LayoutMatch] | None:  # fmt: skip
    """No layout anywhere yet: try outlines with a side that shows no edge (``three_sides``).

    The hypotheses are screened by rough reads (``ekyc.detect.coarse``, within ~0.02 of
    a full read); those reading ``three_side_min_read`` or more are refined at full
    resolution, best first (the
    faint side may still show an edge there), and a refined quad that reads weakly is
    aligned to its layout as ``_realign`` does (its confidence is then its layout's
    correlation). The best reading wins; one reading ``layout_realign_below`` or better
    ends the search. None when no hypothesis shows a layout.
    """
    hypotheses = three_side_quads(image, ID1_ASPECT, cfg, search.working)
    if not hypotheses:
        return None
    screened = [(coarse.read(c).score, c) for c in hypotheses]
    readable = sorted((r for r in screened if r[0] >= cfg.three_side_min_read), key=lambda r: -r[0])
    best: tuple[QuadDetection, LayoutMatch] | None = None
    for _, corners in readable[: cfg.layout_refine]:
        refined = search.refine(corners, 1.0)
        if refined is not None:
            best = _better(best, (refined, _recognise(coarse, refined.quad, layouts)))
        if best is None or best[1].score < cfg.layout_realign_below:
            moved, _ = align_to_layout(image, corners, layouts)
            read = _recognise(coarse, CardQuad(moved, 1.0), layouts)
            cut = cut_by_border(moved, _size(image), cfg.border_margin_px)
            best = _better(best, (QuadDetection(CardQuad(moved, read.score), cut), read))
        if best is not None and best[1].score >= cfg.layout_realign_below:
            break
    return best


def _better(
    best: tuple[QuadDetection, LayoutMatch] | None, other: tuple[QuadDetection, LayoutMatch]
) -> tuple[QuadDetection, LayoutMatch] | None:
    """``other`` if its layout is recognised and reads better than ``best``'s."""
    if other[1].document_type is None or (best is not None and other[1].score <= best[1].score):
        return best
    return other


def _realign(
    image: Frame | RGBImage, found: QuadDetection, match: LayoutMatch, search: QuadSearch,
    coarse: CoarseReader, layouts: CardLayouts, cfg: DetectConfig,
) -> tuple[QuadDetection, LayoutMatch]:  # fmt: skip
    """No layout, or a weak one, in the chosen quad: move its sides until one fits, refit.

    A faint card edge leaves the detector a printed frame or line a few millimetres inside
    the card (``ekyc.detect.align``). The moved quad counts only if its layout is then
    recognised, ``layout_gain`` better than before; its sides are refitted to the nearby
    edges. A weak layout keeps its edge-fitted quad unless the refit beats it: the layout
    alone places a side to a millimetre or two. When the refit returns to the printed line
    (its search reaches ~1 % of the shot), the moved sides are refitted once more within
    ``_NEAR_MM`` of where the layout put them (``QuadSearch.refine_near``), under the same
    test. A quad with no layout takes a refit if it reads about as well as the moved quad,
    else the moved quad.
    """
    corners, _ = align_to_layout(image, found.quad.corners, layouts)
    moved = _recognise(coarse, CardQuad(corners, found.quad.score), layouts)
    if moved.document_type is None or moved.score < match.score + cfg.layout_gain:
        return found, match
    known = match.document_type is not None
    floor = (match.score if known else moved.score - 2 * cfg.layout_gain) + cfg.layout_gain
    refits: tuple[Callable[[], QuadDetection | None], ...] = (
        lambda: search.refine(corners, found.quad.score),
        lambda: search.refine_near(corners, found.quad.score, _near_px(corners, cfg)),
    )
    for refit in refits:  # the narrow refit only where the usual one did not count
        refitted = refit()
        if refitted is None:
            continue
        again = _recognise(coarse, refitted.quad, layouts)
        same = (again.document_type, again.side) == (moved.document_type, moved.side)
        if same and again.score >= floor:
            return refitted, again
    if known:
        return found, match
    return QuadDetection(CardQuad(corners, found.quad.score), found.cut_by_border), moved


def _near_px(corners: npt.NDArray[np.float32], cfg: DetectConfig) -> float:
    """``_NEAR_MM`` in the shot's pixels at the quad's mean scale, at least ``final_search_px``."""
    area = abs(cv2.contourArea(np.asarray(corners, np.float32)))
    px_per_mm = float(np.sqrt(area / (ID1_SIZE_MM[0] * ID1_SIZE_MM[1])))
    return max(cfg.final_search_px, _NEAR_MM * px_per_mm)


def _frames(outer: CardQuad, inner: CardQuad) -> bool:
    """``outer`` holds all of ``inner`` with room to spare: a frame around the card.

    How a screen's or a photocopy's card looks: the search settles on the bezel or the
    sheet, unread. The last resort then keeps the search's (unread) answer rather than
    read the card inside: a card found precisely on a flat screen can show a band at its
    blurred edge (seed 31500 #50, a tablet at 34 degrees, passed the tilt check so).
    """
    box = np.asarray(outer.corners, np.float32).reshape(-1, 1, 2)
    inside = all(
        cv2.pointPolygonTest(box, (float(x), float(y)), False) >= 0 for x, y in inner.corners
    )
    area_out = abs(cv2.contourArea(np.asarray(outer.corners, np.float32)))
    area_in = abs(cv2.contourArea(np.asarray(inner.corners, np.float32)))
    return inside and area_out >= _FRAME_AREA * area_in


def _size(image: Frame | RGBImage) -> tuple[int, int]:
    """``(width, height)`` of the shot."""
    rgb = image.image if isinstance(image, Frame) else image
    return int(rgb.shape[1]), int(rgb.shape[0])
