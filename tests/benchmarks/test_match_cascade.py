from __future__ import annotations

import numpy as np
import pytest

from benchmarks.match import Impostors
from benchmarks.match_cascade import (
    SourceScores,
    cascade_decisions,
    choose_band,
    cross_identity_rates,
    in_band,
    leave_one_fold_out,
    outward,
)


def _source(screen, fused, same, folds=None, every=None) -> SourceScores:
    """A source whose every-pair impostors are its listed ones, or ``every`` (screen, fused,
    folds) where given."""
    n = len(screen)
    screen, fused, same = (
        np.asarray(screen, float),
        np.asarray(fused, float),
        np.asarray(same, bool),
    )
    folds = np.asarray(folds if folds is not None else [1] * n)
    es, ef, efold = every if every is not None else (screen[~same], fused[~same], folds[~same])
    return SourceScores("s", screen, fused, same, np.ones(n, bool), folds, [], None,
                        Impostors(np.asarray(es, float), efold, efold, np.inf, [], 0),
                        Impostors(np.asarray(ef, float), efold, efold, np.inf, [], 0))  # fmt: skip


def test_band_spans_the_highest_impostor_and_the_lowest_accepted_genuine():
    # impostors: screen 0..0.3 (fused low); genuine: screen 0.2..0.9 (fused high except one)
    s = _source(
        screen=[0.0, 0.1, 0.2, 0.3, 0.2, 0.5, 0.9, 0.1],
        fused=[-3, -2, -1, 0.5, 4, 5, 6, -5],
        same=[0, 0, 0, 0, 1, 1, 1, 1],
    )
    lo, hi, loosest = choose_band([s], {1})
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


def test_band_and_held_out_far_come_from_every_pair_of_different_people():
    # Listed pairs: genuine screen/fused high, impostors low; every pair adds 1,000 impostors
    # per fold, one per fold well above the listed ones on the screen and on the fusion.
    rng = np.random.default_rng(1)
    n = 120
    same = np.arange(n) % 2 == 0
    folds = np.arange(n) // 2 % 6 + 1
    screen = np.where(same, rng.normal(3, 0.5, n), rng.normal(0, 0.5, n))
    fused = screen * 2
    efold = np.repeat(np.arange(1, 7), 1000)
    es = rng.normal(0, 0.5, efold.size)
    es[::1000] = 2.5
    s = _source(screen, fused, same, folds, every=(es, es * 2, efold))
    _, hi, _ = choose_band([s], {1, 2, 3, 4, 5})
    assert hi == np.nextafter(2.5, 3)  # above the every-pair impostor, not just the listed
    held = leave_one_fold_out([s])["s"]
    # 1e-3 of 5,000 training pairs allows 5: the held-out fold's top (fused 5.0) passes, the
    # listed impostors (all far lower) never do; 1e-4 allows none: above every top
    assert held["fusion_far_0.001"] >= 1e-3
    assert 1e-3 <= held["cascade_far_0.001"] <= held["fusion_far_0.001"]
    assert held["fusion_far_listed_0.001"] == 0.0
    assert held["fusion_far_0.0001"] == held["cascade_far_0.0001"] == 0.0


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
