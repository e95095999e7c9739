from __future__ import annotations

import json

import numpy as np
import pytest

from ekyc.match import (
    CascadeEmbedder,
    FaceMatcher,
    FusedEmbedder,
    MatchConfig,
    StagedEmbedding,
    compare,
    load_embedder,
    primary_similarity,
    similarities,
    similarity,
)
from ekyc.match.cascade import parse_metric
from tests.ekyc.match.conftest import two_crops

CASCADE = "face-embed/cascade-dlib-fusion@2"


@pytest.fixture(scope="module")
def cascade(registry) -> CascadeEmbedder:
    for model_id in ("face-embed/sface-2021dec-int8@2", "face-embed/dlib-resnet-v1-int8@1"):
        if not registry.locate(model_id).exists():
            pytest.skip(f"{model_id} is not built (python -m models.prepare)")
    loaded = load_embedder(registry, CASCADE)
    assert isinstance(loaded, CascadeEmbedder)
    return loaded


def _with_band(cascade: CascadeEmbedder, lo: float, hi: float) -> CascadeEmbedder:
    return CascadeEmbedder(cascade.model, cascade.fusion, 1, reject_below=lo, accept_from=hi)


@pytest.mark.models
class TestCascade:
    def test_the_shipped_file_names_the_fusion_and_its_screen(self, registry, cascade):
        raw = json.loads(registry.path(CASCADE).read_text())
        assert cascade.fusion.model.id == raw["fusion"]
        assert cascade.screen.model.id == raw["screen"]
        assert (cascade.reject_below, cascade.accept_from) == (raw["reject_below"],
                                                               raw["accept_from"])  # fmt: skip
        assert cascade.template == cascade.fusion.template

    def test_a_clear_pair_is_decided_by_the_screen_alone(self, registry, astronaut, cascade):
        # The same crop twice: distance 0. (@2's accept_from, above every pair of different
        # people, is stricter than the shifted, darkened crop of two_crops reaches.)
        crop = two_crops(registry, astronaut)[0]
        a, b = cascade.embed([crop, crop.copy()])
        assert isinstance(a, StagedEmbedding)
        assert a.vector.shape == (128,)
        score = compare(a, b, metric=cascade.metric, threshold=5.0, fmr=1e-3)
        screen = float(similarities(a.vector[None], b.vector[None], "euclidean")[0])
        assert screen >= cascade.accept_from
        assert (score.similarity, score.threshold, score.match) == (
            pytest.approx(screen), cascade.accept_from, True)  # fmt: skip
        assert score.model == cascade.model
        assert not a.finished
        assert not b.finished

    def test_below_the_band_is_no_match_without_the_fusion(self, registry, astronaut, cascade):
        strict = _with_band(cascade, lo=0.5, hi=1.0)  # every distance is below
        a, b = strict.embed(two_crops(registry, astronaut))
        score = compare(a, b, metric=strict.metric, threshold=-100.0, fmr=1e-3)
        assert (score.threshold, score.match) == (0.5, False)
        assert not a.finished
        assert not b.finished

    def test_in_the_band_the_fusion_decides(self, registry, astronaut, cascade):
        wide = _with_band(cascade, lo=-10.0, hi=10.0)
        crops = two_crops(registry, astronaut)
        a, b = wide.embed(crops)
        score = compare(a, b, metric=wide.metric, threshold=5.0, fmr=1e-3)
        fused = cascade.fusion
        assert isinstance(fused, FusedEmbedder)
        fa, fb = fused.embed(crops)
        assert a.finished
        assert b.finished
        np.testing.assert_allclose(a.full().vector, fa.vector, atol=1e-5)
        assert score.similarity == pytest.approx(similarity(fa, fb, fused.metric), abs=1e-4)
        assert (score.threshold, score.match) == (5.0, score.similarity >= 5.0)

    def test_rules_in_the_first_members_scale_finish_the_embeddings(self, registry, astronaut,
                                                                     cascade):  # fmt: skip
        """portrait_reused reads SFace's cosine: a cascade runs SFace for it, once per face."""
        crops = two_crops(registry, astronaut)
        a, b = cascade.embed(crops)
        fa, fb = cascade.fusion.embed(crops)
        expected = primary_similarity(fa, fb, cascade.fusion.metric)
        assert primary_similarity(a, b, cascade.metric) == pytest.approx(expected, abs=1e-5)
        assert a.finished
        assert a.full() is a.full()

    def test_descriptors_alone_cannot_be_scored(self, registry, astronaut, cascade):
        a, b = cascade.embed(two_crops(registry, astronaut))
        with pytest.raises(ValueError, match="cascade"):
            similarities(a.vector[None], b.vector[None], cascade.metric)

    def test_the_matcher_uses_the_cascade_at_the_fusions_thresholds(self, registry, astronaut):
        matcher = FaceMatcher.from_registry(registry, CASCADE, MatchConfig(budget="card"))
        fusion = registry.spec("face-embed/fusion-sface-int8-dlib@2")
        assert matcher.threshold == fusion.extra["thresholds_by_fmr_card"]["1e-3"]
        assert matcher.match(astronaut, astronaut).match
        with pytest.raises(ValueError, match=r"FMR 0\.0001"):  # early accepts cannot promise it
            FaceMatcher.from_registry(registry, CASCADE, MatchConfig(fmr=1e-4))


def test_the_metric_carries_the_band_and_the_fusion():
    assert parse_metric("cascade:euclidean,-0.7,-0.5|zsum:cosine,2,0,1;euclidean,3,0,1") == (
        "euclidean", -0.7, -0.5, "zsum:cosine,2,0,1;euclidean,3,0,1")  # fmt: skip
    with pytest.raises(ValueError, match="cascade metric"):
        parse_metric("zsum:cosine,2,0,1")


@pytest.mark.models
def test_the_cli_record_carries_the_threshold_that_decided(registry, cascade, tmp_path):
    """``ekyc match --json``: similarity >= threshold exactly when ``match``, screen or fusion."""
    import cv2
    from skimage import data

    from ekyc.cli.match import match_record

    matcher = FaceMatcher.from_registry(registry, CASCADE)
    face = tmp_path / "a.png"
    cv2.imwrite(str(face), np.ascontiguousarray(data.astronaut()[:, :, ::-1]))
    record = match_record(matcher, "a", "a", str(face), str(face))
    assert record["match"]
    assert record["threshold"] == cascade.accept_from  # decided by the screen
    assert record["similarity"] >= record["threshold"]
