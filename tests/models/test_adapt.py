"""models/adapt.py: the card-portrait adaptation of fusion @2 (#5), on small synthetic data."""

from __future__ import annotations

import numpy as np

from models.adapt import Adapted, CardData, card_tar, fit, nap_basis, project, slices, to_json


def test_nap_basis_finds_the_shared_shift_direction():
    rng = np.random.default_rng(0)
    d = 8
    direction = np.zeros(d)
    direction[3] = 1.0
    shifts = [rng.normal(0, 0.05, (200, d)) + rng.normal(0, 1.0, (200, 1)) * direction]
    basis = nap_basis(shifts, 1)
    assert basis.shape == (1, d)
    assert basis[0, 3] > 0.99  # the sign is fixed: the largest entry positive
    assert nap_basis(shifts, 0).shape == (0, d)
    out = project(np.array([[1.0, 0, 0, 2.0, 0, 0, 0, 0]]), basis)
    assert abs(out[0, 3]) < 0.01
    np.testing.assert_allclose(np.linalg.norm(out), np.sqrt(5.0))  # the length is kept


def test_fit_projects_out_a_nuisance_shift_and_gains_tar():
    """Cards pushed along one nuisance direction per member: r = 1 beats no projection."""
    rng = np.random.default_rng(1)
    d, n = 16, 150
    nuisance = np.zeros(2 * d)
    nuisance[[2, d + 5]] = 1.0
    ids = rng.normal(size=(n, 2 * d))
    cards = ids + rng.normal(0, 0.8, (n, 2 * d)) + rng.normal(0, 4.0, (n, 1)) * nuisance
    selfies = ids + rng.normal(0, 0.8, (n, 2 * d))
    people = np.array([f"p{i}" for i in range(n)])
    data = CardData(cards, selfies, people, people, np.stack([np.arange(n)] * 2, 1), lost=0)
    others = rng.normal(size=(100, 2 * d))
    imp = (others + rng.normal(0, 0.8, others.shape), np.roll(others, 1, axis=0))
    shifts = [[rng.normal(0, 1.0, (n, 1)) * nuisance[s] + rng.normal(0, 0.01, (n, d))]
              for s in slices((d, d))]  # fmt: skip
    model, grid = fit(imp, shifts, data, dims=(d, d), grid_r=(0, 1), grid_beta=(0.0,),
                      grid_gamma=(0.0,))  # fmt: skip
    assert set(grid) == {"r=0,beta=0.0,gamma=0.0", "r=1,beta=0.0,gamma=0.0"}
    assert grid["r=1,beta=0.0,gamma=0.0"] > grid["r=0,beta=0.0,gamma=0.0"] + 0.1
    assert len(model.members[0][1]) == 1
    assert card_tar(model, data) == max(grid.values())
    assert isinstance(model, Adapted)
    assert model.metric().startswith("zsumq:11.0,0.0,0.0|zsum:cosine,16,")


def test_the_file_holds_what_the_embedder_loads():
    basis = np.array([[0.6, 0.8]])
    model = Adapted(((slice(0, 2), basis, 0.1, 0.2), (slice(2, 4), np.zeros((0, 2)), 0.0, 0.5)),
                    11.0, 0.5, 0.05)  # fmt: skip
    out = to_json(model, "test")
    assert [m["nap"] for m in out["members"]] == [[[0.6, 0.8]], []]
    assert [m["metric"] for m in out["members"]] == ["cosine", "cosine"]
    assert out["quality"] == {"center": 11.0, "beta": 0.5, "gamma": 0.05}
