"""``models.train_pad``: loss weights by species, the samples file."""

from __future__ import annotations

import numpy as np

from models import train_pad


def _two_classes(rng, n=100):
    """Live (0) and print (1) faces that overlap: no fit separates them."""
    x = np.concatenate([rng.normal(0.0, 1.0, (n, 2)), rng.normal(0.5, 1.0, (n, 2))])
    y = np.repeat([0, 1], n)
    return x, y


def test_species_weight_defaults_to_one():
    w = train_pad.species_weight(("nuaa_live", "synth_print", "synth_replay"))
    assert w.tolist() == [1.0, train_pad.SPECIES_WEIGHT.get("synth_print", 1.0), 1.0]


def test_weighting_a_class_raises_its_probability_and_ones_change_nothing():
    x, y = _two_classes(np.random.default_rng(0))
    plain = train_pad.fit(x, y, steps=200, members=2)
    ones = train_pad.fit(x, y, weight=np.ones(len(y)), steps=200, members=2)
    assert np.allclose(plain, ones, atol=2e-4)
    heavy = train_pad.fit(x, y, weight=np.where(y == 1, 5.0, 1.0), steps=200, members=2)
    # P(live) (class 0) of the class-1 samples drops when they weigh 5x
    assert train_pad.live_scores(heavy, x[y == 1]).mean() < (
        train_pad.live_scores(plain, x[y == 1]).mean() - 0.05
    )
    # and the live samples pay for it
    assert (
        train_pad.live_scores(heavy, x[y == 0]).mean()
        < train_pad.live_scores(plain, x[y == 0]).mean()
    )


def test_samples_file_round_trip_and_stale_names(tmp_path):
    rng = np.random.default_rng(1)
    s = train_pad.Samples(rng.normal(size=(4, 3)), np.array([0, 1, 2, 0]),
                          ("nuaa-1", "nuaa-1", "synth-a", "synth-b"),
                          ("nuaa_live", "nuaa_print", "synth_replay", "synth_live"))  # fmt: skip
    path = tmp_path / "f.npz"
    assert train_pad.load_samples(path) is None
    train_pad.save_samples(path, s)
    back = train_pad.load_samples(path)
    assert back is not None
    assert np.array_equal(back.x, s.x)
    assert np.array_equal(back.y, s.y)
    assert back.subject == s.subject
    assert back.species == s.species
    with np.load(path) as z:
        stale = dict(z)
    stale["per_class"] = np.array(train_pad.SYNTH_PER_CLASS + 1)
    np.savez(path, **stale)
    assert train_pad.load_samples(path) is None


def test_eval_only_species_are_judged_but_never_trained_on(monkeypatch):
    real_fit = train_pad.fit
    monkeypatch.setattr(train_pad, "fit", lambda *a, **k: real_fit(*a, **k, steps=100, members=2))
    rng = np.random.default_rng(2)
    x, y = _two_classes(rng, 40)
    subjects = tuple(f"synth-{i % 10}" for i in range(len(y)))
    species = tuple("synth_live" if c == 0 else "synth_print" for c in y)
    s = train_pad.Samples(x, y, subjects, species)
    extra = train_pad.Samples(rng.normal(3.0, 1.0, (10, 2)), np.ones(10, np.int64),
                              tuple(f"synth-{i}" for i in range(10)),
                              ("synth_print_ink",) * 10)  # fmt: skip
    both = train_pad.Samples(np.concatenate([s.x, extra.x]), np.concatenate([s.y, extra.y]),
                             s.subject + extra.subject, s.species + extra.species)  # fmt: skip
    # @3's recipe never trains on ink prints; @4's does
    assert train_pad.trained(both, recipe=3).sum() == len(y)
    assert train_pad.trained(both, recipe=4).all()
    assert train_pad.model_bytes(both, recipe=3) == train_pad.model_bytes(s, recipe=3)
    scores = train_pad.cross_validate(both, recipe=3)
    assert np.all(np.isfinite(scores))  # the eval-only rows are scored by their fold's model
    # and the other rows score as without them: the fold models are the same
    assert np.allclose(scores[: len(y)], train_pad.cross_validate(s, recipe=3))


def test_recipes_jobs_keep_at3s_order_and_add_ink_and_pale(tmp_path):
    """@3's synthetic jobs are the ones it was trained on, in the same order (its bytes
    hold); @4 adds ink prints for every index and pale faces for the first half; @5 adds
    close-held prints for the first half and keeps @4's jobs in their order."""
    j3 = train_pad.synth_jobs(tmp_path, 8, recipe=3)
    assert [k for _, i, k, _ in j3 if i == 0] == [
        "selfie",
        "print_face",
        "replay_face",
        "challenge",
    ]
    j4 = train_pad.synth_jobs(tmp_path, 8, recipe=4)
    assert [(i, k) for _, i, k, _ in j4 if k in [k3 for _, _, k3, _ in j3]] == [
        (i, k) for _, i, k, _ in j3
    ]
    assert sum(k == "print_ink" for _, _, k, _ in j4) == 8
    assert [i for _, i, k, _ in j4 if k == "selfie_pale"] == [0, 1, 2, 3]
    j5 = train_pad.synth_jobs(tmp_path, 8, recipe=5)
    assert [j for j in j5 if j[2] != "print_close"] == j4  # @4's jobs, in @4's order
    assert [i for _, i, k, _ in j5 if k == "print_close"] == [0, 1, 2, 3]
    assert train_pad.synth_jobs(tmp_path, 8, eval_only=True, recipe=3) == j5
    assert set(train_pad.eval_only(3)) == {"print_ink", "selfie_pale", "print_close"}
    assert set(train_pad.eval_only(4)) == {"print_close"}
    assert train_pad.eval_only(5) == {}


def test_pale_faces_lose_colour_not_identity():
    rng = np.random.default_rng(0)
    face = np.zeros((32, 32, 3), np.uint8)
    face[..., 0], face[..., 1], face[..., 2] = 190, 130, 110  # skin
    face[12:20, 8:24] = (60, 40, 40)  # a dark band (eyes)
    pale = train_pad._pale(face, rng)
    again = train_pad._pale(face, np.random.default_rng(0))
    assert np.array_equal(pale, again)
    spread = lambda im: float(np.ptp(im.astype(float), axis=2).mean())  # noqa: E731
    assert spread(pale) < 0.8 * spread(face)
    assert pale[0, 0].mean() > face[0, 0].mean()  # brightened
    assert pale[16, 16].mean() < pale[0, 0].mean()  # the dark band stays darker


def test_setup_renders_only_the_built_recipes_kinds_and_the_benchmark_only_what_is_new(
    tmp_path, monkeypatch
):
    """models.prepare's collect renders no kind only a trial recipe trains on (recipe 5's
    close prints cost setup nothing); the benchmark's collect after it renders just those,
    and @4's samples come out the same either way."""
    import multiprocessing
    import tomllib

    manifest = tomllib.loads((train_pad.REPO / "models" / "manifest.toml").read_text("utf-8"))
    built = sorted(m.get("convert_options", {}).get("recipe", 3) for m in manifest["model"]
                   if m.get("convert") == "models.train_pad")  # fmt: skip
    assert tuple(built) == train_pad.BUILT_RECIPES
    assert "print_close" not in train_pad.collected_kinds(False)
    assert "print_close" in train_pad.collected_kinds(False, recipe=5)
    assert train_pad.collected_kinds(True) == tuple(train_pad._KINDS)

    rendered: list[str] = []

    def fake_job(job):
        rendered.append(job[3])
        v = np.array([float(job[2]), float(len(job[3]))])
        return {3: v, 4: v + 1}

    class Pool:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, jobs, chunksize=1):
            return [fn(j) for j in jobs]

    monkeypatch.setattr(train_pad, "_job", fake_job)
    monkeypatch.setattr(train_pad, "_COLLECTED", {})
    monkeypatch.setattr(train_pad, "nuaa_rows", lambda _data: [])
    monkeypatch.setattr(multiprocessing, "get_context", lambda _how: type("C", (), {"Pool": Pool}))
    s4 = train_pad.collect(tmp_path, per_class=4, recipe=4)
    assert "print_close" not in rendered
    assert len(rendered) == len(s4.y)
    n_setup = len(rendered)
    every = train_pad.collect(tmp_path, per_class=4, eval_only=True)
    assert rendered[n_setup:] == ["print_close"] * 2  # only the new jobs
    assert every.species.count("synth_print_close") == 2
    again = train_pad.collect(tmp_path, per_class=4, recipe=4)
    assert np.array_equal(again.x, s4.x)
    assert again.species == s4.species
