"""The My Number card's back carries the individual number: it is never captured or kept.

The image-based method needs the back of a driver's licence or residence card, never the
My Number card's (its number is a specific personal identifier the bank must not collect).
Whatever shot an applicant sends, if it shows a My Number card's back the step is refused
with ``StepNotAllowed`` before anything is stored, logged or written as evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.align import align_to_layout
from ekyc.detect.card import find_card, recognise, upright_detection
from ekyc.detect.classify import MIN_LAYOUT_SCORE
from ekyc.detect.coarse import CoarseReader
from ekyc.detect.config import DetectConfig
from ekyc.detect.layouts import CardLayouts
from ekyc.detect.quad import (
    cut_by_border,
    finish_quad,
    make_working_image,
    order_many,
    ranked_candidates,
    refine_sides,
    shrink,
)
from ekyc.detect.rectify import ID1_SIZE_MM
from ekyc.detect.three_sides import three_side_quads
from ekyc.errors import StepNotAllowed
from ekyc.types import (
    ID1_ASPECT,
    AspectPrior,
    CardDetection,
    CardQuad,
    DocumentType,
    Frame,
    QuadDetection,
    RGBImage,
    Side,
)

__all__ = [
    "find_held_my_number_back",
    "find_my_number_back",
    "held_back_half",
    "refuse_my_number_back",
    "selfie_windows",
    "shows_my_number_back",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# Where a card held up in a selfie is looked for again: (top, bottom, left, right) as
# fractions of the frame. In a selfie the head and shoulders make the strongest outline, and
# ``find_card`` returns it, unread, over a card held below the chin or beside the face; in
# these windows the card is the largest outline. On generated selfies (``hold_card``;
# development seeds) the whole frame read a My Number back held at the chest in 24 of 40,
# beside the face in 2 of 20; with these windows 40 of 40 and 20 of 20 (the first three
# alone: 40 and 16); none of the 60 selfies without a card read as one.
_SELFIE_WINDOWS = (
    (0.4, 1.0, 0.0, 1.0),
    (0.55, 1.0, 0.0, 1.0),
    (0.0, 0.5, 0.0, 1.0),
    (0.0, 0.55, 0.0, 0.6),
    (0.0, 0.55, 0.4, 1.0),
)
# A frame wider than the 9:16 the windows were set on (a phone's 3:4 selfie, 12 MP or not)
# is searched again at the chest in columns of that 9:16 width, at its left and right (the
# chest rows of the windows above): the full width's chest windows hold more of the
# shoulders' outline, which ``find_card`` then takes over the card. On held_back's selfies
# (seeds 30000-30039, 3024x4032 decoded at 2016 px as verify decodes them) the five windows
# missed 4 of 40 backs held at the chest (30007, 30023, 30028, 30038; at 960x1280 30007 and
# 30023): the rows from 0.4 read the first three in a column, 30038 only the rows from 0.55.
# A 9:16 frame gets the five windows alone, as before. The cost: a card-free 12 MP selfie's
# gate (whole frame and windows) 547 -> 916 ms CPU median, paired (dev 34100-34105, load 7).
_COLUMN_ASPECT = 9 / 16
_COLUMN_ROWS = ((0.4, 1.0), (0.55, 1.0))
# ... when the column is this share of the frame's width (720x1280: 1.0, none; 3:4: 0.75).
# A landscape selfie (under half) keeps the five windows: none was measured.
_COLUMN_SHARES = (0.5, 0.95)
# In the windows a quad whose layout is not read is not realigned (``realign_unread``): on
# the same selfies it found no more backs, and a selfie without a card costs ~30 % less.
_WINDOW_CHECK = DetectConfig(realign_unread=False)
# The windows from the frame's top (the face, a card held beside it) are searched on a
# working copy of 512 px, not 384: a white card held over the face's edge against a pale
# wall keeps two or three sides' edges, which the smaller copy lost to the face's and the
# hair's outlines. On held_back's development seeds 36000-36199 (720x1280), with the
# screened candidates read (``_read_hints``), backs held beside the face refused 193 -> 198
# of 200 (at the chest 198 either way; no refusal lost), card-free 0 of 200 either way; a
# card-free selfie's gate CPU, paired on 40 (load ~11), 432 -> 408 ms median. The chest
# windows stay at 384 px: at 512 (session 19) they read dev 75973 (glare:1.4 / thumb:0.5,
# a back on the shoulder's edge against the wall, best candidate IoU 0.74 at 384) but lost
# a chest back on held-out seeds under both thumb:0.5 and glare:1.4, for ~+8 % CPU.
_FACE_CHECK = DetectConfig(realign_unread=False, working_side_px=512)
# The windows are searched in the selfie shrunk to this long side, the 720x1280 frames they
# were chosen and measured on: a phone's 12 MP selfie gains no card and costs more per window.
_WINDOW_LONG_SIDE = 1280
# A selfie is searched without the learned corner proposal (``find_card(learned=False)``):
# on 20 selfies per placement and 20 without a card (seeds 30000+), its evidence was clear in
# 16 of the 360 whole frames and windows and let find_card skip the search in 5, while each
# attempt cost ~12 ms CPU (medians 88-91 vs 75-78 ms a call); the backs found were the same.
SELFIE_LEARNED = False
# A selfie's window (or whole frame) is searched only when a rough read (``coarse``, 1 px/mm)
# of one of its candidate quads, as ranked on the working image, gives the My Number back's
# template this correlation, either way up: a full read must reach ``MIN_LAYOUT_SCORE``
# for ``find_card`` to name a layout, and a rough read of a rough quad falls up to ~0.1
# short of it (``card._COARSE_SLACK``). On development selfies (seeds 33000-33011, 720x1280,
# 60 windows each of a card held at the chest, beside the face, and none): the 40 windows
# where ``find_card`` read the back had a candidate at 0.42-0.85 (one had no candidate and
# a three-sided quad at 0.40); the 60 card-free windows' best was 0.21. The three-sided
# quads are screened too: held_back's chest seed 30021 was read from one only, beside 16
# candidates reading <= 0.08. With them, every selfie of seeds 30000-30039 and
# 33000-33011 (156, a third without a card) got the same refusals as without the screen,
# at ~25 % less CPU for a card-free selfie's whole frame and windows (388 -> 287 ms median,
# load 8-11); a selfie with a held back costs up to ~15 % more (the screen, then the search).
_PRESCREEN_FLOOR = MIN_LAYOUT_SCORE - 0.1
# When ``find_card`` reads no back, the best this many candidates that the screen let
# through are read themselves (``_read_hints``). Held_back dev seeds 36000-36199
# (720x1280): at the chest 197 -> 198 of 200, beside the face 185 -> 193 (-> 198 with
# ``_FACE_CHECK``), card-free 0 of 200 either way (the reads follow a screen they passed).
# Both, confirmed once on h1's hold-out 36600-36679 (720x1280), before -> after: chest
# 78 -> 79 of 80, beside the face 65 -> 77 of 80, card-free 0 -> 0 of 80; on dev seeds at
# 960x1280 (36200-36259) and 12 MP (36300-36319) every back was refused before and after,
# no card-free selfie was; genuine selfies of verify_rates (21000+/23000+, 16): none.
_HINTS_READ = 2
# When no candidate passes the screen, the best ``_NEAR_ALIGNED`` whose rough read gives the
# My Number back at least ``_ALIGN_FLOOR``, ahead of every other class, are moved onto the
# layout (``align_to_layout``) and screened again. A card held by its two short sides (a
# thumb over each, the code under one) against a pale wall keeps no outline: the quad of its
# three seen sides lies a few millimetres off, its rough read falls under the screen (held_back
# dev 75904 thumb:0.5 chest 0.24 at IoU 0.92, 75950 glare:1.4 chest 0.29), while aligned it
# reads 0.55. Card-free windows (dev 75900-75939, 200): a near miss in 10 (9 selfies).
_ALIGN_FLOOR = 0.15
_NEAR_ALIGNED = 1
# ... and before that, in the selfie's windows, the ranked candidates after ``find_card``'s
# ``alternatives_ranked`` (16) are screened up to this rank: beside the face the face's,
# the hair's and the shoulders' quads can rank above the card's (held_back 76407 and 76414
# glare:1.4, studied: the card's quad at IoU 0.99, rough read 0.63, ranked 22nd and 31st).
_RANKED_SCREENED = 40
# The back's 2-D code: the square its modules fill, in card millimetres (centre x, centre
# y, side; the layout's code block, 62.3-78.7 x 18.3-34.7 mm, grey in the mean template).
# Where no window reads a back, ``find_held_my_number_back`` looks for the code
# (``_find_by_code``), whatever the card's outline shows: a white card over a pale wall
# keeps one or two sides' edges (a thumb over a third), and no outline search reads it.
# On held_back's development seeds 60000-60199 (720x1280, paired with 0a207dd's gate in
# one process, load ~8-10): beside the face 197 -> 200 of 200, at the chest 195 -> 200
# of 200, card-free 0 -> 0 of 200 (no code square seen in any); h1's four remaining
# misses of dev 36000-36199 (36107, 36130, 36156, 36173) all refused. A card-free
# selfie's gate CPU median 295 -> 312 ms (the square search, ~6 ms, then nothing to
# read). The code searched first refuses the same selfies (either way: code or windows)
# for less CPU on a held back (beside 294 -> 208 ms median) but returns coarser corners
# than the windows' outline (a 2.5x selfie's corners 3.7 px apart, not < 3).
_CODE_MM = (70.5, 26.5, 16.46)
# A code block's candidate square: its modules, dark against the local mean by this much
# (grey levels, over a box of ``_CODE_BOX`` px), closed by ``_CODE_CLOSE`` px into one
# square blob of ``_CODE_SIDE_PX`` px, at most ``_CODE_ASPECT`` long, filling its
# rectangle to ``_CODE_FILL`` and ``_CODE_DARK`` dark inside (random modules: ~half).
_CODE_OFFSET = 12
_CODE_BOX = 25
_CODE_CLOSE = 5
_CODE_SIDE_PX = (18.0, 400.0)
_CODE_ASPECT = 1.35
_CODE_FILL = 0.8
_CODE_DARK = (0.3, 0.8)
_CODE_RULE = (_CODE_OFFSET, _CODE_SIDE_PX, _CODE_ASPECT, _CODE_FILL, _CODE_DARK)
# Every selfie's windows are searched, whatever its print shows. Session 17 skipped them
# where no square of code-like print showed (a looser ``_CODE_RULE``, then on the selfie
# unsharp-masked): a card-free selfie's gate ~369 -> 133 ms CPU at 720x1280, 665 -> 159 ms
# at 12 MP. A thumb or glare over the code hides its square, while the windows still read
# the card by its outline and layout: a skin-coloured thumb over a third or half of the
# code's width, dev 69103-69112 (chest and beside, 720x1280 JPEG): refused 20/20 with the
# windows, 12/20 with the skip; dev 73500-73509, 18/20 with the skip. Session 18 looked for
# a rule that sees every covered back and skips card-free selfies, and found none (dev
# 73500-73519, 720x1280): with a white glare disc 1.4x the code's side over it (sharp, and
# blurred by 2.5 or 3 px), squares up to 3:1 (a code half covered) missed 10 of the 120
# backs (the windows refused 6 of the 7 checked) and already showed in 18 of 40 card-free
# selfies; with fill 0.55 and sides from 12 px every back showed one, and 39 of 40
# card-free selfies. Print density (dark strokes per card-sized box) and rows of parallel
# print overlapped as well (blurred backs down to card-free levels). A My Number back
# must never be kept, so the speed waits for a skip that needs no print to show.
# When the best turn's fit reads no back, it is placed again turned by these degrees or
# scaled by these factors (in this order): a card in perspective makes its code's square
# a few degrees and ~10 % off the card's. With the code alone (no windows) on dev seeds
# 60000-60199 (720x1280) backs read at the chest 185 -> 194 of 200, beside the face 195 ->
# 197; the gate's refusals there were already all 200 (windows or code). Costs nothing
# where no square reads (card-free: no square at all in 200), 4 fits more where one fails.
_CODE_NUDGES = ((-5.0, 1.0), (5.0, 1.0), (0.0, 0.9), (0.0, 1.1))
# When the nudged placements of the largest square read nothing either, the card is placed
# on the code's own two axes (``_code_axes``: its modules' edge directions and its extent
# across each), each quarter turn fitted, the best read (the best turn of the square's
# placements is no guide: they fit badly): a large card in perspective shears its code
# (held_back hold-out 61071, studied: rows at -13 deg, columns at -18, which no turned
# square fits; placed so it reads 0.56, max corner error 12 px after the fit). The code
# search alone (no windows) on the 9 dev backs it missed in session 16 (60000-60199: chest
# 60033, 60054, 60070, 60078, 60081, 60144, beside 60078, 60080, 60133; the windows read
# them) now reads 5 (60033, 60078 and 60081 chest, 60080 and 60133 beside).
_CODE_AXES = True
_QUARTER = np.array([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn (x to y: clockwise, y down)
# Code squares read at most, the largest first (a back's chip can pass as a small one):
# each costs four ``align_to_layout`` fits and a read, ~130 ms of CPU under load.
_CODES_READ = 3


def shows_my_number_back(detection: CardDetection | None) -> bool:
    """True when the detected card is a My Number card seen from the back."""
    return (
        detection is not None
        and detection.document_type is DocumentType.MY_NUMBER_CARD
        and detection.side is Side.BACK
    )


def refuse_my_number_back(detection: CardDetection | None) -> None:
    """Raise ``StepNotAllowed`` for a My Number card's back, whatever step it came in.

    Raises:
        StepNotAllowed: with ``reason="my_number_back"``; the caller must drop the image.
    """
    if shows_my_number_back(detection):
        raise StepNotAllowed(
            "the back of the My Number card carries the individual number and must not be "
            "photographed; it was discarded (個人番号カードの裏面は撮影できません)",
            reason="my_number_back",
        )


def held_back_half(image: Frame | RGBImage) -> RGBImage | None:
    """The selfie halved by ``cv2.pyrDown`` where the windows halve it, else None.

    A selfie of 2,560 px or more is halved on the way to the windows' size, and so is it
    by the whole frame's search (``find_card(half=...)``): the caller makes it once for
    both (~20 ms of CPU a 12 MP selfie).
    """
    rgb = image.image if isinstance(image, Frame) else image
    if max(rgb.shape[:2]) < 2 * _WINDOW_LONG_SIDE:
        return None
    return np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)


def find_held_my_number_back(
    image: Frame | RGBImage, layouts: CardLayouts, config: DetectConfig | None = None,
    *, half: RGBImage | None = None,
) -> CardDetection | None:  # fmt: skip
    """A My Number back held up in a selfie, below or beside the face; None if none is seen.

    The whole frame's ``find_card`` returns the head and shoulders' outline over such a card:
    call this on a selfie after it. The card is looked for by its outline in windows, then
    by its 2-D code (``_find_by_code``), in every selfie (no skip by what its print shows:
    the note under ``_CODE_RULE``).
    Corners in the frame's pixels.
    ``half``: the frame halved by ``cv2.pyrDown`` when the caller has it
    (``held_back_half``: a phone's selfie is shrunk through it).
    """
    rgb = image.image if isinstance(image, Frame) else image
    scale = min(1.0, _WINDOW_LONG_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:  # a held card fills much of a window: the size the windows were set at
        rgb = _shrink(rgb, scale, half)
    height, width = rgb.shape[:2]
    for upper, lower, left, right in selfie_windows(height, width):
        top, start = int(height * upper), int(width * left)
        window = np.ascontiguousarray(rgb[top : int(height * lower), start : int(width * right)])
        check = config or (_FACE_CHECK if upper == 0.0 else _WINDOW_CHECK)
        found = find_my_number_back(window, layouts, check, deep=True)
        if found is not None:
            return _moved(found, (start, top), scale)
    found = _find_by_code(rgb, layouts)
    return None if found is None else _moved(found, (0, 0), scale)


def _moved(found: CardDetection, shift: tuple[int, int], scale: float) -> CardDetection:
    """``found`` in a window at ``shift`` of the frame scaled by ``scale``, in the frame."""
    corners = ((found.quad.corners + np.array(shift, np.float32)) / scale).astype(np.float32)
    return dataclasses.replace(found, quad=CardQuad(corners, found.quad.score))


def selfie_windows(height: int, width: int) -> tuple[tuple[float, float, float, float], ...]:
    """The windows (top, bottom, left, right; fractions) a selfie of this size is searched in.

    The five set on 9:16 frames, then, for a wider frame, the chest rows again in 9:16
    columns at its left and right (``_COLUMN_ASPECT``).
    """
    share = height * _COLUMN_ASPECT / width
    if not _COLUMN_SHARES[0] <= share <= _COLUMN_SHARES[1]:
        return _SELFIE_WINDOWS
    columns = ((0.0, share), (1.0 - share, 1.0))
    extra = tuple((top, bottom, left, right) for top, bottom in _COLUMN_ROWS
                  for left, right in columns)  # fmt: skip
    return _SELFIE_WINDOWS + extra


def find_my_number_back(
    image: Frame | RGBImage, layouts: CardLayouts, config: DetectConfig | None = None,
    *, half: RGBImage | None = None, deep: bool = False,
) -> CardDetection | None:  # fmt: skip
    """``find_card``'s detection of a selfie (no proposal) when it is a My Number back.

    The search runs only where a candidate quad could be one (``_PRESCREEN_FLOOR``): a
    shot without a card skips ``find_card``'s refinements, finishing and layout reads.
    The candidates are those ``find_card`` starts from: the search's best ranked, then the
    quads of three sides it falls back to when its choice reads no layout. When
    ``find_card`` reads no back, the candidates the screen let through are read themselves
    (``_read_hints``). ``half``: the shot halved by ``cv2.pyrDown`` when the caller has it.
    ``deep``: screen the candidates ranked past ``find_card``'s too (``_RANKED_SCREENED``;
    the selfie's windows, where a held card's quad ranks below the face's and the hair's).
    """
    cfg = config or DetectConfig()
    hints = _back_hints(image, layouts, cfg, half, deep)
    if not hints:
        return None
    found = find_card(image, layouts, config=cfg, learned=SELFIE_LEARNED, half=half)
    if shows_my_number_back(found):
        return found
    return _read_hints(image, hints, layouts, cfg)


def _back_hints(
    image: Frame | RGBImage, layouts: CardLayouts, cfg: DetectConfig, half: RGBImage | None,
    deep: bool = False,
) -> list[F32]:  # fmt: skip
    """Candidate quads whose rough read gives the My Number back ``_PRESCREEN_FLOOR``.

    Best rough read first: the search's ranked candidates, or, when none reads so, the
    quads of three sides, or (``deep``) the candidates ranked below those ``find_card``
    reads (``_RANKED_SCREENED``), or the best near miss moved onto the layout (``_ALIGN_FLOOR``).
    """
    rgb = _rgb(image)
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    work = make_working_image(rgb, cfg, half)
    back = layouts.classes.index((DocumentType.MY_NUMBER_CARD, Side.BACK))
    count = len(layouts.classes)
    reader = CoarseReader(image, layouts, work.half if work.half is not None else half)

    near: list[tuple[float, F32]] = []

    def passing(quads: Iterable[F32]) -> list[F32]:
        read = []
        for quad in quads:
            scores = reader.scores(quad)
            best = np.maximum(scores[:count], scores[count:])
            score = float(best[back])
            if score >= _PRESCREEN_FLOOR:
                read.append((score, quad))
            elif score >= _ALIGN_FLOOR and int(np.argmax(best)) == back:
                near.append((score, quad))
        return [quad for _, quad in sorted(read, key=lambda r: -r[0])]

    def screened(part: list[tuple[float, float, F64]]) -> list[F32]:
        if not part:
            return []
        # ordered as the search orders its runners-up
        ordered = order_many(np.stack([quad for _, _, quad in part]) / work.scale, size, cfg)
        return passing(quad.astype(np.float32) for quad in ordered)

    ranked = ranked_candidates(work, AspectPrior.ID1, cfg)
    hints = screened(ranked[: cfg.alternatives_ranked])
    if hints:
        return hints
    # ``find_card`` falls back to quads of three sides whenever its choice reads no layout.
    hints = passing(three_side_quads(image, ID1_ASPECT, cfg, work))
    if hints:
        return hints
    hints = screened(ranked[cfg.alternatives_ranked : _RANKED_SCREENED] if deep else [])
    if hints:
        return hints
    # A near miss, moved onto the layout it nearly reads (``_ALIGN_FLOOR``).
    candidates = sorted(near, key=lambda r: -r[0])[:_NEAR_ALIGNED]
    return passing(align_to_layout(image, quad, layouts)[0] for _, quad in candidates)


def _read_hints(
    image: Frame | RGBImage, hints: list[F32], layouts: CardLayouts, cfg: DetectConfig
) -> CardDetection | None:
    """The first of the best ``_HINTS_READ`` hints that reads as the My Number back.

    ``find_card`` reads the layout of its choice and of its ``layout_alternatives``
    best-ranked runners-up only: a held card whose outline ranks below the shoulders',
    the face's and the hair's quads (held_back 36134, 15th of 30 in its chest window,
    rough read 0.38) is never read, although the screen saw it. Each hint is refined at
    full resolution and read as ``find_card`` reads its choice; one that reads no back is
    aligned to the layout as ``find_card``'s ``_realign`` aligns an unread quad.
    """
    rgb = _rgb(image)
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    for corners in hints[:_HINTS_READ]:
        refined = refine_sides(rgb, corners.astype(np.float64), cfg)
        if refined is not None:
            fits, fitted = refined
            support = sum(f.support for f in fits if f is not None) / 4.0
            done = finish_quad(image, fitted, support, cfg)
            found = _read_back(image, done, layouts)
            if found is not None:
                return found
        moved, _ = align_to_layout(image, corners, layouts)
        cut = cut_by_border(moved, size, cfg.border_margin_px)
        found = _read_back(image, QuadDetection(CardQuad(moved, 1.0), cut), layouts)
        if found is not None:
            return found
    return None


def _read_back(
    image: Frame | RGBImage, found: QuadDetection, layouts: CardLayouts
) -> CardDetection | None:
    """The quad's detection, upright, when its layout reads as the My Number back."""
    match = recognise(image, found.quad, layouts)
    if (match.document_type, match.side) != (DocumentType.MY_NUMBER_CARD, Side.BACK):
        return None
    return upright_detection(found, match)


def _rgb(image: Frame | RGBImage) -> RGBImage:
    return image.image if isinstance(image, Frame) else image


def _shrink(rgb: RGBImage, scale: float, half: RGBImage | None) -> RGBImage:
    """``rgb`` scaled by ``scale`` < 1 as the detector's working copy is (``quad.shrink``).

    Halved by ``cv2.pyrDown`` while the scale is 0.5 or less, then area-sampled: one
    area resampling of a 12 MP selfie to 1280 px by a factor of ~3.15 cost ~75 ms of CPU
    (load 9), ~5x the halving and the resampling of the half-size copy.
    """
    if scale <= 0.5:
        rgb = half if half is not None else np.asarray(cv2.pyrDown(rgb), dtype=np.uint8)
        scale *= 2.0
    return shrink(rgb, scale)


_Square = tuple[float, float, float, float]


def _code_squares(gray: npt.NDArray[np.uint8]) -> list[_Square]:
    """Squares of dense print, about half of it dark: the back's 2-D code, if any.

    ``(centre x, centre y, side, angle in degrees)``, the largest first. Every contour,
    not the outer ones only: a card's shaded edge can enclose its code (``_CODE_RULE``).
    """
    return [square for square, _ in _code_blobs(gray)]


def _code_blobs(gray: npt.NDArray[np.uint8]) -> list[tuple[_Square, npt.NDArray[np.int32]]]:
    """``_code_squares`` with each square's contour (frame pixels, ``(n, 1, 2)``)."""
    offset, (low, high), aspect, fill, (dark_low, dark_high) = _CODE_RULE
    mean = cv2.blur(gray, (_CODE_BOX, _CODE_BOX))
    dark = cv2.threshold(cv2.subtract(mean, gray), offset, 255, cv2.THRESH_BINARY)[1]
    closed = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((_CODE_CLOSE,) * 2, np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if min(w, h) < low * 0.7 or max(w, h) > high * 1.5:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        side = (rw + rh) / 2.0
        if not low <= side <= high or max(rw, rh) > aspect * min(rw, rh):
            continue
        if cv2.contourArea(contour) < fill * rw * rh:
            continue
        mask = np.zeros((h, w), np.uint8)
        cv2.drawContours(mask, [contour], 0, (255,), -1, offset=(-x, -y))
        inside = cv2.countNonZero(mask)
        share = cv2.countNonZero(cv2.bitwise_and(dark[y : y + h, x : x + w], mask)) / max(inside, 1)
        if dark_low <= share <= dark_high:
            square = (float(cx), float(cy), float(side), float(angle))
            found.append((square, np.asarray(contour, np.int32)))
    return sorted(found, key=lambda s: -s[0][2])


def _find_by_code(image: Frame | RGBImage, layouts: CardLayouts) -> CardDetection | None:
    """A My Number back placed from its 2-D code (``_CODE_MM``), whatever its outline shows.

    The code's square gives the card's scale and its turn up to a quarter: each quarter
    turn places the card around it, ``align_to_layout`` fits each placement's sides to the
    layouts, and the best-fitting one is read (``recognise``), then, if it reads no back,
    placed again a little turned or scaled (``_CODE_NUDGES``): the read, not the code, says
    whether it is the back. Corners in ``image``'s pixels.
    """
    rgb = _rgb(image)
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    blobs = _code_blobs(gray)
    cx_mm, cy_mm, _ = _CODE_MM
    width_mm, height_mm = ID1_SIZE_MM
    card = np.array([[0, 0], [width_mm, 0], [width_mm, height_mm], [0, height_mm]])
    card = card - (cx_mm, cy_mm)
    margin = DetectConfig().border_margin_px
    for rank, ((cx, cy, side, angle), contour) in enumerate(blobs[:_CODES_READ]):
        square = (cx, cy, side)
        fits = [align_to_layout(image, _placed(card, square, angle + 90.0 * t), layouts)
                for t in range(4)]  # fmt: skip
        turn = max(range(4), key=lambda t: fits[t][1])
        tries = [fits[turn][0]] + [
            _placed(card, square, angle + 90.0 * turn + d, f) for d, f in _CODE_NUDGES
        ]
        for i, quad in enumerate(tries):
            if i > 0:  # the best turn, nudged: the code's square was placed too far off
                quad, _ = align_to_layout(image, quad, layouts)
            cut = cut_by_border(quad, size, margin)
            found = _read_back(image, QuadDetection(CardQuad(quad, 1.0), cut), layouts)
            if found is not None:
                return found
        axes = _code_axes(gray, contour) if _CODE_AXES and rank == 0 else None
        if axes is not None:  # the card sheared in perspective: placed on the code's own axes
            at, per_mm = axes
            sheared = [align_to_layout(image, _on_axes(card, at, per_mm, t), layouts)
                       for t in range(4)]  # fmt: skip
            quad = max(sheared, key=lambda fit: fit[1])[0]
            cut = cut_by_border(quad, size, margin)
            found = _read_back(image, QuadDetection(CardQuad(quad, 1.0), cut), layouts)
            if found is not None:
                return found
    return None


def _code_axes(
    gray: npt.NDArray[np.uint8], contour: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """The code's centre and its two module axes in pixels per card millimetre (columns).

    The modules' edges run along the code's two axes, which perspective shears apart
    (``_CODE_AXES``): each axis is the mean direction, weighted by gradient strength, of
    the edges within 22.5 degrees of it, the pair first found from every edge's angle
    modulo 90 degrees. The code's extent across each family of edges (its contour
    projected on their normal) gives the scale along the other axis. None where the
    edges give no direction.
    """
    x, y, w, h = cv2.boundingRect(contour)
    patch = np.asarray(gray[y : y + h, x : x + w], np.float32)
    gx = np.asarray(cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3), np.float64).ravel()
    gy = np.asarray(cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3), np.float64).ravel()
    strength, theta = np.hypot(gx, gy), np.arctan2(gy, gx)
    base = float(np.angle(np.sum(strength * np.exp(4j * theta)))) / 4.0
    normals = []
    for axis in (base, base + np.pi / 2.0):
        off = np.angle(np.exp(2j * (theta - axis))) / 2.0
        weight = strength * (np.abs(off) < np.pi / 8.0)
        if weight.sum() <= 0.0:
            return None
        turn = axis + float(np.angle(np.sum(weight * np.exp(2j * off)))) / 2.0
        normals.append(np.array([np.cos(turn), np.sin(turn)]))
    across, down = normals  # normals of the code's columns' and rows' edges
    run_x = np.array([-down[1], down[0]])  # along a row: the card's x axis
    run_y = np.array([-across[1], across[0]])  # along a column: its y axis
    run_x = run_x if run_x[0] >= 0.0 else -run_x  # both as the frame's (no mirror card)
    run_y = run_y if run_y[1] >= 0.0 else -run_y
    points = contour.reshape(-1, 2).astype(np.float64)
    side = _CODE_MM[2]
    columns, centre = [], []
    for normal, run in ((across, run_x), (down, run_y)):
        spread = points @ normal
        reach = abs(float(run @ normal))
        if reach < 0.5:  # the two axes nearly parallel: no square
            return None
        columns.append(run * (float(spread.max() - spread.min()) / (side * reach)))
        centre.append((float(spread.max()) + float(spread.min())) / 2.0)
    at = np.linalg.solve(np.stack([across, down]), np.array(centre))
    return at, np.stack(columns, axis=1)


def _on_axes(
    card: npt.NDArray[np.float64], at: npt.NDArray[np.float64],
    per_mm: npt.NDArray[np.float64], turns: int,
) -> F32:  # fmt: skip
    """The card's corners (mm about the code's centre) on the code's axes, quarter-turned."""
    quarter = np.linalg.matrix_power(_QUARTER, turns)
    return np.asarray((card @ quarter.T) @ per_mm.T + at, np.float32)


def _placed(
    card: npt.NDArray[np.float64], square: tuple[float, float, float], turn_deg: float,
    scale: float = 1.0,
) -> F32:  # fmt: skip
    """The card's corners (mm about the code's centre) placed on a code square, turned."""
    cx, cy, side = square
    theta = np.deg2rad(turn_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return np.asarray((card * (side * scale / _CODE_MM[2])) @ rot.T + (cx, cy), np.float32)
