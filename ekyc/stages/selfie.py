"""The selfie: no My Number back in it, one usable face, the card's portrait, the face match."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
    "look_at_portrait",
    "look_at_selfie",
    "selfie_stage",
]

# The My Number back check on the selfie: ``find_card`` without moving the sides of a quad
# whose layout is not read at all (``DetectConfig.realign_unread``, where it is measured).
_CARD_CHECK = DetectConfig(realign_unread=False)


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

    ``screened``: the card ``find_card`` already found on the selfie's bytes (a screen on
    arrival, ``Verifier.screen_shot``); it is not looked for again, nor are the faces and
    the face gate where the screen judged them (``screened.face_gate``) with ``config``.

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
    used = [p for p in found if p.glare <= GLARE_MAX_FRACTION] or [
        min(found, key=lambda p: p.glare)
    ]
    scores = [matcher.compare(p.embedding, mine) for p in used]
    score = MatchScore(float(np.mean([s.similarity for s in scores])), scores[0].threshold,
                       scores[0].fmr, scores[0].model)  # fmt: skip
    evidence.check("match", similarity=round(score.similarity, 4),
                   threshold=round(score.threshold, 4), fmr=score.fmr, match=score.match,
                   model=score.model.id, references=[
                       {"view": p.view, "similarity": round(s.similarity, 4),
                        "glare_fraction": round(p.glare, 4)}
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
    refined = refine_face(matcher.detector, image, best)
    embedding = embed_faces(image, (refined,), matcher.embedder)[0]
    return PortraitLook(faces, glare, embedding, (time.perf_counter() - start) * 1000.0)


@dataclass(frozen=True, slots=True, eq=False)
class _Portrait:
    view: str
    embedding: Embedding
    glare: float


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
                       glare_fraction=round(front.glare, 4))  # fmt: skip
        found.append(_Portrait("front", front.embedding, front.glare))
        others: list[dict[str, Any]] = []
        for i, view in enumerate(looks[1:]):
            best = view.best
            if best is None or view.embedding is None:  # a finger over it: the front's is enough
                others.append({"view": i, "faces": 0})
                continue
            # Only the same face joins: should the same-card check ever pass another
            # person's card, its portrait must not pull the score towards the selfie.
            same_face = matcher.compare(found[0].embedding, view.embedding)
            others.append({"view": i, "faces": len(view.faces), "score": round(best.score, 4),
                           "box": best.box.round(1).tolist(),
                           "glare_fraction": round(view.glare, 4),
                           "front_similarity": round(same_face.similarity, 4),
                           "used": same_face.match})  # fmt: skip
            if same_face.match:
                found.append(_Portrait("tilt" if i == 0 else f"tilt{i}", view.embedding,
                                       view.glare))  # fmt: skip
        if others:
            evidence.check("portrait", other_views=others)
    evidence.timing("portrait", sum(look.ms for look in looks))
    return found


def _glare_fraction(image: RGBImage, box_xywh: npt.NDArray[np.float32]) -> float:
    """Share of the box's pixels in ``glare_mask`` (saturated, colourless highlights)."""
    h, w = image.shape[:2]
    x, y, bw, bh = box_xywh
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, int(np.ceil(x + bw))), min(h, int(np.ceil(y + bh)))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(np.mean(glare_mask(image[y0:y1, x0:x1])))
