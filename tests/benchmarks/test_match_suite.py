"""``ekyc bench match``: curves and rates on known scores, the report, failures as rows."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import match
from benchmarks.bench import main as bench_main

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "benchmarks" / "specs" / "sface-example.toml"
SFACE_ORT = REPO / "models" / "build" / "face_recognition_sface_2021dec_ort.onnx"

# Genuine 0.9, 0.8, 0.6, 0.4; impostor 0.7, 0.5, 0.3, 0.2, 0.1 (no ties).
SCORES = np.array([0.9, 0.8, 0.6, 0.4, 0.7, 0.5, 0.3, 0.2, 0.1])
SAME = np.array([True] * 4 + [False] * 5)


class TestCurves:
    def test_roc_known_points(self):
        far, tar, thr = match.roc_curve(SCORES, SAME)
        assert thr[0] == np.inf
        np.testing.assert_allclose(thr[1:], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
        np.testing.assert_allclose(far, [0, 0, 0, 0.2, 0.2, 0.4, 0.4, 0.6, 0.8, 1.0])
        np.testing.assert_allclose(tar, [0, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1, 1])

    def test_ties_are_one_point(self):
        far, tar, thr = match.roc_curve(np.array([0.5, 0.5, 0.5, 0.1]),
                                        np.array([True, False, True, False]))  # fmt: skip
        np.testing.assert_allclose(thr[1:], [0.5, 0.1])
        np.testing.assert_allclose(far, [0, 0.5, 1.0])
        np.testing.assert_allclose(tar, [0, 1.0, 1.0])

    def test_det_is_far_and_one_minus_tar(self):
        far, frr = match.det_curve(SCORES, SAME)
        np.testing.assert_allclose(far, match.roc_curve(SCORES, SAME)[0])
        np.testing.assert_allclose(frr, [1, 0.75, 0.5, 0.5, 0.25, 0.25, 0, 0, 0, 0])

    def test_eer(self):
        # At 0.6: FAR 1/5, FRR 1/4 -> 0.25; at 0.4: FAR 2/5, FRR 0 -> 0.4; best 0.25.
        assert match.eer(SCORES, SAME) == pytest.approx(0.25)
        assert match.eer(np.array([1.0, 0.0]), np.array([True, False])) == 0.0

    def test_tar_at_far(self):
        assert match.tar_at_far(SCORES, SAME, 0.2) == pytest.approx(0.75)  # threshold > 0.5
        assert match.tar_at_far(SCORES, SAME, 1e-3) == pytest.approx(0.5)  # above every impostor
        assert match.fmr_threshold(SCORES[~SAME], 1e-3) > 0.7

    def test_one_class_is_refused(self):
        with pytest.raises(ValueError, match="genuine and impostor"):
            match.roc_curve(np.array([0.1, 0.2]), np.array([True, True]))

    def test_leave_one_fold_out_on_separable_scores(self):
        same = np.tile([True, False], 60)
        scores = np.where(same, 0.8, 0.2)  # thresholds sit on a training score: no noise
        ev = match.evaluate(scores, same, np.repeat(np.arange(1, 7), 20))
        assert ev["acc"].tolist() == [1.0] * 6
        assert all(ev["tar"][f].mean() == 1.0 for f in match.FMRS)
        assert ev["eer"] == 0.0


def test_subsample_pairs_spreads_over_folds():
    pairs = [{"fold": str(f), "same": s, "img1": "a", "img2": "b"}
             for f in range(1, 7) for s in "10" for _ in range(10)]  # fmt: skip
    kept = match.subsample_pairs(pairs, 20)
    assert len(kept) == 20
    assert {p["fold"] for p in kept} == {str(f) for f in range(1, 7)}
    assert sum(p["same"] == "1" for p in kept) == 12  # ceil halves of 4,4,3,3,3,3
    assert match.subsample_pairs(pairs, None) is pairs


def test_pair_scores_metrics():
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 2.0]), "c": np.array([3.0, 0.0])}
    pairs = [{"img1": "a", "img2": "c"}, {"img1": "a", "img2": "b"}]
    np.testing.assert_allclose(match.pair_scores(vectors, pairs, "cosine"), [1.0, 0.0])
    np.testing.assert_allclose(match.pair_scores(vectors, pairs, "euclidean"),
                               [-2.0, -np.sqrt(5)])  # fmt: skip


def test_spec_from_toml_hashes_the_file(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not a graph")
    spec = match.spec_from_toml(tomllib.loads(SPEC.read_text()), model)
    assert spec.id == "face-embed/sface-example@1"
    assert spec.size == 11
    assert spec.sha256 == hashlib.sha256(b"not a graph").hexdigest()
    assert spec.input is not None
    assert spec.input.alignment == "arcface-5pt-112"
    assert spec.extra["metric"] == "cosine"
    with pytest.raises(ValueError, match="alignment"):
        match.spec_from_toml({"name": "x", "shape": [1], "alignment": "nope"}, model)


def _tiny_lfw(root: Path) -> Path:
    """Four noise 'crops' and four pairs over two folds: enough to run the suite."""
    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    for i in range(4):
        cv2.imwrite(str(root / "images" / f"{i}.png"), rng.integers(0, 255, (112, 112, 3),
                                                                    dtype=np.uint8))  # fmt: skip
    rows = ["fold,img1,img2,same", "1,images/0.png,images/1.png,1", "1,images/0.png,images/2.png,0",
            "2,images/2.png,images/3.png,1", "2,images/1.png,images/3.png,0"]  # fmt: skip
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    return root


def test_a_broken_model_file_is_an_error_row(tmp_path, capsys):
    data = _tiny_lfw(tmp_path / "lfw")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    out = tmp_path / "out"
    argv = ["match", "--models", "none", "--peers", "none,martian", "--model-file", str(broken),
            "--spec", str(SPEC), "--data", str(data), "--out", str(out)]  # fmt: skip
    assert bench_main(argv) == 0
    rows = json.loads((out / "results.json").read_text())["results"]["match"]["rows"]
    assert set(rows) == {"file:broken.onnx", "peer:martian"}
    assert all("error" in r for r in rows.values())
    assert "unknown peer" in rows["peer:martian"]["error"]
    assert "file:broken.onnx" in (out / "report.md").read_text()


@pytest.mark.dataset
@pytest.mark.models
def test_match_suite_on_lfw_subset(shared_data, tmp_path, capsys):
    out = tmp_path / "match"
    argv = ["match", "--data", str(shared_data / "lfw_pairs_aligned112"), "--pairs", "20",
            "--runs", "3", "--model-file", str(SFACE_ORT), "--spec", str(SPEC),
            "--models", "face-embed/sface-2021dec-ort@1,face-embed/no-such@1",
            "--cache", str(tmp_path / "cache"), "--out", str(out)]  # fmt: skip
    assert bench_main(argv) == 0
    for name in ("report.md", "results.json", "ROC.png", "DET.png"):
        assert (out / name).stat().st_size > 0, name
    payload = json.loads((out / "results.json").read_text())
    result = payload["results"]["match"]
    assert result["pairs"] == 20
    rows = result["rows"]
    assert set(rows) == {"face-embed/sface-example@1", "face-embed/sface-2021dec-ort@1",
                         "face-embed/no-such@1", "peer:opencv-sface", "peer:dlib-bin"}  # fmt: skip
    for name, row in rows.items():
        assert "accuracy_mean" in row or "error" in row, name
    assert "error" in rows["face-embed/no-such@1"]
    assert rows["peer:dlib-bin"]["accuracy_mean"] > 0.7
    # The spec file describes the same graph as the manifest entry: the same figures.
    ext, ours = rows["face-embed/sface-example@1"], rows["face-embed/sface-2021dec-ort@1"]
    assert ext["sha256"] == ours["sha256"]
    assert ext["accuracy_per_fold"] == ours["accuracy_per_fold"]
    assert ext["eer"] == ours["eer"]
    text = (out / "report.md").read_text()
    assert text.startswith("# ekyc bench match\n")
    assert "- machine: " in text
    assert "![ROC](ROC.png)" in text
    # Embeddings are cached per (model, sha256).
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert any(n.startswith("peer_dlib-bin-") for n in cached), cached


def test_pairs_with_a_missing_face_score_below_every_pair():
    vectors = {"a": np.array([1.0, 0.0]), "c": np.array([3.0, 1.0])}
    pairs = [{"img1": "a", "img2": "c"}, {"img1": "b", "img2": "c"}, {"img1": "a", "img2": "b"}]
    scores = match.pair_scores(vectors, pairs, "euclidean", frozenset({"b"}))
    assert scores[0] == pytest.approx(-np.sqrt(5))
    assert scores[1] == scores[2] == pytest.approx(scores[0] - 1.0)


@pytest.mark.dataset
@pytest.mark.models
def test_card_pairs_run_every_row_on_the_same_pairs(shared_data, tmp_path, capsys):
    out = tmp_path / "cards"
    argv = ["match", "--source", "cards", "--data", str(shared_data / "lfw_pairs_aligned112"),
            "--pairs", "12", "--runs", "2", "--render-workers", "1",
            "--models", "face-embed/sface-2021dec-ort@1,face-embed/no-such@1",
            "--peers", "opencv-sface", "--out", str(out)]  # fmt: skip
    assert bench_main(argv) == 0
    results = json.loads((out / "results.json").read_text())["results"]
    assert "match" not in results  # --source cards alone
    cards = results["match_cards"]
    assert cards["pairs"] == 12
    assert cards["genuine"] + cards["impostor"] == 12
    # the 12 pairs drawn have distinct img1s and img2s
    assert cards["cards"] == cards["selfies"] == 12
    assert cards["pairs_without_face"]["genuine"] <= cards["genuine"]
    rows = cards["rows"]
    assert "error" in rows["face-embed/no-such@1"]
    ours, peer = rows["face-embed/sface-2021dec-ort@1"], rows["peer:opencv-sface"]
    for row in (ours, peer):
        assert 0.0 <= row["eer"] <= 1.0
        assert all(0.0 <= a <= 1.0 for a in row["accuracy_per_fold"])
        assert len(row["accuracy_per_fold"]) == 6
        for tar in row["tar_at_far"].values():
            assert all(0.0 <= t <= 1.0 for t in tar["per_fold"])
    # Our SFace build and OpenCV's give the same scores on the same crops: the same figures.
    assert ours["accuracy_per_fold"] == peer["accuracy_per_fold"]
    assert ours["eer"] == pytest.approx(peer["eer"])
    text = (out / "report.md").read_text()
    assert "![ROC_cards](ROC_cards.png)" in text
    assert "Card portrait vs selfie" in text


@pytest.mark.parametrize(
    "metric",
    [
        "cosine",
        "euclidean",
        "zsum:cosine,2,0.1,0.5;euclidean,4,-2,0.3",
        "zsumq:1.5,0.6,0.05|zsum:cosine,2,0.1,0.5;cosine,4,0.2,0.3",
    ],
)
def test_similarity_matrix_is_every_pairs_similarity(metric):
    from ekyc.match import similarities

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 6)), rng.normal(size=(4, 6))
    a[1] = 0.0  # an all-zero descriptor: cosine 0, as similarities says
    got = match.similarity_matrix(a, b, metric)
    want = [[similarities(a[i : i + 1], b[j : j + 1], metric)[0] for j in range(4)]
            for i in range(5)]  # fmt: skip
    np.testing.assert_allclose(got, want, atol=1e-12)


def _people_pairs() -> tuple[dict[str, np.ndarray], list[dict[str, str]]]:
    """Five images of four people over two folds; scores are plain dot products (cosine)."""
    vectors = {
        "images/A/A_1.jpg": np.array([1.0, 0.0]),
        "images/A/A_2.jpg": np.array([0.9, 0.1]),
        "images/B/B_1.jpg": np.array([0.6, 0.8]),
        "images/C/C_1.jpg": np.array([0.0, 1.0]),
        "images/D/D_1.jpg": np.array([-1.0, 0.0]),
    }
    pairs = [
        {"fold": "1", "img1": "images/A/A_1.jpg", "img2": "images/A/A_2.jpg", "same": "1"},
        {"fold": "1", "img1": "images/A/A_1.jpg", "img2": "images/B/B_1.jpg", "same": "0"},
        {"fold": "2", "img1": "images/C/C_1.jpg", "img2": "images/D/D_1.jpg", "same": "0"},
    ]
    return vectors, pairs


def test_all_impostors_score_every_pair_of_different_people():
    vectors, pairs = _people_pairs()
    imp = match.all_impostors(vectors, pairs, "cosine", block=2)
    # 5 images: 10 unordered pairs, less A_1-A_2 (one person)
    assert len(imp.scores) == 9
    assert imp.people_in_several_folds == 0
    assert len(imp.within({1})) == 2  # A_1-B, A_2-B
    assert len(imp.within({2})) == 1  # C-D
    assert len(imp.within({1, 2})) == 9
    np.testing.assert_allclose(
        np.sort(imp.within({1})),
        np.sort(
            [
                0.6,
                match.similarity_matrix(
                    vectors["images/A/A_2.jpg"][None], vectors["images/B/B_1.jpg"][None], "cosine"
                )[0, 0],
            ]
        ),
    )
    # cards: every img1 (A_1, C) against every img2 (A_2, B, D) of another person
    cross = match.all_impostors(vectors, pairs, "cosine", cross=True, suspect_from=0.5)
    assert len(cross.scores) == 2 * 3 - 1
    assert [(a, b) for a, b, _ in cross.suspects] == [  # C.B 0.8, then A_1.B 0.6
        ("images/C/C_1.jpg", "images/B/B_1.jpg"),
        ("images/A/A_1.jpg", "images/B/B_1.jpg"),
    ]
    # a missing face leaves its pairs out
    gone = match.all_impostors(vectors, pairs, "cosine", frozenset({"images/D/D_1.jpg"}))
    assert len(gone.scores) == 5


def test_every_pair_thresholds_decide_the_held_out_rates():
    # One genuine and many impostor images per fold; impostor scores known, genuine pairs listed.
    same = np.tile([True, False], 6)
    scores = np.where(same, 0.9, 0.1)
    folds = np.repeat(np.arange(1, 7), 2)
    rng = np.random.default_rng(5)
    every = rng.uniform(0.0, 1.0, 6000)
    fold_of = np.repeat(np.arange(1, 7), 1000)
    imp = match.Impostors(every, fold_of, fold_of, np.inf, [], 0)
    ev = match.evaluate(scores, same, folds, imp)
    for k, fold in enumerate(range(1, 7)):
        train = every[fold_of != fold]
        t = match.fmr_threshold(train, 1e-2)
        assert ev["far"][1e-2][k] == pytest.approx((every[fold_of == fold] >= t).mean())
        assert ev["tar"][1e-2][k] == float(t <= 0.9)
    assert ev["thresholds"][1e-3] == match.fmr_threshold(every, 1e-3)
    # the listed impostors alone (all 0.1) give the old, looser figures beside them
    assert ev["thresholds_listed"][1e-3] == pytest.approx(0.1)
    assert (ev["tar_listed"][1e-3] == 1.0).all()
    assert (ev["far_listed"][1e-3] == 0.0).all()


def test_zsum_refit_takes_statistics_from_the_training_folds_only():
    # Three folds of listed impostors and one genuine pair each; two members (cosine, euclidean).
    rng = np.random.default_rng(11)
    vectors, pairs = {}, []
    for fold in (1, 2, 3):
        for k in range(4):
            a, b = f"images/P{fold}{k}/a.jpg", f"images/Q{fold}{k}/b.jpg"
            vectors[a], vectors[b] = rng.normal(size=5), rng.normal(size=5)
            pairs.append({"fold": str(fold), "img1": a, "img2": b, "same": "0"})
        g1, g2 = f"images/G{fold}/1.jpg", f"images/G{fold}/2.jpg"
        vectors[g1] = rng.normal(size=5)
        vectors[g2] = vectors[g1] + 0.1 * rng.normal(size=5)
        pairs.append({"fold": str(fold), "img1": g1, "img2": g2, "same": "1"})
    metric = "zsum:cosine,2,0.0,1.0;euclidean,3,0.0,1.0"
    refit = match.zsum_refit(metric, vectors, pairs, frozenset(), False, vectors, pairs)
    scores, imp = refit(2)
    stats = match.zsum_statistics(metric, vectors, pairs, {1, 3})
    want = (
        metric.split(":")[0]
        + ":"
        + ";".join(
            f"{m},{d},{mu!r},{sd!r}"
            for (m, d, _, _), (mu, sd) in zip(match.zsum_members(metric), stats, strict=True)
        )
    )
    np.testing.assert_allclose(scores, match.pair_scores(vectors, pairs, want), atol=1e-9)
    full = match.all_impostors(vectors, pairs, want)
    np.testing.assert_allclose(np.sort(imp.scores), np.sort(full.scores), atol=1e-9)
    # the held-out fold's images do not move its statistics
    moved = dict(vectors)
    for p in pairs:
        if p["fold"] == "2":
            moved[p["img1"]] = moved[p["img1"]] * 3.0 + 1.0
    assert match.zsum_statistics(metric, moved, pairs, {1, 3}) == stats
    assert match.zsum_statistics(metric, moved, pairs, {1, 2}) != stats
