"""The selfie: no My Number back in it, one usable face, the card's portrait, the face match."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.capture.quality import glare_mask
from ekyc.detect import (
    CardLayouts,
    DetectConfig,
    find_held_my_number_back,
    refuse_my_number_back,
)
from ekyc.detect.back import find_my_number_back, held_back_half
from ekyc.match import (
    FaceGate,
    FaceMatcher,
    FusedEmbedder,
    MatchConfig,
    assess_face,
    embed_faces,
    refine_face,
)
from ekyc.methods.base import DocumentFindings, Evidence, timed_into
from ekyc.read.crosscheck import GLARE_MAX_FRACTION
from ekyc.screening import ShotScreening, portrait_glare_problems, selfie_problems
from ekyc.types import Embedding, FaceDetection, Frame, MatchScore, RGBImage
from ekyc.verdict import ReasonCode

__all__ = [
    "PortraitLook",
    "SelfieFaces",
    "SelfieLook",
    "check_selfie_for_back",
    "join_selfie_look",
    "look_at_portrait",
    "look_at_selfie",
    "look_at_selfie_faces",
    "selfie_stage",
]

# The My Number back check on the selfie: ``find_card`` without moving the sides of a quad
# whose layout is not read at all (``DetectConfig.realign_unread``, where it is measured).
_CARD_CHECK = DetectConfig(realign_unread=False)

# A portrait view is a fair sample of the face only with at most this share of its face box
# washed out (``_washed_fraction``: at least ``_WASHED_LEVEL`` bright, chroma at most
# ``_WASHED_CHROMA_PCT`` % of it). See ``_portraits`` for what it decides.
WASHED_MAX_FRACTION = 0.15
_WASHED_LEVEL = 190
_WASHED_CHROMA_PCT = 15
_WASHED_INNER = (0.15, 0.25, 0.85)  # the face box's left, top and right, as fractions
# ``_faded_eyes``: the square read around each eye's landmark, its half side as a fraction of
# the face box's width (the iris, lashes and lid, some brow), and the grey level
# percentiles taken as the eye's dark and bright levels.
_EYE_HALF = 0.12
_EYE_LEVELS = (5, 90)


@dataclass(frozen=True, slots=True, eq=False)
class SelfieFaces:
    """The embeddings the match used, for the liveness stage (None where not found)."""

    selfie: Embedding | None
    portrait: Embedding | None


@dataclass(frozen=True, slots=True, eq=False)
class SelfieLook:
    """``look_at_selfie``'s result: the selfie's faces, its face gate and embedding."""

    faces: tuple[FaceDetection, ...]
    gate: FaceGate
    embedding: Embedding | None
    timings_ms: dict[str, float] = field(default_factory=dict)


def look_at_selfie(selfie: Frame, matcher: FaceMatcher, layouts: CardLayouts,
                   config: MatchConfig, screened: ShotScreening | None = None
                   ) -> SelfieLook:  # fmt: skip
    """The selfie's own work, which needs no other shot and records nothing.

    ``check_selfie_for_back`` then ``look_at_selfie_faces``; the pipeline runs the two as
    separate pieces (the gate is the longest piece of a verification, the faces need not
    wait for it).

    ``screened``: the card ``find_card`` already found on the selfie's bytes (a screen on
    arrival, ``Verifier.screen_shot``); it is not looked for again, nor are the faces and
    the face gate where the screen judged them (``screened.face_gate``) with ``config``.

    Raises:
        StepNotAllowed: a My Number card's back is in the selfie.
    """
    timings = check_selfie_for_back(selfie, layouts, screened)
    look = look_at_selfie_faces(selfie, matcher, config, screened)
    return join_selfie_look(timings, look)


def check_selfie_for_back(selfie: Frame, layouts: CardLayouts,
                          screened: ShotScreening | None = None) -> dict[str, float]:  # fmt: skip
    """``look_at_selfie``'s My Number back gate: refuse a back in the selfie; its timings.

    The whole frame's search, unless ``screened`` found its card on arrival, then the
    held-back windows, unless ``screened`` searched them.

    Raises:
        StepNotAllowed: a My Number card's back is in the selfie.
    """
    timings: dict[str, float] = {}
    windows = screened is None or not screened.held_back_checked
    # A phone's selfie halved once for the whole frame's search and the windows alike.
    half = held_back_half(selfie) if windows else None
    if screened is not None:
        refuse_my_number_back(screened.detection)
    else:
        with timed_into(timings, "selfie.card_check"):
            # Searched only where a candidate could be the back (``find_my_number_back``).
            refuse_my_number_back(find_my_number_back(selfie, layouts, _CARD_CHECK, half=half))
    if windows:
        with timed_into(timings, "selfie.held_card_check"):
            refuse_my_number_back(find_held_my_number_back(selfie, layouts, half=half))
    return timings


def look_at_selfie_faces(selfie: Frame, matcher: FaceMatcher, config: MatchConfig,
                         screened: ShotScreening | None = None) -> SelfieLook:  # fmt: skip
    """``look_at_selfie``'s faces, face gate and embedding (not the My Number back gate).

    The faces and the gate are the screen's where it judged them (``screened.face_gate``).
    """
    timings: dict[str, float] = {}
    if screened is not None and screened.face_gate is not None:
        faces, gate = screened.found_faces, screened.face_gate
    else:
        with timed_into(timings, "selfie.faces"):
            faces = matcher.detector.detect(selfie.image)
            gate = assess_face(selfie.image, faces, config)
    if gate.face is None or len(faces) != 1:
        return SelfieLook(faces, gate, None, timings)
    with timed_into(timings, "selfie.embed"):
        embedding = embed_faces(selfie.image, (gate.face,), matcher.embedder)[0]
    return SelfieLook(faces, gate, embedding, timings)


def join_selfie_look(gate_timings: dict[str, float], look: SelfieLook) -> SelfieLook:
    """``look`` with the back gate's timings first, as ``look_at_selfie`` records them."""
    return SelfieLook(look.faces, look.gate, look.embedding, {**gate_timings, **look.timings_ms})


def selfie_stage(selfie: Frame, findings: DocumentFindings, matcher: FaceMatcher,
                 layouts: CardLayouts, config: MatchConfig, evidence: Evidence,
                 look: SelfieLook | None = None,
                 portraits: Sequence[PortraitLook] | None = None) -> SelfieFaces:  # fmt: skip
    """Judge the selfie and match it against the document's reference face.

    ``look`` is ``look_at_selfie``'s result when the pipeline ran it beforehand;
    ``portraits`` are ``look_at_portrait``'s on ``findings.reference_face`` and then on each
    of ``findings.other_views``, in that order, when the pipeline looked at them beforehand.
    """
    seen = look if look is not None else look_at_selfie(selfie, matcher, layouts, config)
    for name, ms in seen.timings_ms.items():
        evidence.timing(name, ms)
    evidence.model(matcher.detector.model)
    evidence.model(matcher.embedder.model)
    if isinstance(matcher.embedder, FusedEmbedder):  # the fusion's sha256 covers only its JSON
        for member in matcher.embedder.members:
            evidence.model(member.embedder.model)
    faces, gate, mine = seen.faces, seen.gate, seen.embedding
    evidence.check("selfie", faces=len(faces), issues=[i.value for i in gate.issues],
                   advice=[i.value for i in gate.advice],
                   checks={k: round(c.value, 4) for k, c in gate.checks.items()})  # fmt: skip
    problems = selfie_problems(len(faces), gate)  # as on arrival
    for problem in problems:
        evidence.reason(problem.code, "selfie", problem.detail)
    if mine is None:  # not exactly one face: look_at_selfie embeds only then
        return SelfieFaces(None, None)
    found = _portraits(findings, matcher, evidence, portraits)
    if not found:
        return SelfieFaces(mine, None)
    used = (
        [p for p in found if p.trusted]
        or [p for p in found if p.glare <= GLARE_MAX_FRACTION]
        or [min(found, key=lambda p: p.glare)]
    )  # fmt: skip
    scores = [matcher.compare(p.embedding, mine) for p in used]
    score = MatchScore(float(np.mean([s.similarity for s in scores])), scores[0].threshold,
                       scores[0].fmr, scores[0].model)  # fmt: skip
    evidence.check("match", similarity=round(score.similarity, 4),
                   threshold=round(score.threshold, 4), fmr=score.fmr, match=score.match,
                   model=score.model.id, references=[
                       {"view": p.view, "similarity": round(s.similarity, 4),
                        "glare_fraction": round(p.glare, 4),
                        "washed_fraction": round(p.washed, 4)}
                       for p, s in zip(used, scores, strict=True)])  # fmt: skip
    uncertain = matcher.in_review_band(score)
    if matcher.review_threshold is not None:  # the band is on (MatchConfig.review_fmr)
        band = "match" if score.match else "review" if uncertain else "mismatch"
        evidence.check("match", review_threshold=round(matcher.review_threshold, 4),
                       review_fmr=matcher.review_fmr, band=band)  # fmt: skip
    if uncertain:  # neither accepted nor rejected: a person looks (MatchConfig.review_fmr)
        evidence.reason(ReasonCode.FACE_MATCH_UNCERTAIN, "match", _band_detail(score, matcher))
    elif not score.match:
        evidence.reason(ReasonCode.FACE_MISMATCH, "match")
    if not score.match:
        # The rule the front step is judged by on arrival: there the daemon asks again.
        for problem in portrait_glare_problems(min(p.glare for p in used)):
            evidence.reason(problem.code, "portrait", problem.detail)
    return SelfieFaces(mine, used[0].embedding)


def _band_detail(score: MatchScore, matcher: FaceMatcher) -> str:
    """The review band's evidence for a person: the score, both thresholds and their rates."""
    return (f"similarity {score.similarity:.4f} under {score.threshold:.4f} (FMR "
            f"{score.fmr:g}) but not under {matcher.review_threshold:.4f} (FMR "
            f"{matcher.review_fmr:g}), {score.model.id}")  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class PortraitLook:
    """``look_at_portrait``'s result on one view of the card.

    The faces found, the best one's glare and embedding (None without a face), and how
    long it took.
    """

    faces: tuple[FaceDetection, ...]
    glare: float = 0.0
    embedding: Embedding | None = None
    ms: float = 0.0
    washed: float = 0.0
    """Share of the best face's box washed out by a soft highlight (``_washed_fraction``)."""
    faded: float = 0.0
    """The best face's eyes faded by a veil of light, 0 (dark) to 1 (gone): ``_faded_eyes``."""

    @property
    def best(self) -> FaceDetection | None:
        """The surest face, the one embedded."""
        return max(self.faces, key=lambda f: f.score) if self.faces else None


def look_at_portrait(image: RGBImage, matcher: FaceMatcher) -> PortraitLook:
    """The printed portrait on one view of the card.

    The surest face is looked at again (``refine_face``) before it is embedded: on the whole
    card YuNet places the small portrait's five points loosely, and the card thresholds
    (``thresholds_by_fmr_card``) are calibrated on refined portraits. ``faces`` and ``best``
    stay the first pass's (the box the glare and the evidence use). Records nothing, so it can
    run on another thread as soon as the view is rectified.
    """
    start = time.perf_counter()
    faces = matcher.detector.detect(image)
    best = max(faces, key=lambda f: f.score) if faces else None
    if best is None:
        return PortraitLook(faces, ms=(time.perf_counter() - start) * 1000.0)
    glare = _glare_fraction(image, best.box)
    washed = _washed_fraction(image, best.box)
    faded = _faded_eyes(image, best)
    refined = refine_face(matcher.detector, image, best)
    embedding = embed_faces(image, (refined,), matcher.embedder)[0]
    return PortraitLook(faces, glare, embedding, (time.perf_counter() - start) * 1000.0, washed,
                        faded)  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class _Portrait:
    view: str
    embedding: Embedding
    glare: float
    washed: float = 0.0

    @property
    def trusted(self) -> bool:
        """Neither clipped highlights nor a soft veil over the face: a fair sample of it."""
        return self.glare <= GLARE_MAX_FRACTION and self.washed <= WASHED_MAX_FRACTION


def _portraits(findings: DocumentFindings, matcher: FaceMatcher, evidence: Evidence,
               looks: Sequence[PortraitLook] | None = None) -> list[_Portrait]:  # fmt: skip
    """The document's portrait on every view of the card: the front's, then the others'.

    The selfie is compared with the mean score over the views whose portrait has glare
    on at most ``GLARE_MAX_FRACTION`` of its face (else with the least glared one): the
    enrolment of one face from several samples. Why: a highlight over the printed face
    drags a genuine score down (seed 20002: 2.78 against the card threshold of the time,
    5.06; 5.36 since every-pair calibration), and the
    tilted shot, shown to be the same card, rarely has it in the same place; averaging
    two samples' scores also narrows both the genuine and the impostor spread. On the
    selfies and card shots of 60 generated genuine applicants (seeds 21000-21140), at 5.06:
    genuine scores under the threshold 2 -> 2 (one fixed, one lost), other-person pairs at or over
    it (3,532 pairs of one's cards and another's selfie) 7 -> 3. A view joins only when its
    portrait matches the front's (same card: 8.7 or more, median 15.8, on those 60); the
    views used are chosen from the card's images only, never from the selfie.

    A view is a fair sample only when its face is neither glared (``GLARE_MAX_FRACTION``)
    nor washed out by a soft highlight under the clipping level (``WASHED_MAX_FRACTION``):
    the views used are the fair ones where any is. A veiled front drags its score against
    its own card's other view down too (consumed seed 35064, studied only: the front's
    veiled portrait scored 2.24 against the selfie and 3.86 against the clean tilted view,
    under the match threshold, and the clean view was dropped). So where the front's
    portrait is not fair, a fair view that reaches the review band's threshold against it
    (``FaceMatcher.review_threshold``, FMR 1e-2; none without the band) stands in for it.
    The same-card check does not bind the portrait (a card printed with the same text and
    another face scores 0.56-0.84 against the genuine one, threshold 0.68), so the face bind
    stays: another person's portrait reaches it about once in a hundred, and whoever can
    print such a card can show it as every shot anyway.

    ``looks``: ``look_at_portrait`` on the reference face and each other view, in that
    order (the reference face's alone when it shows no face), already done; looked at
    here when None.
    """
    reference = findings.reference_face
    if reference is None:
        return []  # the document stages already said why
    if looks is None:
        looks = [look_at_portrait(reference, matcher)]
        if looks[0].best is not None:  # the other views only count beside the front's
            looks += [look_at_portrait(view, matcher) for view in findings.other_views]
    elif len(looks) != (1 + len(findings.other_views) if looks and looks[0].best else 1):
        # Without a face on the front's portrait the other views are not looked at (the
        # pipeline passes the front's look alone then), whatever the same-card check kept.
        raise ValueError(f"{len(looks)} portrait looks for {1 + len(findings.other_views)} views")
    found: list[_Portrait] = []
    with evidence.timed("portrait"):
        front = looks[0]
        best = front.best
        if best is None or front.embedding is None:
            evidence.check("portrait", faces=0)
            evidence.reason(ReasonCode.NO_FACE_ON_CARD, "portrait")
            return []
        evidence.check("portrait", faces=len(front.faces), score=round(best.score, 4),
                       box=best.box.round(1).tolist(),
                       glare_fraction=round(front.glare, 4),
                       washed_fraction=round(front.washed, 4))  # fmt: skip
        found.append(_Portrait("front", front.embedding, front.glare, front.washed))
        others: list[dict[str, Any]] = []
        for i, view in enumerate(looks[1:]):
            best = view.best
            if best is None or view.embedding is None:  # a finger over it: the front's is enough
                others.append({"view": i, "faces": 0})
                continue
            # Only the same face joins: should the same-card check ever pass another
            # person's card, its portrait must not pull the score towards the selfie.
            same_face = matcher.compare(found[0].embedding, view.embedding)
            portrait = _Portrait("tilt" if i == 0 else f"tilt{i}", view.embedding, view.glare,
                                 view.washed)  # fmt: skip
            # A fair view stands in for a front veiled over (see the docstring) at the review
            # band's looser face bind.
            stands_in = (not same_face.match and not found[0].trusted and portrait.trusted
                         and matcher.review_threshold is not None
                         and same_face.similarity >= matcher.review_threshold)  # fmt: skip
            others.append({"view": i, "faces": len(view.faces), "score": round(best.score, 4),
                           "box": best.box.round(1).tolist(),
                           "glare_fraction": round(view.glare, 4),
                           "washed_fraction": round(view.washed, 4),
                           "front_similarity": round(same_face.similarity, 4),
                           "used": same_face.match or stands_in,
                           "stands_in": stands_in})  # fmt: skip
            if same_face.match or stands_in:
                found.append(portrait)
        if others:
            evidence.check("portrait", other_views=others)
    evidence.timing("portrait", sum(look.ms for look in looks))
    return found


def _washed_fraction(image: RGBImage, box_xywh: npt.NDArray[np.float32]) -> float:
    """Share of the face's pixels washed out: bright (``_WASHED_LEVEL``), nearly colourless.

    A soft highlight over a printed portrait (a lamp's reflection through the card's gloss,
    under the clipping level ``glare_mask`` looks for) veils the face in white: the skin's
    colour goes, the features fade and the embedding drifts. Counted over the face box's
    middle (``_WASHED_INNER``: brows to chin, cheek to cheek), without the hair, a hat or
    the portrait's background at its edges (a white hat read 0.17-0.24 over the whole box,
    0.00 inside). Dev seeds 68000-68045 (studied, 74 views): clean portraits 0.00-0.10, a
    veil or a glare streak over the face 0.14-0.43; consumed seed 35064 (studied only) 0.26
    on the front, 0.00 on the same card's tilted view.
    """
    x, y, bw, bh = (float(v) for v in box_xywh)
    left, top, right = _WASHED_INNER
    crop = _box_crop(image, (x + left * bw, y + top * bh, (right - left) * bw, (1.0 - top) * bh))
    if crop is None:
        return 0.0
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    lo = np.minimum(np.minimum(r, g), b).astype(np.int16)
    hi = np.maximum(np.maximum(r, g), b).astype(np.int16)
    washed = (hi >= _WASHED_LEVEL) & ((hi - lo) * 100 <= _WASHED_CHROMA_PCT * hi)
    return float(np.mean(washed))


def _faded_eyes(image: RGBImage, face: FaceDetection) -> float:
    """How far a veil of light has lifted the face's darkest features (0 dark to 1 gone).

    For the worse eye, its dark grey level over its bright one (``_EYE_LEVELS``) around the
    eye's landmark. A reflection through the card's gloss adds white over the print,
    ``(1 - a) I + a W``: the iris, lashes and lid rise towards the skin around them, and the
    ratio towards 1. A gain (the exposure, the room's light) leaves a ratio as it is, and
    whatever the skin's colour, the eyes are its darkest part; whereas a bright, nearly
    colourless face box (``_washed_fraction``) is also a fair face in a bright shot
    (``make_applicant(3)``'s clean front: 0.37 washed, eyes 0.62). Blur, which spreads the
    iris into the skin, and dark skin read highest among clean fronts
    (``ekyc.screening.FADED_MAX_RATIO``).
    """
    h, w = image.shape[:2]
    half = _EYE_HALF * float(face.box[2])
    worst = 0.0
    for x, y in face.landmarks[:2]:
        x0, y0 = max(0, int(x - half)), max(0, int(y - half))
        x1, y1 = min(w, int(x + half) + 1), min(h, int(y + half) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        dark, bright = np.percentile(grey, _EYE_LEVELS)
        worst = max(worst, float(dark) / max(float(bright), 1.0))
    return worst


def _glare_fraction(image: RGBImage, box_xywh: npt.NDArray[np.float32]) -> float:
    """Share of the box's pixels in ``glare_mask`` (saturated, colourless highlights)."""
    crop = _box_crop(image, box_xywh)
    return 0.0 if crop is None else float(np.mean(glare_mask(crop)))


def _box_crop(
    image: RGBImage, box_xywh: tuple[float, float, float, float] | npt.NDArray[np.float32]
) -> RGBImage | None:
    """The pixels of an ``(x, y, w, h)`` box clipped to the image (a view); None if empty."""
    h, w = image.shape[:2]
    x, y, bw, bh = box_xywh
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, int(np.ceil(x + bw))), min(h, int(np.ceil(y + bh)))
    if x1 <= x0 or y1 <= y0:
        return None
    return image[y0:y1, x0:x1]
