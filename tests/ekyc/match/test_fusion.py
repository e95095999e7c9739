from __future__ import annotations

import json

import numpy as np
import pytest

from ekyc.match import (
    TEMPLATES,
    FusedEmbedder,
    Member,
    OnnxEmbedder,
    align_face,
    load_embedder,
    primary_similarity,
    similarities,
    similarity,
)
from ekyc.match.compare import quality_term
from ekyc.match.fusion import nap_project
from ekyc.registry import Registry
from tests.ekyc.match.conftest import DLIB, SFACE_INT8, two_crops

FUSED = "face-embed/fusion-sface-int8-dlib@1"


@pytest.mark.models
class TestFusedEmbedder:
    def test_score_is_the_sum_of_the_members_z_scores(self, registry, astronaut):
        fused = load_embedder(registry, FUSED)
        assert isinstance(fused, FusedEmbedder)
        stats = json.loads(registry.path(FUSED).read_text())["members"]
        assert [m["id"] for m in stats] == [SFACE_INT8, DLIB]
        crops = two_crops(registry, astronaut)
        a, b = fused.embed(crops)
        assert a.model == fused.model
        assert a.vector.shape == (256,)
        sa, sb = OnnxEmbedder(registry, SFACE_INT8).embed(crops)
        arcface = TEMPLATES["arcface-5pt-112"].points
        dlib_crops = [align_face(c, arcface, "dlib-chip-150-pad0.25") for c in crops]
        da, db = OnnxEmbedder(registry, DLIB).embed(dlib_crops)
        z_sface = (similarity(sa, sb, "cosine") - stats[0]["impostor_mean"]) / stats[0][
            "impostor_std"
        ]
        z_dlib = (similarity(da, db, "euclidean") - stats[1]["impostor_mean"]) / stats[1][
            "impostor_std"
        ]
        assert similarity(a, b, fused.metric) == pytest.approx(z_sface + z_dlib, abs=1e-3)

    def test_primary_similarity_is_the_first_members_cosine(self, registry, astronaut):
        """Rules in SFace's cosine scale (portrait_reused's 0.85) read the SFace part."""
        fused = load_embedder(registry, FUSED)
        crops = two_crops(registry, astronaut)
        a, b = fused.embed(crops)
        sa, sb = OnnxEmbedder(registry, SFACE_INT8).embed(crops)
        cosine = similarity(sa, sb, "cosine")
        assert primary_similarity(a, b, fused.metric) == pytest.approx(cosine, abs=1e-6)
        assert primary_similarity(sa, sb, "cosine") == pytest.approx(cosine, abs=1e-12)
        assert similarity(a, b, fused.metric) > 2.0  # the z-sum's scale is another

    def test_batch_equals_one_by_one(self, registry, astronaut):
        fused = load_embedder(registry, FUSED)
        crops = two_crops(registry, astronaut)
        for batch, one in zip(fused.embed(crops), [fused.embed([c])[0] for c in crops],
                              strict=True):  # fmt: skip
            np.testing.assert_allclose(batch.vector, one.vector, atol=1e-5)
        assert fused.embed([]) == ()

    def test_an_onnx_id_loads_the_onnx_embedder(self, registry):
        assert isinstance(load_embedder(registry, SFACE_INT8), OnnxEmbedder)


def test_zsum_adds_each_members_z_score():
    a = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    b = np.array([[0.0, 1.0, 3.0, 4.0, 0.0]])
    # cosine part: 0 -> (0 - 0.5) / 0.25 = -2; euclidean part: -|(0,0,0)-(3,4,0)| = -5
    # -> (-5 + 4) / 0.5 = -2
    score = similarities(a, b, "zsum:cosine,2,0.5,0.25;euclidean,3,-4,0.5")
    np.testing.assert_allclose(score, [-4.0])
    with pytest.raises(ValueError, match="covers 2 of 5"):
        similarities(a, b, "zsum:cosine,2,0.5,0.25")
    with pytest.raises(ValueError, match="metric"):
        similarities(a, b, "manhattan")


def test_needs_two_members_and_a_positive_std():
    ref = Registry.from_manifest().spec(FUSED).ref
    with pytest.raises(ValueError, match="two or more"):
        FusedEmbedder(ref, [])
    with pytest.raises(ValueError, match="std > 0"):
        Member(object(), 128, 0.1, 0.0)  # type: ignore[arg-type]


ADAPTED = "face-embed/fusion-sface-int8-dlib@3"


def test_nap_project_removes_the_directions_and_keeps_the_length():
    x = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    nap = np.array([[1.0, 0.0, 0.0]])
    out = nap_project(x, nap)
    np.testing.assert_allclose(out, [[0.0, 5.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(nap_project(x, np.zeros((0, 3))), x)


def test_zsumq_adds_the_quality_term():
    a = np.array([[3.0, 4.0, 1.0, 0.0]])  # first member's norm 5
    b = np.array([[6.0, 8.0, 0.0, 1.0]])  # 10
    zsum = "zsum:cosine,2,0.5,0.25;cosine,2,0.0,0.5"
    z = (1.0 - 0.5) / 0.25 + (0.0 - 0.0) / 0.5  # 2
    q = 5.0 - 11.0
    score = similarities(a, b, f"zsumq:11.0,0.5,0.05|{zsum}")
    np.testing.assert_allclose(score, [z - 0.5 * q + 0.05 * q * z])
    np.testing.assert_allclose(similarities(a, b, f"zsumq:5.0,0.5,0.05|{zsum}"), [z])
    with pytest.raises(ValueError, match="zsum"):
        similarities(a, b, "zsumq:11.0,0.5,0.05|cosine")


@pytest.mark.models
def test_adapted_fusion_projects_members_and_scores_with_quality(registry, astronaut):
    adapted = load_embedder(registry, ADAPTED)
    assert isinstance(adapted, FusedEmbedder)
    assert adapted.metric.startswith("zsumq:")
    raw = json.loads(registry.path(ADAPTED).read_text())
    crops = two_crops(registry, astronaut)
    a, b = adapted.embed(crops)
    base = load_embedder(registry, "face-embed/fusion-sface-int8-dlib@2")
    ra, rb = base.embed(crops)  # the same members, not adapted
    for m, cut in zip(raw["members"], (slice(0, 128), slice(128, 256)), strict=True):
        nap = np.asarray(m["nap"])
        np.testing.assert_allclose(a.vector[cut], nap_project(ra.vector[None, cut], nap)[0],
                                   atol=1e-5)  # fmt: skip
    (center, beta, gamma), zsum = quality_term(adapted.metric)
    z = similarity(a, b, zsum)
    q = min(np.linalg.norm(ra.vector[:128]), np.linalg.norm(rb.vector[:128])) - center
    assert similarity(a, b, adapted.metric) == pytest.approx(z - beta * q + gamma * q * z,
                                                             abs=1e-4)  # fmt: skip
    # rules in SFace's cosine scale read the (projected) SFace part
    sface_part = similarities(a.vector[None, :128], b.vector[None, :128], "cosine")[0]
    assert primary_similarity(a, b, adapted.metric) == pytest.approx(sface_part, abs=1e-9)
