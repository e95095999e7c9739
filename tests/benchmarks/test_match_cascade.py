from __future__ import annotations

import numpy as np
import pytest

from benchmarks.match_cascade import (
    SourceScores,
    cascade_decisions,
    choose_band,
    cross_identity_rates,
    in_band,
    leave_one_fold_out,
    outward,
)


def _source(screen, fused, same, folds=None) -> SourceScores:
    n = len(screen)
    return SourceScores("s", np.asarray(screen, float), np.asarray(fused, float),
                        np.asarray(same, bool), np.ones(n, bool),
                        np.asarray(folds if folds is not None else [1] * n), [], None)  # fmt: skip


def test_band_spans_the_highest_impostor_and_the_lowest_accepted_genuine():
    # impostors: screen 0..0.3 (fused low); genuine: screen 0.2..0.9 (fused high except one)
    s = _source(
        screen=[0.0, 0.1, 0.2, 0.3, 0.2, 0.5, 0.9, 0.1],
        fused=[-3, -2, -1, 0.5, 4, 5, 6, -5],
        same=[0, 0, 0, 0, 1, 1, 1, 1],
    )
    lo, hi, loosest = choose_band([s], [np.ones(8, bool)])
    assert hi > 0.3
    assert hi == np.nextafter(0.3, 1)
    assert loosest == np.nextafter(0.5, 1)  # 1e-3 of 4 impostors: above every one
    assert lo == 0.2  # the genuine pair at 0.1 is one the fusion rejects
    band = in_band(s, lo, hi)
    assert band.tolist() == [False, False, True, True, True, False, False, False]
    dec = cascade_decisions(s, lo, hi, threshold=loosest)
    assert dec.tolist() == [False, False, False, False, True, True, True, False]


def test_held_out_folds_use_bands_from_the_others():
    rng = np.random.default_rng(0)
    n = 600
    same = np.arange(n) % 2 == 0
    screen = np.where(same, rng.normal(3, 1, n), rng.normal(0, 1, n))
    fused = screen + np.where(same, rng.normal(3, 1, n), rng.normal(0, 1, n))
    s = _source(screen, fused, same, folds=np.arange(n) // 2 % 6 + 1)
    held = leave_one_fold_out([s])["s"]
    assert len(held["band"]) == 6
    assert 0 < held["need_genuine"] < 1
    assert held["cascade_tar_0.001"] <= 1.0
    assert abs(held["cascade_accuracy"] - held["fusion_accuracy"]) < 0.05


def test_rounding_only_widens_the_band():
    assert outward(-0.5002325, up=True) == -0.500232
    assert outward(-0.6845661, up=False) == -0.684567


def test_cross_identity_rates_count_every_pair_of_different_people_once():
    vectors = {  # two one-dimensional Euclidean members; the second screens
        "images/A/1.jpg": np.array([0.0, 0.0]),
        "images/A/2.jpg": np.array([5.0, 5.0]),
        "images/B/1.jpg": np.array([0.0, 0.1]),
        "images/C/1.jpg": np.array([10.0, 10.0]),
    }
    metric = "zsum:euclidean,1,0,1;euclidean,1,0,1"
    names = sorted(vectors)
    # impostor pairs: A1-B1 (fused -0.1), A1-C1, A2-B1 (screen -4.9), A2-C1 (-5), B1-C1
    r = cross_identity_rates(vectors, names, None, metric, 1, (-6.0, -0.05), threshold=-1.0)
    assert r["impostor_pairs"] == 5
    assert (r["fusion_fmr"], r["cascade_fmr"], r["in_band"]) == (0.2, 0.2, 0.6)
    assert r["thresholds"]["0.001"] == pytest.approx(-0.1, abs=1e-6)  # above all 5 (float32)
    r = cross_identity_rates(vectors, names, None, metric, 1, (-6.0, -0.2), threshold=-0.05)
    assert (r["fusion_fmr"], r["cascade_fmr"], r["early_accepts_fusion_rejects"]) == (0, 0.2, 0.2)
    cards = cross_identity_rates(vectors, names[:2], names[2:], metric, 1, (-6.0, -0.2), -1.0)
    assert cards["impostor_pairs"] == 4  # A x {B, C}
