"""NUAA print attacks, split by subject: the trained-from-scratch model on unseen people."""

from __future__ import annotations

import numpy as np
import pytest

from models import train_pad

pytestmark = [pytest.mark.dataset, pytest.mark.slow, pytest.mark.models]


def test_leave_subjects_out(shared_data, registry):
    root = shared_data / "nuaa_imposter_raw"
    if not (root / "labels.csv").is_file():
        pytest.skip(f"NUAA not found at {root}")
    import cv2

    train_pad._init_worker()
    rows = train_pad.nuaa_rows(shared_data)[::4]  # every 4th image: the test stays < 20 s
    feats, labels, subjects = [], [], []
    for path, cls, subject in rows:
        f = train_pad._features(np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1]))
        if f is not None:  # every recipe's feature set: the default model's
            feats.append(f[train_pad.RECIPES[train_pad.DEFAULT_RECIPE].feature_set])
            labels.append(cls)
            subjects.append(subject)
    x, y, subj = np.array(feats), np.array(labels), np.array(subjects)
    people = sorted(set(subjects))
    assert len(people) == 10  # the development subjects; held-out ones are elsewhere
    scores = np.empty(len(y))
    for k in range(5):  # five folds of two people: train on eight, score the other two
        held = np.isin(subj, people[k::5])
        model = train_pad.fit(x[~held], y[~held], steps=600)
        scores[held] = train_pad.live_scores(model, x[held])
    threshold = np.quantile(scores[y == 0], 0.05)  # BPCER 5 %
    apcer = float(np.mean(scores[y == 1] >= threshold))
    # Measured 2.2 % here (NUAA only, 600 steps; with synthetic data and every image 1.1 %,
    # benchmarks/liveness.py); the target is 2 %. The floor leaves room for the subset.
    assert apcer <= 0.05, apcer
