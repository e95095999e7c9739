"""Train the passive PAD models (``liveness/pad-lbpchroma@3`` and ``@4``) from the evaluation data.

What they learn from: NUAA development subjects (``nuaa_imposter_raw``: live webcam faces and
printed photos of the same people) plus synthetic selfies, printed-photo and screen-replay
faces drawn by ``benchmarks.synth`` with LFW identities (``lfw_pairs_aligned112``; the
astronaut when absent). The synthetic live class has two species: a still selfie and the
first (neutral) frame of a challenge recording, which is the selfie ``ekyc verify`` judges;
@4 adds prints made of ink on paper and live faces washed of colour (``RECIPES``); prints
held close to the camera are rendered for the benchmark and a trial recipe (5) only.
Every synthetic frame, live or attack, is JPEG-compressed (quality 70-95) as a phone
sends it. Features are ``ekyc.liveness.passive.pad_features`` (the recipe's feature set);
the model is an ensemble of ``MEMBERS`` 3-class MLPs (live / print / screen_replay; 16 tanh
units each) fitted by full-batch Adam from fixed-seed starts (species weighted in the loss
by the recipe), their P(live) averaged, so the same data gives the same bytes. Features are
rounded to 1e-3 and the weights to 1e-4 before they are stored as float32
(``(MEMBERS, P)``); a machine whose BLAS sums in another order may still train other
weights (Adam over 1500 steps magnifies the last bit), which the manifest's sha256 then
reports.

The data never enters git, and may be absent: ``convert`` then prints why and returns
None, ``models.prepare`` reports the model as skipped, and loading it raises
``ModelNotFound``. Data folder: ``$EKYC_DATA_DIR`` or ``../shared/data`` beside the checkout.

    python -m models.train_pad [--data DIR] [--recipe 4] [--out models/build/pad_lbpchroma_v4.npy]
                               [--threshold] [--features FILE.npz]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.blas import one_blas_thread
from models.output import Conversion, write_output

REPO = Path(__file__).resolve().parents[1]
SYNTH_PER_CLASS = 320
SYNTH_PEOPLE = 160
"""Synthetic frames per kind, and LFW people (every third) they are drawn from: two frames
of each kind per person. 40 people and 80 frames left the synthetic live faces a small
minority of the live class (774 NUAA faces): leave-subjects-out, 18.8 % of them were
rejected at the shipped threshold. 320 frames (was 160), leave-subjects-out with the
ensemble: held-out print APCER 4.49 -> 2.89 %, replay 0.66 -> 0.33 %, NUAA BPCER 4.39 ->
5.43 % (benchmarks/liveness.py)."""
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Samples:
    """Feature rows with their class index, subject (for splits) and attack species."""

    x: F64
    y: npt.NDArray[np.int64]
    subject: tuple[str, ...]
    species: tuple[str, ...]


def default_dat_path() -> Path:
    """The evaluation data folder (may not exist)."""
    return Path(os.environ.get("EKYC_DATA_DIR", REPO.parent / "shared" / "data"))


_DETECTOR: object = None


def _init_worker() -> None:
    global _DETECTOR
    from ekyc.match import MatchConfig, YuNetDetector
    from ekyc.registry import Registry

    cv2.setNumThreads(1)
    registry = Registry.from_manifest(threads=1)
    _DETECTOR = YuNetDetector(registry, config=MatchConfig(detect_max_side=320))


def _features(image: npt.NDArray[np.uint8]) -> dict[int, F64] | None:
    """The face's features in every ``RECIPES`` feature set, rounded to 1e-3."""
    from ekyc.liveness.passive import largest_face, pad_features

    face = largest_face(_DETECTOR.detect(image))  # type: ignore[attr-defined]
    if face is None:
        return None
    box = np.round(face.box)
    return {
        fs: np.round(pad_features(image, box, face.landmarks, fs).astype(np.float64), 3)
        for fs in sorted({r.feature_set for r in RECIPES.values()})
    }


def nuaa_rows(data: Path) -> list[tuple[Path, int, str]]:
    """``(path, class, subject)`` of every NUAA image (class 0 live, 1 print)."""
    root = data / "nuaa_imposter_raw"
    with open(root / "labels.csv", newline="", encoding="utf-8") as fh:
        return [
            (root / r["path"], 0 if r["label"] == "live" else 1, f"nuaa-{r['subject']}")
            for r in csv.DictReader(fh)
        ]


# Synthetic kinds in seed order (a kind's position seeds its frames): class and species.
_KINDS = {
    "selfie": (0, "synth_live"),
    "print_face": (1, "synth_print"),
    "replay_face": (2, "synth_replay"),
    "challenge": (0, "synth_live_challenge"),
    "print_ink": (1, "synth_print_ink"),
    "selfie_pale": (0, "synth_live_pale"),
    "print_close": (1, "synth_print_close"),
}
_SEED_POSITION = {"selfie": 0, "print_face": 1, "replay_face": 2, "challenge": 3,
                  "print_ink": 1, "selfie_pale": 4, "print_close": 5}  # fmt: skip
"""``print_ink`` draws from the seeds of the prints it stands beside; ``selfie_pale`` and
``print_close`` are drawn for the first half of the indices only (160 of 320 each)."""
_HALF = ("selfie_pale", "print_close")


@dataclass(frozen=True, slots=True)
class Recipe:
    """What one PAD model is trained on: its feature set (``passive.FEATURE_SETS``), the
    synthetic kinds it trains on, and the loss weight of a sample by its species (1 when
    absent), on top of the class balance."""

    feature_set: int
    kinds: tuple[str, ...]
    species_weight: dict[str, float]


_KINDS_4 = ("selfie", "print_face", "replay_face", "challenge", "print_ink", "selfie_pale")
RECIPES = {
    3: Recipe(3, ("selfie", "print_face", "replay_face", "challenge"), {"synth_print": 3.0}),
    4: Recipe(4, _KINDS_4, {"synth_print": 3.0, "synth_print_ink": 3.0}),
    5: Recipe(
        4,
        (*_KINDS_4, "print_close"),
        {"synth_print": 3.0, "synth_print_ink": 3.0, "synth_print_close": 3.0},
    ),
}
"""By model version: @3's (``liveness/pad-lbpchroma@3``) and @4's; 5 is a trial with no model
(``BUILT_RECIPES``). Why @4: @3 accepted 54.8 % of prints made of ink on paper (never trained
on, session 11); trained on them alone, a model caught them but rejected twice the live
selfies of little colour (the absolute ``cr_std``) and accepted 14.8 % of the old prints.
@4 trains on both prints, on live faces washed of colour (``selfie_pale``), and reads colour
against the face's own (``passive._print_tone``); figures in models/manifest.toml.

Recipe 5 = @4's plus 160 prints held close (``print_close``, 3x), session 13. It did not
earn a model: 5-fold leave-subjects-out at its own operating threshold (0.38, @4's rule),
close prints APCER 25.6 % 41/160 (@4's folds 82.5 % 132/160) but synthetic live BPCER
3.75 % (0.62 %), pale live faces 10.0 % (2.5 %), NUAA APCER 3.4 % (1.6 %) at BPCER 2.6 %
(4.9 %). Feature set 4 cannot tell a print filling the frame from a live face of little
colour: without the border and the small face (``context_lines``, ``face_frac``) the
prints differ from live faces only by about 1 SD of chroma (``sat_mean``, ``cr_std``,
``skin_cr``), as ``selfie_pale`` does; the frame's black level does not part them either
(lowest 0.5 % of luminance: median 36 close prints, 24 selfies, 28 pale, overlapping)."""
BUILT_RECIPES = (3, 4)
"""The recipes with a model in models/manifest.toml (``convert_options``): the kinds they
train on are all a plain ``collect`` (``models.prepare``'s) renders, so a trial recipe's
kinds cost setup nothing."""
DEFAULT_RECIPE = 4
"""The recipe of the default model (``passive.PAD_MODEL_ID``): the benchmark's."""


def eval_only(recipe: int = DEFAULT_RECIPE) -> dict[str, tuple[int, str]]:
    """Kinds the benchmark collects but ``recipe``'s model does not train on (class, species).

    For @3, the ink prints (``benchmarks.synth.close_print.render_ink_print``: ink gamut,
    paper white, dots, held close or at arm's length) and the pale live faces: @3 accepts
    about half the ink prints leave-subjects-out at its threshold (benchmarks/liveness.py).
    For @3 and @4, the prints held close (``render_close_print``): @4 accepts 82.5 % of
    them leave-subjects-out."""
    return {k: v for k, v in _KINDS.items() if k not in RECIPES[recipe].kinds}


def synth_jobs(
    data: Path, per_class: int, eval_only: bool = False, recipe: int = DEFAULT_RECIPE
) -> list[tuple[str, int, str, str]]:
    """``(face path or 'astronaut', index, kind, subject)`` of ``recipe``'s synthetic set (with
    ``eval_only``, every kind: those it does not train on too), face by face in ``_KINDS``
    order (``selfie_pale`` for the first half of the indices only)."""
    from benchmarks.synth.generate import face_people

    lfw = data / "lfw_pairs_aligned112"
    people = face_people(lfw)[::3][:SYNTH_PEOPLE] if lfw.is_dir() else ()
    kinds = [k for k in _KINDS if eval_only or k in RECIPES[recipe].kinds]
    jobs = []
    for i in range(per_class):
        face = str(people[i % len(people)][0]) if people else "astronaut"
        subject = f"synth-{Path(face).parent.name if people else 'astronaut'}"
        half = i < per_class // 2
        jobs += [(face, i, kind, subject) for kind in kinds if kind not in _HALF or half]
    return jobs


def trained(s: Samples, recipe: int = DEFAULT_RECIPE) -> npt.NDArray[np.bool_]:
    """Which samples ``recipe``'s model trains on: all but its ``eval_only`` species."""
    return ~np.isin(np.array(s.species), [sp for _, sp in eval_only(recipe).values()])


def _pale(face: npt.NDArray[np.uint8], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """A face washed of colour: saturation x 0.3-0.75 about its grey, then brightened by a
    gamma of 0.55-0.9 (a pale complexion, a camera that desaturates). Why: live faces of
    little colour were what a model trained on ink prints rejected (session 11)."""
    f = face.astype(np.float32) / 255
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * rng.uniform(0.3, 0.75)
    f = np.clip(f, 0, 1) ** rng.uniform(0.55, 0.9)
    return np.round(f * 255).astype(np.uint8)


def render_synth(face_path: str, index: int, kind: str) -> npt.NDArray[np.uint8]:
    """One synthetic frame of ``face`` (a ``_KINDS`` kind), JPEG-compressed as a phone would.

    ``selfie_pale``: the face washed of colour (``_pale``), then a selfie (even ``index``)
    or a challenge still (odd). ``print_close``: a printed selfie held close, filling the
    frame (``benchmarks.synth.close_print``).

    ``challenge`` is a challenge recording's neutral first frame (no room light or defocus
    drawn, unlike ``selfie``): what the capture app sends as the selfie.
    """
    from benchmarks.synth import selfie
    from benchmarks.synth.challenge import challenge_frames
    from benchmarks.synth.close_print import render_close_print, render_ink_print
    from benchmarks.synth.generate import load_face

    rng = np.random.default_rng([index, _SEED_POSITION[kind], 6])
    face = load_face(face_path)
    if kind == "selfie_pale":
        face = _pale(face, rng)
        kind = "selfie" if index % 2 == 0 else "challenge"
    if kind == "selfie":
        image = selfie.render_selfie(face, (480, 640), rng)[0]
    elif kind == "challenge":
        image = challenge_frames(face, (), rng, neutral_frames=1)[0][0]
    elif kind == "print_ink":
        image = render_ink_print(face, (480, 640), rng)[0]
    elif kind == "print_close":
        image = render_close_print(face, (480, 640), rng)[0]
    else:
        image = selfie.render_face_attack(kind, face, (480, 640), rng)[0]
    quality = int(rng.uniform(70, 95))
    ok, buf = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded: npt.NDArray[np.uint8] = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(decoded)


def _job(job: tuple[str, str, int, str]) -> dict[int, F64] | None:
    source_kind, source, index, kind = job
    if source_kind == "nuaa":
        bgr = cv2.imread(source, cv2.IMREAD_COLOR)
        return _features(np.ascontiguousarray(bgr[:, :, ::-1]))
    return _features(render_synth(source, index, kind))


_COLLECTED: dict[tuple[str, int], dict[tuple[str, str, int, str], dict[int, F64] | None]] = {}
"""Features by (data folder, per_class), then by job, once per process: ``models.prepare``
builds @3 and @4 from the same renders, and a later collect renders only what is new."""


def collected_kinds(eval_only: bool, recipe: int = DEFAULT_RECIPE) -> tuple[str, ...]:
    """The synthetic kinds ``collect`` renders: every kind for the benchmark (``eval_only``),
    else those ``recipe`` or a ``BUILT_RECIPES`` model trains on."""
    built = {k for r in (*BUILT_RECIPES, recipe) for k in RECIPES[r].kinds}
    return tuple(k for k in _KINDS if eval_only or k in built)


def collect(
    data: Path,
    per_class: int = SYNTH_PER_CLASS,
    workers: int = 2,
    eval_only: bool = False,
    recipe: int = DEFAULT_RECIPE,
) -> Samples:
    """Features (``recipe``'s set) of every NUAA image and of ``recipe``'s synthetic set
    (faces not found are dropped; ``eval_only``: with the kinds it does not train on, for
    the benchmark).

    Two worker processes (the machine's cores); results come back in job order, so the
    samples, and the model, do not depend on scheduling. Workers are spawned, not forked:
    ``models.prepare`` builds the other models first in this process, and a fork taken
    after onnxruntime's and OpenCV's thread pools exist deadlocked on a fresh machine. Every
    kind of ``collected_kinds`` is rendered and every feature set computed once per process
    (``_COLLECTED``).
    """
    import multiprocessing

    kinds = set(collected_kinds(eval_only, recipe))
    nuaa = nuaa_rows(data)
    synth = [j for j in synth_jobs(data, per_class, eval_only=True) if j[2] in kinds]
    jobs = [("nuaa", str(p), 0, "") for p, _, _ in nuaa] + [
        ("synth", f, i, kind) for f, i, kind, _ in synth
    ]
    meta = [(c, s, "nuaa_print" if c else "nuaa_live", "") for _, c, s in nuaa]
    meta += [(*_KINDS[kind][:1], s, _KINDS[kind][1], kind) for _, _, kind, s in synth]
    done = _COLLECTED.setdefault((str(data), per_class), {})
    todo = [j for j in jobs if j not in done]
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            done.update(zip(todo, pool.map(_job, todo, chunksize=16), strict=True))
    feats = [done[j] for j in jobs]
    wanted = {*RECIPES[recipe].kinds, *(_KINDS if eval_only else ()), ""}
    keep = [i for i, f in enumerate(feats) if f is not None and meta[i][3] in wanted]
    fs = RECIPES[recipe].feature_set
    return Samples(
        np.array([feats[i][fs] for i in keep]),  # type: ignore[index]
        np.array([meta[i][0] for i in keep]),
        tuple(meta[i][1] for i in keep),
        tuple(meta[i][2] for i in keep),
    )


def _feature_names(recipe: int) -> tuple[str, ...]:
    from ekyc.liveness.passive import FEATURE_SETS

    return FEATURE_SETS[RECIPES[recipe].feature_set]


def save_samples(path: Path, samples: Samples, recipe: int = DEFAULT_RECIPE) -> None:
    """Write ``samples`` (an ``.npz``) with ``recipe``'s feature names and today's synthetic
    set size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=samples.x, y=samples.y, subject=np.array(samples.subject),
             species=np.array(samples.species),
             feature_names=np.array(_feature_names(recipe)),
             per_class=SYNTH_PER_CLASS)  # fmt: skip


def load_samples(path: Path, recipe: int = DEFAULT_RECIPE) -> Samples | None:
    """``save_samples``'s samples; None when absent or written for other feature names than
    ``recipe``'s or another synthetic set size. A change to the synthetic renderer or to how
    a feature is computed goes unseen: delete the file then."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        if z["feature_names"].tolist() != list(_feature_names(recipe)) or int(z["per_class"]) != (
            SYNTH_PER_CLASS
        ):
            return None
        return Samples(z["x"], z["y"], tuple(z["subject"].tolist()),
                       tuple(z["species"].tolist()))  # fmt: skip


HIDDEN = 16
N_CLASSES = 3
MEMBERS = 5
"""MLPs in the ensemble, each from its own seeded start, their P(live) averaged. One fit's
score scale moved with its start (print APCER 2.6 / 3.8 / 4.5 % for seeds 0 / 1 / 2,
leave-subjects-out), so one fit could neither be trusted at 1 % nor keep its threshold:
the average of five moves far less (benchmarks/liveness.py)."""


SPECIES_WEIGHT = RECIPES[3].species_weight
"""@3's loss weight of a sample by its species (``Recipe.species_weight``; 1 when absent).
Why: the operating threshold is NUAA's (its live faces reach 5 % rejected first), which
left the synthetic live faces at 2 % rejected and synthetic prints at 2.9 % accepted;
weighting those prints 3x spends part of that slack. Leave-subjects-out at the per-domain
threshold (benchmarks/liveness.py's folds): on @2's 36 features print APCER 2.89 -> 1.93 %
(NUAA APCER 1.00 % at BPCER 4.91 % either way), with three of the ink-tone features 2.25
-> 1.61 %; 6x gained nothing over 3x (1.61 %, synthetic BPCER 2.7 %)."""


def species_weight(species: tuple[str, ...], recipe: int = DEFAULT_RECIPE) -> F64:
    """Each sample's ``recipe`` species weight."""
    weights = RECIPES[recipe].species_weight
    return np.array([weights.get(s, 1.0) for s in species])


def fit(
    x: F64, y: npt.NDArray[np.int64], *, weight: F64 | None = None, l2: float = 1e-3,
    steps: int = 1500, members: int = MEMBERS,
) -> F64:  # fmt: skip
    """``members`` one-hidden-layer MLPs (tanh, 16 units, softmax), classes balanced,
    full-batch Adam, trained side by side in float32; member ``m`` starts from seed ``m``.
    ``weight``: a loss weight per sample (``species_weight``) times the class balance,
    rescaled to the class balance's total.

    Why an MLP and not logistic regression: NUAA webcam faces and synthetic frames occupy
    different regions of feature space; leave-subjects-out, the hidden layer cut NUAA
    APCER at BPCER 5 % from 3.2 % to 1.1 % (benchmarks/liveness.py). Why side by side in
    float32: one ``z @ W1`` for every member's hidden layer; five members on 2,303 faces
    took 7.5 s CPU, against 15.6 s one after another in float64 (the benchmark's nested
    cross-validation fits 25 ensembles). Returns ``(members, P)`` packed rows (see
    ``ekyc.liveness.passive.PadModel``) rounded to 1e-4.
    """
    mean = np.round(x.mean(axis=0), 4)
    std = np.round(np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0), 4)
    z = ((x - mean) / std).astype(np.float32)
    n, f = z.shape
    k, h, c = members, HIDDEN, N_CLASSES
    w1, w2 = np.empty((f, k, h)), np.empty((k, h, c))
    for m in range(k):
        rng = np.random.default_rng(m)
        w1[:, m] = rng.normal(0, 1 / np.sqrt(f), (f, h))
        w2[m] = rng.normal(0, 1 / np.sqrt(h), (h, c))
    # W1 of every member side by side (f, k*h); W2 per member (k, h, c)
    params = [p.astype(np.float32) for p in (w1.reshape(f, k * h), np.zeros(k * h), w2,
                                              np.zeros((k, 1, c)))]  # fmt: skip
    onehot = np.eye(c, dtype=np.float32)[y]
    balance = (len(y) / (c * np.maximum(onehot.sum(axis=0), 1)))[y][:, None] / n
    if weight is not None:
        balance = balance * weight[:, None] / (balance[:, 0] * weight).sum() * balance.sum()
    loss_weight = balance.astype(np.float32)
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    zt = np.ascontiguousarray(z.T)
    with one_blas_thread():
        for t in range(1, steps + 1):
            w1_, b1, w2_, b2 = params
            hidden = np.tanh(z @ w1_ + b1)  # (n, k*h)
            per = hidden.reshape(n, k, h).transpose(1, 0, 2)  # (k, n, h)
            g = (_softmax(np.matmul(per, w2_) + b2) - onehot) * loss_weight  # (k, n, c)
            back = np.matmul(g, w2_.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(n, k * h)
            gh = back * (1 - hidden**2)
            grads = [
                zt @ gh + l2 * w1_,
                gh.sum(axis=0),
                np.matmul(per.transpose(0, 2, 1), g) + l2 * w2_,
                g.sum(axis=1, keepdims=True),
            ]
            for p, gr, a, b in zip(params, grads, m1, m2, strict=True):
                a *= 0.9
                a += 0.1 * gr
                b *= 0.999
                b += 0.001 * gr**2
                p -= 0.05 * (a / (1 - 0.9**t)) / (np.sqrt(b / (1 - 0.999**t)) + 1e-8)
    w1_, b1, w2_, b2 = (p.astype(np.float64) for p in params)
    w1s, b1s = w1_.reshape(f, k, h), b1.reshape(k, h)
    rows = [np.concatenate([mean, std, w1s[:, m].reshape(-1), b1s[m], w2_[m].reshape(-1), b2[m, 0]])
            for m in range(k)]  # fmt: skip
    return np.round(np.stack(rows), 4)


def _softmax(logits: F64) -> F64:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    out: F64 = e / e.sum(axis=-1, keepdims=True)
    return out


def live_scores(packed: F64, x: F64) -> F64:
    """P(live) under packed models (one row, or ``(members, P)`` rows: their mean), in
    float64; the library computes the same in float32."""
    if packed.ndim == 2:
        out_mean: F64 = np.mean([live_scores(row, x) for row in packed], axis=0)
        return out_mean
    n = x.shape[1]
    mean, std = packed[:n], packed[n : 2 * n]
    at = 2 * n
    w1 = packed[at : at + n * HIDDEN].reshape(n, HIDDEN)
    at += n * HIDDEN
    b1 = packed[at : at + HIDDEN]
    at += HIDDEN
    w2 = packed[at : at + HIDDEN * N_CLASSES].reshape(HIDDEN, N_CLASSES)
    b2 = packed[at + HIDDEN * N_CLASSES :]
    probs = _softmax(np.tanh(((x - mean) / std) @ w1 + b1) @ w2 + b2)
    out: F64 = probs[:, 0]
    return out


BPCER_TARGET = 0.05
"""The operating point: the highest 0.01 step of P(live) with at most this share of live
faces below it in every domain (NUAA and synthetic each), read from leave-subjects-out
scores. The rule pooled the two domains until session 6: the synthetic live faces (a
third of the live class, few rejected) let NUAA's own BPCER reach 6.59 % at 0.76."""


def domains(subjects: tuple[str, ...]) -> npt.NDArray[np.str_]:
    """Each sample's domain: its subject's prefix (``nuaa`` or ``synth``)."""
    return np.array([s.split("-", 1)[0] for s in subjects])


def subject_folds(s: Samples, folds: int = 5) -> list[npt.NDArray[np.bool_]]:
    """Per fold, which samples it holds out (leave subjects out).

    Fold k holds out every ``folds``-th subject of each domain (NUAA, synthetic), so both
    domains are in every training set, as in the shipped model.
    """
    subj = np.array(s.subject)
    nuaa = sorted({x for x in subj if x.startswith("nuaa")})
    synth = sorted({x for x in subj if x.startswith("synth")})
    return [np.isin(subj, sorted(set(nuaa[k::folds]) | set(synth[k::folds]))) for k in range(folds)]


def cross_validate(s: Samples, folds: int = 5, recipe: int = DEFAULT_RECIPE) -> F64:
    """P(live) of every sample from a model fitted without its subject (``subject_folds``),
    on the ``trained`` samples of the other subjects."""
    scores = np.full(len(s.y), np.nan)
    fit_on = trained(s, recipe)
    for test in subject_folds(s, folds):
        if test.any():
            on = ~test & fit_on
            model = fit(s.x[on], s.y[on], weight=species_weight(s.species, recipe)[on])
            scores[test] = live_scores(model, s.x[test])
    return scores


def threshold_folds(s: Samples) -> int:
    """Folds of the leave-subjects-out run a threshold is read from: one per NUAA subject
    (``subject_folds`` then holds out one NUAA subject and a share of the synthetic people).

    Why not 5: a held-out subject's live faces score lower the fewer NUAA subjects its model
    saw, and a BPCER quantile read off such scores lands low. With 5 folds the models see 8
    of 10 subjects; inside a nested check 6 of 8, and one fold's inner run (0006 and 0013
    out) rejected 0004's and 0012's live faces wholesale and chose 0.01 (session 14). One
    subject out, the models see all but one, as near the shipped model as the data allows.
    """
    return max(2, len({x for x in s.subject if x.startswith("nuaa")}))


def operating_threshold(
    scores: F64, live: npt.NDArray[np.bool_], domain: npt.NDArray[np.str_] | None = None
) -> float:
    """The highest 0.01 step with at most ``BPCER_TARGET`` of the live ``scores`` below it,
    in each ``domain`` (one label per score; None: all scores are one domain).

    ``scores`` must come from models that did not see their subjects (``cross_validate``):
    a model's scores on its own training faces are too high, and so would the step be.
    Per domain, because the domains' live faces are not alike: pooled, the many easy
    synthetic live faces hid NUAA's rejected ones (BPCER 6.59 % at the pooled step).
    """
    steps = np.round(np.arange(101) / 100, 2)
    labels = np.zeros(len(scores), np.int8) if domain is None else domain
    best = 1.0
    for name in np.unique(labels[live]):
        mine = scores[live & (labels == name)]
        rejected = (mine[None, :] < steps[:, None]).mean(axis=1)
        best = min(best, float(steps[rejected <= BPCER_TARGET].max()))
    return best


def subset(s: Samples, keep: npt.NDArray[np.bool_]) -> Samples:
    """The samples where ``keep`` is true."""
    at = np.flatnonzero(keep)
    return Samples(s.x[at], s.y[at], tuple(s.subject[i] for i in at),
                   tuple(s.species[i] for i in at))  # fmt: skip


def model_bytes(samples: Samples, recipe: int = DEFAULT_RECIPE) -> bytes:
    """The ``.npy`` bytes of the model trained on ``samples`` (their ``trained`` ones)."""
    buf = io.BytesIO()
    samples = subset(samples, trained(samples, recipe))
    packed = fit(samples.x, samples.y, weight=species_weight(samples.species, recipe))
    np.save(buf, packed.astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def convert(source: Path, out_path: Path, recipe: int = 3) -> Conversion | None:
    """Train ``recipe``'s model and write it atomically; None (with a message) when the data
    folder is absent. ``recipe``: the manifest's ``convert_options`` (@3's entry has none)."""
    trained = train(source, out_path, recipe=recipe)
    return None if trained is None else trained[0]


def train(
    source: Path,
    out_path: Path,
    *,
    threshold: bool = False,
    features: Path | None = None,
    recipe: int = DEFAULT_RECIPE,
) -> tuple[Conversion, float | None] | None:
    """``convert``, and with ``threshold`` the operating threshold of a leave-subjects-out
    run on the same samples, one NUAA subject per fold (``threshold_folds``,
    ``operating_threshold``). ``features``: an ``.npz`` of the samples (``ekyc bench
    liveness --features-cache``), read when it holds today's features (``load_samples``),
    written otherwise."""
    if not (source / "nuaa_imposter_raw" / "labels.csv").is_file():
        print(
            f"models: liveness PAD not trained: no NUAA data under {source} "
            "(set EKYC_DATA_DIR); passive liveness will raise ModelNotFound",
            file=sys.stderr,
        )
        return None
    start = time.perf_counter()
    samples = None if features is None else load_samples(features, recipe)
    if samples is None:
        samples = collect(source, recipe=recipe)
        if features is not None:
            save_samples(features, samples, recipe)
    written = write_output(out_path, model_bytes(samples, recipe), start)
    if not threshold:
        return written, None
    scores = cross_validate(samples, threshold_folds(samples), recipe=recipe)
    return written, operating_threshold(scores, samples.y == 0, domains(samples.subject))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.train_pad", description=__doc__)
    parser.add_argument("--data", type=Path, default=default_dat_path())
    parser.add_argument(
        "--out", type=Path, default=None, help="default: models/build/pad_lbpchroma_v<recipe>.npy"
    )
    parser.add_argument("--recipe", type=int, choices=sorted(RECIPES), default=DEFAULT_RECIPE)
    parser.add_argument(
        "--threshold",
        action="store_true",
        help="also print the operating threshold (leave-subjects-out, one NUAA subject per "
        "fold; BPCER <= 5 %% in NUAA and in the synthetic set each) for the manifest",
    )
    parser.add_argument(
        "--features",
        type=Path,
        default=None,
        help="an .npz of the features (read when it holds today's feature names, written "
        "otherwise; delete it after changing the synthetic renderer)",
    )
    args = parser.parse_args(argv)
    out = args.out or REPO / "models" / "build" / f"pad_lbpchroma_v{args.recipe}.npy"
    trained = train(args.data, out, threshold=args.threshold, features=args.features,
                    recipe=args.recipe)  # fmt: skip
    if trained is None:
        return 0
    result, threshold = trained
    print(f"path    {result.path}")
    print(f"sha256  {result.sha256}")
    print(f"size    {result.size_bytes} bytes ({result.elapsed_s:.2f} s)")
    if threshold is not None:
        print(f"threshold {threshold:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
