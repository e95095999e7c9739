"""The selfie stage on a generated card: glare on the portrait is reported, not only a mismatch."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from benchmarks.synth.cards import CardFace, render_card
from benchmarks.synth.generate import face_people, load_face
from benchmarks.synth.identity import make_identity
from benchmarks.synth.selfie import render_selfie
from ekyc.capture.decode import decode_image
from ekyc.detect import CardLayouts
from ekyc.match import FaceMatcher, MatchConfig
from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.registry import Registry
from ekyc.screening import FADED_MAX_RATIO
from ekyc.stages import selfie_stage
from ekyc.stages.selfie import WASHED_MAX_FRACTION, look_at_portrait
from ekyc.types import DocumentType, Frame, Side
from ekyc.verdict import Decision, ReasonCode, decide
from tests.conftest import data_dir
from tests.factories import encode

pytestmark = [pytest.mark.models, pytest.mark.dataset]

_CONFIG = MatchConfig(budget="card")
_DOC = DocumentType.MY_NUMBER_CARD


@functools.cache
def _models() -> tuple[FaceMatcher, CardLayouts]:
    registry = Registry.from_manifest()
    return FaceMatcher.from_registry(registry, config=_CONFIG), CardLayouts.from_registry(registry)


def _people() -> tuple[tuple[str, ...], tuple[str, ...]]:
    faces = data_dir() / "lfw_pairs_aligned112"
    if not faces.is_dir():
        pytest.skip(f"needs {faces}")
    people = face_people(faces)
    return tuple(map(str, people[0])), tuple(map(str, people[1]))


@functools.cache
def _rendered(face: str) -> CardFace:
    """The front of identity 3 with ``face``'s portrait, rendered once per module: every test
    here draws on the same few cards (read-only; ``_card`` and ``_veiled`` copy the image)."""
    return render_card(_DOC, Side.FRONT, make_identity(3, _DOC), load_face(face), 10.0)


@functools.cache
def _selfie(face: str) -> Frame:
    """``face``'s selfie (720x960, rng 5) as the stage receives it (PNG bytes decoded), made
    once per module: the stage only reads it (the array is read-only to make sure)."""
    selfie, _ = render_selfie(load_face(face), (720, 960), np.random.default_rng(5))
    frame = decode_image(encode(selfie, "PNG"))
    frame.image.flags.writeable = False
    return frame


@functools.cache
def _card(face: str, glare: bool) -> np.ndarray:
    """The card image (read-only: cached and shared by the tests)."""
    card = _rendered(face)
    image = np.array(card.image[..., :3])
    if glare and card.portrait_box is not None:
        x0, y0, x1, y1 = card.portrait_box
        centre = ((x0 + x1) // 2, (y0 + y1) // 2 - (y1 - y0) // 8)  # over the eyes
        cv2.ellipse(image, centre, ((x1 - x0) // 5, (y1 - y0) // 10), 0, 0, 360, (255,) * 3, -1)
    image.flags.writeable = False
    return image


def _run(card: np.ndarray, selfie_face: str) -> Evidence:
    matcher, layouts = _models()
    frame = _selfie(selfie_face)
    evidence = Evidence()
    findings = DocumentFindings(reference_face=card, card_image=card, document_type=_DOC)
    selfie_stage(frame, findings, matcher, layouts, _CONFIG, evidence)
    return evidence


class TestSelfieStage:
    def test_glare_on_the_portrait_of_a_mismatch_asks_for_a_retake(self):
        me, other = _people()
        evidence = _run(_card(me[0], glare=True), other[0])
        codes = [(r.code.value, r.stage) for r in evidence.reasons]
        assert ("FACE_MISMATCH", "match") in codes  # still a rejection
        assert ("GLARE_ON_FIELDS", "portrait") in codes
        assert evidence.checks["portrait"]["glare_fraction"] > 0.02

    def test_a_mismatch_without_glare_is_only_a_mismatch(self):
        me, other = _people()
        evidence = _run(_card(me[0], glare=False), other[0])
        assert [r.code.value for r in evidence.reasons] == ["FACE_MISMATCH"]
        assert evidence.checks["portrait"]["glare_fraction"] == 0.0


def _run_views(card: np.ndarray, others: tuple[np.ndarray, ...], selfie_face: str) -> Evidence:
    matcher, layouts = _models()
    frame = _selfie(selfie_face)
    evidence = Evidence()
    findings = DocumentFindings(reference_face=card, card_image=card, document_type=_DOC,
                                other_views=others)  # fmt: skip
    selfie_stage(frame, findings, matcher, layouts, _CONFIG, evidence)
    return evidence


class TestPortraitViews:
    """The tilted shot of the same card is a second sample of the portrait."""

    def test_a_glared_front_portrait_gives_way_to_the_other_view(self):
        me, _ = _people()
        clean = _card(me[0], glare=False)
        alone = _run_views(clean, (), me[1]).checks["match"]["similarity"]
        match = _run_views(_card(me[0], glare=True), (clean,), me[1]).checks["match"]
        assert [r["view"] for r in match["references"]] == ["tilt"]
        assert match["similarity"] == pytest.approx(alone, abs=1e-3)

    def test_two_clean_portraits_are_averaged(self):
        me, other = _people()
        front = _card(me[0], glare=False)
        tilt = cv2.GaussianBlur(front, (5, 5), 1.2)  # another sample of the same print
        for selfie in (me[1], other[0]):
            one = _run_views(front, (), selfie).checks["match"]["similarity"]
            two = _run_views(tilt, (), selfie).checks["match"]["similarity"]
            evidence = _run_views(front, (tilt,), selfie)
            match = evidence.checks["match"]
            assert [r["view"] for r in match["references"]] == ["front", "tilt"]
            assert match["similarity"] == pytest.approx((one + two) / 2, abs=1e-3)
            assert evidence.checks["portrait"]["other_views"][0]["glare_fraction"] == 0.0

    def test_glare_on_every_view_of_a_mismatch_still_asks_for_a_retake(self):
        me, other = _people()
        glared = _card(me[0], glare=True)
        evidence = _run_views(glared, (glared,), other[0])
        codes = [(r.code.value, r.stage) for r in evidence.reasons]
        assert ("FACE_MISMATCH", "match") in codes
        assert ("GLARE_ON_FIELDS", "portrait") in codes
        assert [r["view"] for r in evidence.checks["match"]["references"]] == ["front"]

    def test_another_persons_portrait_never_joins(self):
        """Should the same-card check pass another person's card as the tilted shot, its
        portrait (the impostor's own) must not lift their selfie's score."""
        me, other = _people()
        evidence = _run_views(_card(me[0], glare=False), (_card(other[1], glare=False),),
                              other[0])  # fmt: skip
        assert [r["view"] for r in evidence.checks["match"]["references"]] == ["front"]
        assert evidence.checks["portrait"]["other_views"][0]["used"] is False
        assert [r.code.value for r in evidence.reasons] == ["FACE_MISMATCH"]


def _veiled(face: str, alpha: float) -> np.ndarray:
    """The card with a soft white veil over the portrait's upper face, under the clipping
    level ``glare_mask`` looks for (a reflection through the card's gloss)."""
    card = _rendered(face)
    image = np.array(card.image[..., :3], dtype=np.float32)
    assert card.portrait_box is not None
    x0, y0, x1, y1 = card.portrait_box
    mask = np.zeros(image.shape[:2], np.float32)
    centre = ((x0 + x1) // 2, (y0 + y1) // 2 - (y1 - y0) // 10)
    cv2.ellipse(mask, centre, ((x1 - x0) * 2 // 5, (y1 - y0) // 4), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), (x1 - x0) / 20)[..., None] * alpha
    return np.clip(image * (1 - mask) + 236 * mask, 0, 255).astype(np.uint8)


class TestVeiledPortrait:
    """A soft highlight washes the front's portrait out: a clean view of the same card counts
    instead (consumed seed 35064's cause), never another person's portrait."""

    def _run(self, front: np.ndarray, others: tuple[np.ndarray, ...], selfie_face: str,
             matcher: FaceMatcher) -> Evidence:  # fmt: skip
        layouts = _models()[1]
        evidence = Evidence()
        findings = DocumentFindings(reference_face=front, card_image=front, document_type=_DOC,
                                    other_views=others)  # fmt: skip
        selfie_stage(_selfie(selfie_face), findings, matcher, layouts, _BAND, evidence)
        return evidence

    def test_a_veiled_front_gives_way_to_the_clean_view_it_matches(self):
        me, _ = _people()
        clean = _card(me[0], glare=False)
        alone = self._run(clean, (), me[1], _band_matcher()).checks["match"]["similarity"]
        evidence = self._run(_veiled(me[0], 0.7), (clean,), me[1], _band_matcher())
        portrait, match = evidence.checks["portrait"], evidence.checks["match"]
        assert portrait["glare_fraction"] <= 0.02
        assert portrait["washed_fraction"] > WASHED_MAX_FRACTION
        assert portrait["other_views"][0]["washed_fraction"] < 0.05
        assert portrait["other_views"][0]["used"]
        assert not portrait["other_views"][0]["stands_in"]
        assert [r["view"] for r in match["references"]] == ["tilt"]
        assert match["similarity"] == pytest.approx(alone, abs=1e-3)

    def test_a_veil_fades_the_eyes_past_the_retake_limit_a_clean_card_does_not(self):
        """``PortraitLook.faded``, the arrival's washed-out rule: the veil lifts the eyes'
        dark towards the skin; the same card clean, fair or dark, stays under the limit."""
        matcher = _models()[0]
        me, other = _people()
        for face in (me[0], other[0], "astronaut"):
            clean = look_at_portrait(_card(face, glare=False), matcher)
            assert clean.faces
            assert clean.faded <= FADED_MAX_RATIO
        veiled = look_at_portrait(_veiled(me[0], 0.85), matcher)
        assert veiled.glare <= 0.02  # under the clipping level: not the glare rule's
        assert veiled.faded > FADED_MAX_RATIO

    def test_a_clean_view_in_the_review_band_stands_in_for_a_veiled_front(self):
        me, _ = _people()
        band = _band_matcher()
        veiled, clean = _veiled(me[0], 0.85), _card(me[0], glare=False)
        # Thresholds set around this pair's own score (5.33 when written: a veil this thick
        # drags it to the match threshold) so that it falls in the band: the rule, not the
        # calibration, is under test.
        strict = FaceMatcher(band.detector, band.embedder, threshold=band.threshold + 1.0,
                             fmr=band.fmr, review_threshold=band.review_threshold,
                             review_fmr=band.review_fmr)  # fmt: skip
        evidence = self._run(veiled, (clean,), me[1], strict)
        view = evidence.checks["portrait"]["other_views"][0]
        assert band.review_threshold <= view["front_similarity"] < strict.threshold
        assert view["used"]
        assert view["stands_in"]
        assert [r["view"] for r in evidence.checks["match"]["references"]] == ["tilt"]
        # Without a review band there is no looser bind: the front alone, as before.
        bare = FaceMatcher(band.detector, band.embedder, threshold=strict.threshold,
                           fmr=band.fmr)  # fmt: skip
        evidence = self._run(veiled, (clean,), me[1], bare)
        assert not evidence.checks["portrait"]["other_views"][0]["used"]
        assert [r["view"] for r in evidence.checks["match"]["references"]] == ["front"]

    def test_another_persons_clean_portrait_never_stands_in(self):
        """The same-card check does not bind the portrait (a card printed with the same text
        and another face can pass it): the face bind must refuse it."""
        me, other = _people()
        evidence = self._run(_veiled(me[0], 0.7), (_card(other[1], glare=False),), other[0],
                             _band_matcher())  # fmt: skip
        view = evidence.checks["portrait"]["other_views"][0]
        assert view["front_similarity"] < _band_matcher().review_threshold
        assert not view["used"]
        assert not view["stands_in"]
        assert [r["view"] for r in evidence.checks["match"]["references"]] == ["front"]
        assert decide(evidence.reasons) is not Decision.ACCEPT


_BAND = MatchConfig(budget="card", review_fmr=1e-2)
# A genuine LFW pair of this module's setup (card _card(..., glare=False), selfie rng 5)
# whose real similarity falls between the card budget's FMR 1e-2 and 1e-3 thresholds
# (4.30 between 3.84 and 4.98 when chosen: the one of the first 80 people's 128 genuine
# pairs scored once; another scored 3.19, below the band).
_IN_BAND = ("Andy_Roddick/Andy_Roddick_0008.jpg", "Andy_Roddick/Andy_Roddick_0010.jpg")


@functools.cache
def _band_matcher() -> FaceMatcher:
    return FaceMatcher.from_registry(Registry.from_manifest(), config=_BAND)


def _run_band(card_face: str, selfie_face: str, *, band: bool = True) -> Evidence:
    matcher, layouts = (_band_matcher() if band else _models()[0]), _models()[1]
    frame = _selfie(selfie_face)
    evidence = Evidence()
    card = _card(card_face, glare=False)
    findings = DocumentFindings(reference_face=card, card_image=card, document_type=_DOC)
    selfie_stage(frame, findings, matcher, layouts, _BAND if band else _CONFIG, evidence)
    return evidence


def _in_band() -> tuple[str, str]:
    root = data_dir() / "lfw_pairs_aligned112" / "images"
    if not root.is_dir():
        pytest.skip(f"needs {root}")
    return tuple(str(root / name) for name in _IN_BAND)  # type: ignore[return-value]


class TestReviewBand:
    """Between the FMR 1e-2 and 1e-3 thresholds a person decides (MatchConfig.review_fmr)."""

    def test_a_score_in_the_band_goes_to_review_with_its_evidence(self):
        evidence = _run_band(*_in_band())
        match = evidence.checks["match"]
        assert match["review_threshold"] <= match["similarity"] < match["threshold"]
        assert (match["fmr"], match["review_fmr"], match["band"]) == (1e-3, 1e-2, "review")
        assert match["match"] is False
        assert match["model"] == _band_matcher().model.id
        assert [(r.code, r.stage) for r in evidence.reasons] == [
            (ReasonCode.FACE_MATCH_UNCERTAIN, "match")
        ]
        detail = evidence.reasons[0].detail
        for value in (f"{match['similarity']:.4f}", f"{match['threshold']:.4f}",
                      f"{match['review_threshold']:.4f}", "FMR 0.001", "FMR 0.01",
                      match["model"]):  # fmt: skip
            assert value in detail
        assert decide(evidence.reasons) is Decision.REVIEW

    def test_without_the_band_the_same_pair_is_rejected(self):
        evidence = _run_band(*_in_band(), band=False)
        assert [r.code for r in evidence.reasons] == [ReasonCode.FACE_MISMATCH]
        assert decide(evidence.reasons) is Decision.REJECT
        assert not {"review_threshold", "review_fmr", "band"} & set(evidence.checks["match"])

    def test_above_the_band_is_a_match(self):
        me, _ = _people()
        same = _run_band(me[0], me[1])
        assert same.reasons == []
        assert same.checks["match"]["band"] == "match"
        assert same.checks["match"]["similarity"] >= same.checks["match"]["threshold"]

    def test_below_the_band_is_a_mismatch(self):
        me, other = _people()
        different = _run_band(me[0], other[0])
        match = different.checks["match"]
        assert match["similarity"] < match["review_threshold"]
        assert match["band"] == "mismatch"
        assert [r.code for r in different.reasons] == [ReasonCode.FACE_MISMATCH]


def test_the_portrait_is_embedded_at_its_refined_landmarks():
    """``look_at_portrait`` embeds the second look (``refine_face``) at the surest face; the
    card thresholds are calibrated on such portraits (match_cards render v3). The faces it
    reports (box, glare) stay the first pass's."""
    from ekyc.match import embed_faces, refine_face
    from ekyc.stages import look_at_portrait

    matcher, _ = _models()
    me, _ = _people()
    card = _card(me[0], glare=False)
    look = look_at_portrait(card, matcher)
    first = matcher.detector.detect(card)
    assert look.best is not None
    assert look.embedding is not None
    assert np.array_equal(look.best.landmarks, first[0].landmarks)
    refined = refine_face(matcher.detector, card, first[0])
    expected = embed_faces(card, (refined,), matcher.embedder)[0]
    assert np.array_equal(look.embedding.vector, expected.vector)
    unrefined = embed_faces(card, (first[0],), matcher.embedder)[0]
    assert not np.array_equal(look.embedding.vector, unrefined.vector)
