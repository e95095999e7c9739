"""The card-portrait-vs-selfie benchmark: failures are false rejects, caches stay put."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks import match_cards as mc


def _item(found, vec=(1.0, 0.0)):
    return {"found": found, "vec0": np.asarray(vec, np.float32)}


class TestPairScores:
    def test_a_side_without_a_face_scores_below_every_pair(self):
        items = {
            ("card", "a"): _item(1),
            ("card", "b"): _item(0),
            ("selfie", "c"): _item(1, (1.0, 1.0)),
        }
        pairs = [{"img1": "a", "img2": "c"}, {"img1": "b", "img2": "c"}]
        scores, ok = mc.pair_scores(items, pairs, 0, "cosine")
        assert ok.tolist() == [True, False]
        assert scores[0] == pytest.approx(2**-0.5)
        assert scores[1] < scores[0]

    @pytest.mark.parametrize(("metric", "expected"), [("cosine", 0.0), ("euclidean", -(2**0.5))])
    def test_metrics(self, metric, expected):
        items = {("card", "a"): _item(1), ("selfie", "c"): _item(1, (0.0, 1.0))}
        scores, _ = mc.pair_scores(items, [{"img1": "a", "img2": "c"}], 0, metric)
        assert scores[0] == pytest.approx(expected)


def test_subset_keeps_half_genuine_per_fold():
    pairs = [{"fold": f, "same": s, "i": str(i)} for f in "12" for s in "10" for i in range(5)]
    chosen = mc._subset(pairs, 4)
    assert len(chosen) == 8
    assert sum(p["same"] == "1" for p in chosen) == 4
    assert mc._subset(pairs, None) is pairs


def test_evaluate_separable_scores():
    same = np.array([True, False] * 600)
    folds = np.repeat(np.arange(1, 7), 200)
    scores = np.where(same, 1.0, 0.0) + np.random.default_rng(0).uniform(0, 0.1, same.size)
    result = mc.evaluate(scores, same, folds)
    assert result["acc"].mean() > 0.99  # the best-accuracy threshold sits on a training genuine
    assert all(result["tar"][f].mean() == 1.0 for f in mc.FMRS)
    assert result["eer"] == 0.0


@pytest.mark.models
@pytest.mark.parametrize("role", ["card", "selfie"])
def test_process_renders_finds_and_embeds_the_face(tmp_path, role):
    from benchmarks.synth.selfie import astronaut_face

    name = "images/Astro/Astro_0001.jpg"
    (tmp_path / "images" / "Astro").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / name), astronaut_face()[:, :, ::-1])
    mc._init_worker(1)
    cache_file = mc._cache_file(tmp_path / "cache", role, name)
    assert mc._process((role, name, tmp_path, cache_file)) == (role, name)
    out = np.load(cache_file)
    assert int(out["found"]) >= 1
    assert out["vec0"].shape == (128,)
    assert out["vec1"].shape == (128,)
    assert (str(out["doc"]) in {d.value for d in mc.DOCS}) == (role == "card")
    if role == "card":  # render v3: the portrait at refine_face's landmarks, as verify cuts it
        from ekyc.match import align_face, refine_face

        detector, template = mc._WORKER["detector"], mc._WORKER["embedders"][0].template
        image, _ = mc.card_portrait(mc._load_rgb(tmp_path / name), name)
        best = max(detector.detect(image), key=lambda f: f.score)
        refined = refine_face(detector, image, best)
        assert np.array_equal(out["crop0"], align_face(image, refined.landmarks, template))
        assert np.array_equal(out["crop0_first"], align_face(image, best.landmarks, template))
    else:
        assert "crop0_first" not in out
