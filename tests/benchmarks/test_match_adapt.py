"""benchmarks/match_adapt.py: the fit may learn from other crops than those it is scored on."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import match_adapt
from benchmarks.match_adapt import Vectors, evaluate


def _vectors(seed: int, card_noise: float) -> Vectors:
    """6 folds x 4 people x 2 photos; card portraits and selfies near their LFW photo."""
    rng = np.random.default_rng(0)
    pairs, lfw, fold = [], {}, {}
    for f in range(1, 7):
        people = [f"images/P{f}_{k}/P{f}_{k}_000{i}.jpg" for k in range(4) for i in (1, 2)]
        for n in people:
            lfw[n] = rng.normal(size=256)
            fold[n] = f
        pairs += [{"fold": str(f), "img1": people[2 * k], "img2": people[2 * k + 1], "same": "1"}
                  for k in range(2)]  # fmt: skip
        pairs += [{"fold": str(f), "img1": people[2 * k], "img2": people[2 * k + 3], "same": "0"}
                  for k in (2,)]  # fmt: skip
    noisy = np.random.default_rng(seed)
    return Vectors(
        pairs=pairs,
        lfw=lfw,
        cards={n: v + noisy.normal(0, card_noise, 256) for n, v in lfw.items()},
        selfies={n: v + np.random.default_rng(7).normal(0, 0.3, 256) for n, v in lfw.items()},
        fold=fold,
        render="test",
    )


def test_the_adaptation_is_fitted_on_fit_vec_and_scored_on_vec(monkeypatch: pytest.MonkeyPatch):
    vec, other = _vectors(1, 0.3), _vectors(2, 0.6)
    seen: list[np.ndarray] = []
    real_fit = match_adapt.fit

    def spy(lfw_imp, shifts, cards, **kw):  # type: ignore[no-untyped-def]
        seen.append(cards.cards)
        return real_fit(lfw_imp, shifts, cards, grid_r=(0,), grid_beta=(0.0,), grid_gamma=(0.0,))

    monkeypatch.setattr(match_adapt, "fit", spy)
    plain = evaluate(vec)
    mixed = evaluate(vec, other)
    assert len(seen) == 12
    mine = list(vec.cards.values())
    for cards in seen[:6]:
        assert any(np.allclose(cards[0], v) for v in mine)
    for cards in seen[6:]:  # the fit saw the other crops' card descriptors
        assert any(np.allclose(cards[0], v) for v in other.cards.values())
        assert not any(np.allclose(cards[0], v) for v in mine)
    # the unadapted row does not depend on what the adaptation learns from
    for a, b in zip(plain["fusion @2"], mixed["fusion @2"], strict=True):
        assert a.card_tar == b.card_tar
        assert a.lfw_acc == b.lfw_acc
