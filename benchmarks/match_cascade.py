"""Does a cascade decide as its fusion does, and how often does it need the fusion?

    python -m benchmarks.match_cascade [--cascade ID | --fusion ID --screen ID]
        [--data PATH] [--cache DIR] [--pairs N] [--timed-pairs 40] [--threads 1] [--out DIR]

A cascade (``ekyc.match.cascade``) scores each pair by its screen member first (int8
dlib-ONNX, ~5 ms per face): at or above ``accept_from`` it is a match, below
``reject_below`` not, and only in between do both faces go through the rest of the fusion.
The band comes from this benchmark, never by hand, on the LFW development folds 1-6 and the
card portrait vs selfie pairs of ``benchmarks.match_cards`` together (the same folds):

* ``accept_from``: just above the screen similarity of every pair of different people (LFW:
  every image against every other; cards: every portrait against every selfie);
* ``reject_below``: the lowest screen similarity of a listed genuine pair that the fusion
  accepts at its loosest calibrated threshold (the FMR 1e-3 / 1e-4 thresholds of both
  sources, each the FMR quantile of every pair of different people, as ``ekyc bench match``
  finds them).

The LFW protocol checks the rule: for each fold, the band and the thresholds come from the
other five folds (both sources), and the held-out fold's decisions are counted: TAR of the
listed genuine pairs and FAR over every pair of different people of the held-out fold at
FMR 1e-3 and 1e-4, accuracy at the best-accuracy threshold, and the share of listed pairs
that need the fusion, beside the fusion alone on the same pairs. ``Band on all folds`` is what
``models/fusion/*.json`` holds (``--cascade``: compared with the shipped one).

Cost: CPU ms per face (``time.process_time``, 1 thread, batch 1) of the screen and of the
rest, the expected cost per face (screen + share needing the fusion x rest), and a paired
run: ``--timed-pairs`` pairs (half genuine) of each source, each face embedded and each pair
compared by the real ``CascadeEmbedder`` and by the fusion, alternately.

Embeddings are those of ``ekyc bench match`` for the fusion (``--cache`` shares its files).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.match import (
    Impostors,
    PairSet,
    _cache_file,
    all_impostors,
    best_accuracy_threshold,
    embed_images,
    fmr_threshold,
    lfw_pair_set,
    onnx_candidate,
    pair_scores,
    similarity_matrix,
)
from benchmarks.report import Report, suite_main
from ekyc.match.compare import zsum_members
from ekyc.registry import Registry

FMRS = (1e-3, 1e-4)
"""The rates the manifest holds thresholds for; the band must serve the loosest of them."""
DEFAULT_FUSION = "face-embed/fusion-sface-int8-dlib@2"
DEFAULT_SCREEN = "face-embed/dlib-resnet-v1-int8@1"

Scores = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass
class SourceScores:
    """One pair source's per-pair scores: the screen's, the fusion's, labels and folds."""

    key: str
    screen: Scores
    fused: Scores
    same: Mask
    ok: Mask
    folds: npt.NDArray[np.int_]
    pairs: list[dict[str, str]]
    load: Any
    imp_screen: Impostors
    """Every pair of different people, the screen's similarity (same order as imp_fused)."""
    imp_fused: Impostors


def choose_band(sources: list[SourceScores], folds: set[int]) -> tuple[float, float, float]:
    """(reject_below, accept_from, loosest threshold) from ``folds`` of every source.

    ``accept_from`` is just above the highest screen similarity of every pair of different
    people within ``folds``; ``reject_below`` the lowest screen similarity of a listed genuine
    pair the fusion accepts at the loosest of the FMR thresholds (``FMRS``) of any source,
    each the FMR quantile of that source's every-pair impostors within ``folds``.
    """
    loosest = min(fmr_threshold(s.imp_fused.within(folds), f) for s in sources for f in FMRS)
    top = max(float(s.imp_screen.within(folds).max()) for s in sources)
    inside = [np.isin(s.folds, sorted(folds)) for s in sources]
    accepted = [s.screen[t & s.same & s.ok & (s.fused >= loosest)]
                for s, t in zip(sources, inside, strict=True)]  # fmt: skip
    low = min(float(a.min()) for a in accepted if a.size)
    return min(low, top), float(np.nextafter(top, np.inf)), float(loosest)


def outward(value: float, *, up: bool) -> float:
    """``value`` at 1e-6, rounded away from the band's inside (the band only widens)."""
    steps = value * 1e6
    return float(f"{(math.ceil(steps) if up else math.floor(steps)) / 1e6:.6f}")


def cascade_decisions(s: SourceScores, lo: float, hi: float, threshold: float) -> Mask:
    """Accept at ``screen >= hi``, reject below ``lo`` (or without a face), else the fusion's."""
    fused = s.fused >= threshold
    out: Mask = np.where(s.screen >= hi, True, np.where(s.screen < lo, False, fused))
    return out & s.ok


def in_band(s: SourceScores, lo: float, hi: float) -> Mask:
    """Pairs whose two faces go through the whole fusion."""
    band: Mask = (s.screen >= lo) & (s.screen < hi) & s.ok
    return band


def leave_one_fold_out(sources: list[SourceScores]) -> dict[str, dict[str, Any]]:
    """Per source: held-out figures of the cascade and of the fusion, mean over folds.

    FAR: over every pair of different people within the held-out fold (``far``) and over
    its listed impostors (``far_listed``); thresholds from every such pair of the others.
    """
    folds = sorted(set(sources[0].folds.tolist()))
    acc: dict[str, dict[str, list[Any]]] = {s.key: {} for s in sources}
    for fold in folds:
        train = [s.folds != fold for s in sources]
        lo, hi, _ = choose_band(sources, set(folds) - {fold})
        for s, tr in zip(sources, train, strict=True):
            te, row = s.folds == fold, acc[s.key]
            band = in_band(s, lo, hi)
            row.setdefault("band", []).append((lo, hi))
            row.setdefault("need_genuine", []).append(float(band[te & s.same].mean()))
            row.setdefault("need_impostor", []).append(float(band[te & ~s.same].mean()))
            t_acc = best_accuracy_threshold(s.fused[tr], s.same[tr])
            for name, dec in (("cascade", cascade_decisions(s, lo, hi, t_acc)),
                              ("fusion", (s.fused >= t_acc) & s.ok)):  # fmt: skip
                row.setdefault(f"{name}_accuracy", []).append(float((dec[te] == s.same[te]).mean()))
            trained = s.imp_fused.within(set(folds) - {fold})
            held_screen = s.imp_screen.within({fold})
            held_fused = s.imp_fused.within({fold})
            for f in FMRS:
                t = fmr_threshold(trained, f)
                every = {"cascade": np.where(held_screen >= hi, True,
                                             np.where(held_screen < lo, False, held_fused >= t)),
                         "fusion": held_fused >= t}  # fmt: skip
                for name, dec in (("cascade", cascade_decisions(s, lo, hi, t)),
                                  ("fusion", (s.fused >= t) & s.ok)):  # fmt: skip
                    row.setdefault(f"{name}_tar_{f:g}", []).append(float(dec[te & s.same].mean()))
                    row.setdefault(f"{name}_far_listed_{f:g}", []).append(
                        float(dec[te & ~s.same].mean()))  # fmt: skip
                    row.setdefault(f"{name}_far_{f:g}", []).append(float(every[name].mean()))
    return {
        key: {k: (v if k == "band" else float(np.mean(v))) for k, v in row.items()}
        for key, row in acc.items()
    }


def _member_slices(metric: str, screen_index: int) -> tuple[slice, str]:
    """The screen member's columns in the fused descriptor and its own metric."""
    start = 0
    for i, part in enumerate(metric.removeprefix("zsum:").split(";")):
        name, dims, _, _ = part.split(",")
        if i == screen_index:
            return slice(start, start + int(dims)), name
        start += int(dims)
    raise ValueError(f"member {screen_index} not in {metric!r}")


def source_scores(ps: PairSet, vectors: dict[str, np.ndarray], fused_metric: str,
                  screen_index: int) -> SourceScores:  # fmt: skip
    cols, screen_metric = _member_slices(fused_metric, screen_index)
    mine = {k: v[cols] for k, v in vectors.items()}
    pairs = ps.pairs
    ok = np.array([p["img1"] not in ps.missing and p["img2"] not in ps.missing for p in pairs])
    imp_screen = all_impostors(mine, pairs, screen_metric, ps.missing, cross=ps.cross)
    imp_fused = all_impostors(vectors, pairs, fused_metric, ps.missing, cross=ps.cross)
    return SourceScores(
        key=ps.key,
        screen=pair_scores(mine, pairs, screen_metric, ps.missing),
        fused=pair_scores(vectors, pairs, fused_metric, ps.missing),
        same=np.array([p["same"] == "1" for p in pairs]),
        ok=ok,
        folds=np.array([int(p["fold"]) for p in pairs]),
        pairs=pairs,
        load=ps.load,
        imp_screen=imp_screen,
        imp_fused=imp_fused,
    )


def cross_identity_rates(
    vectors: dict[str, np.ndarray],
    names_a: list[str],
    names_b: list[str] | None,
    fused_metric: str,
    screen_index: int,
    band: tuple[float, float],
    threshold: float,
) -> dict[str, Any]:
    """False-match rates over every pair of different people (far more than the pair lists).

    ``names_b`` None: every unordered pair within ``names_a`` (LFW images); else every
    ``names_a`` x ``names_b`` pair (cards x selfies). The person is the image's folder name.
    Returns the fusion's and the cascade's rates at ``threshold``, the cascade's early
    accepts that the fusion rejects, the share of pairs in the band, and the fused
    thresholds at ``FMRS`` over all these pairs (as ``fmr_threshold``).
    """
    members = zsum_members(fused_metric)
    lo, hi = band
    rows = names_b if names_b is not None else names_a
    xa = np.stack([vectors[n] for n in names_a]).astype(np.float32)
    xb = np.stack([vectors[n] for n in rows]).astype(np.float32)
    pa = np.array([Path(n).parent.name for n in names_a])
    pb = np.array([Path(n).parent.name for n in rows])
    total = fused_acc = cascade_acc = early_only = band_n = 0
    high: list[np.ndarray] = []  # fused scores near and above the threshold
    for start in range(0, len(xa), 256):
        stop = min(start + 256, len(xa))
        fused = np.zeros((stop - start, len(xb)), np.float32)
        col = 0
        screen = fused
        for i, (name, dims, mean, std) in enumerate(members):
            sim = similarity_matrix(xa[start:stop, col : col + dims], xb[:, col : col + dims], name)
            fused = fused + (sim - mean) / std
            if i == screen_index:
                screen = sim
            col += dims
        keep = pa[start:stop, None] != pb[None]
        if names_b is None:  # each unordered pair once
            keep &= np.arange(start, stop)[:, None] < np.arange(len(xb))[None]
        accept = fused >= threshold
        high.append(fused[keep & (fused >= threshold - 3.0)])
        early = screen >= hi
        inside = (screen >= lo) & ~early
        total += int(keep.sum())
        fused_acc += int((accept & keep).sum())
        cascade_acc += int(((early | (inside & accept)) & keep).sum())
        early_only += int((early & ~accept & keep).sum())
        band_n += int((inside & keep).sum())
    top = np.sort(np.concatenate(high))[::-1]
    thresholds = {}
    for f in FMRS:  # as fmr_threshold, over every pair
        allowed = int(np.floor(f * total))
        if allowed >= len(top):
            raise ValueError("keep more scores: the FMR quantile is below the kept ones")
        thresholds[f"{f:g}"] = float(np.nextafter(top[allowed], np.inf))
    return {
        "thresholds": thresholds,
        "impostor_pairs": total,
        "fusion_fmr": fused_acc / total,
        "cascade_fmr": cascade_acc / total,
        "early_accepts_fusion_rejects": early_only / total,
        "in_band": band_n / total,
    }


@contextlib.contextmanager
def _pair_sets(args: argparse.Namespace) -> Iterator[list[PairSet]]:
    lfw = lfw_pair_set(args.data, args.pairs)
    if args.source == "lfw":
        yield [lfw]
        return
    from benchmarks.match_cards import card_pair_set

    with card_pair_set(lfw.root, lfw.pairs, args.cache, args.render_workers) as cards:
        yield [lfw, cards] if args.source == "both" else [cards]


def _cpu_ms_per_call(fn: Any, runs: int) -> float:
    for _ in range(2):
        fn()
    start = time.process_time()
    for _ in range(runs):
        fn()
    return (time.process_time() - start) * 1000.0 / runs


def _timed_pairs(s: SourceScores, count: int) -> list[int]:
    """About ``count`` pairs with both faces, half genuine, spread over the list."""
    out: list[int] = []
    for same in (True, False):
        idx = np.flatnonzero(s.ok & (s.same == same))
        take = max(1, count // 2)
        out += [int(i) for i in idx[np.linspace(0, len(idx) - 1, take).astype(int)]]
    return sorted(set(out))


def paired_cost(cascade: Any, fusion: Any, s: SourceScores, count: int
                ) -> dict[str, float]:  # fmt: skip
    """CPU ms per face: each pair's two faces embedded and compared, cascade and fusion
    alternately (the same load for both); and how many cascade decisions differ from a
    direct evaluation of its rule on the same faces."""
    from ekyc.match import compare

    idx = _timed_pairs(s, count)
    times = {"cascade": 0.0, "fusion": 0.0}
    finished = 0
    for i in idx:
        p = s.pairs[i]
        faces = [s.load(p["img1"]), s.load(p["img2"])]
        for name, emb in (("cascade", cascade), ("fusion", fusion)):
            start = time.process_time()
            a, b = (emb.embed([f])[0] for f in faces)
            compare(a, b, metric=emb.metric, threshold=0.0, fmr=1e-3)
            times[name] += time.process_time() - start
            if name == "cascade":
                finished += int(a.finished) + int(b.finished)
    faces_n = 2 * len(idx)
    return {
        "pairs": len(idx),
        "cascade_ms_per_face": 1000.0 * times["cascade"] / faces_n,
        "fusion_ms_per_face": 1000.0 * times["fusion"] / faces_n,
        "faces_finished": finished / faces_n,
    }


def run(args: argparse.Namespace, report: Report) -> None:
    import cv2

    from ekyc.match import CascadeEmbedder, FusedEmbedder, load_embedder

    cv2.setNumThreads(args.threads)
    registry = Registry.from_manifest(threads=args.threads)
    shipped: CascadeEmbedder | None = None
    fusion_id, screen_id = args.fusion, args.screen
    if args.cascade:
        loaded = load_embedder(registry, args.cascade)
        if not isinstance(loaded, CascadeEmbedder):
            raise SystemExit(f"{args.cascade} is not a cascade")
        shipped = loaded
        fusion_id, screen_id = loaded.fusion.model.id, loaded.screen.model.id
    fusion = load_embedder(registry, fusion_id)
    if not isinstance(fusion, FusedEmbedder):
        raise SystemExit(f"{fusion_id} is not a fusion")
    ids = [m.embedder.model.id for m in fusion.members]
    screen_index = ids.index(screen_id)
    cand = onnx_candidate(registry, fusion_id)
    with _pair_sets(args) as sets:
        sources, vectors_by_set = [], []
        for ps in sets:
            names = sorted(({p["img1"] for p in ps.pairs} | {p["img2"] for p in ps.pairs})
                           - ps.missing)  # fmt: skip
            cache = _cache_file(args.cache, cand, "template", ps.cache_tag) if args.cache else None
            vectors = embed_images(cand, ps.load, names, cache)
            vectors_by_set.append(vectors)
            sources.append(source_scores(ps, vectors, fusion.metric, screen_index))
        held = leave_one_fold_out(sources)
        cross = {}
        for ps, vec, sc in zip(sets, vectors_by_set, sources, strict=True):
            if shipped is None:
                break
            budget = "thresholds_by_fmr_card" if ps.key == "match_cards" else "thresholds_by_fmr"
            t = float(registry.spec(fusion_id).extra[budget]["1e-3"])
            firsts = sorted({p["img1"] for p in sc.pairs} - ps.missing)
            seconds = sorted({p["img2"] for p in sc.pairs} - ps.missing)
            everyone = sorted(set(firsts) | set(seconds))
            cross[ps.key] = cross_identity_rates(
                vec, everyone if ps.key == "match" else firsts,
                None if ps.key == "match" else seconds, fusion.metric, screen_index,
                (shipped.reject_below, shipped.accept_from), t,
            ) | {"threshold": t}  # fmt: skip
            genuine = sc.fused[sc.same]  # a pair without a face scores lowest: a reject
            cross[ps.key]["tar_at_all_pair_thresholds"] = {
                k: float((genuine >= v).mean()) for k, v in cross[ps.key]["thresholds"].items()
            }
        lo, hi, loosest = choose_band(sources, set(sources[0].folds.tolist()))
        cascade = CascadeEmbedder(fusion.model, fusion, screen_index, reject_below=lo,
                                  accept_from=hi)  # fmt: skip
        if shipped is not None:
            cascade = shipped
        # CPU per face of the screen and of the rest, batch 1, on a real crop
        probe = sources[0].load(sources[0].pairs[0]["img1"])
        screen_ms = _cpu_ms_per_call(lambda: cascade.embed([probe]), args.runs)
        staged = cascade.embed([probe])[0]
        rest_ms = _cpu_ms_per_call(lambda: cascade.finish(staged), args.runs)
        paired = {s.key: paired_cost(cascade, fusion, s, args.timed_pairs) for s in sources}

    report.section(
        "Cascade vs its fusion, LFW protocol",
        f"Fusion {fusion_id}, screen {screen_id} (member {screen_index}). For each held-out "
        f"fold the band and thresholds come from every pair of different people in the other "
        f"five folds of {' and '.join(s.key for s in sources)}; TAR on the listed genuine "
        f"pairs, FAR (x 1e-3) over every pair of different people of the held-out fold "
        f"(beside it, over its listed impostors); percent, mean over folds. Accuracy at the "
        f"fusion's best-accuracy threshold of the training folds; 'needs fusion': pairs "
        f"whose faces go through every member. {args.threads} thread(s).",
    )
    rows: list[list[object]] = []
    for s in sources:
        h = held[s.key]
        for name in ("fusion", "cascade"):
            need = (f"{100 * h['need_genuine']:.1f} / {100 * h['need_impostor']:.1f}"
                    if name == "cascade" else "100 / 100")  # fmt: skip
            tars = [f"{100 * h[f'{name}_tar_{f:g}']:.2f}" for f in FMRS]
            fars = [f"{1000 * h[f'{name}_far_{f:g}']:.3f} "
                    f"({1000 * h[f'{name}_far_listed_{f:g}']:.2f})" for f in FMRS]  # fmt: skip
            rows.append([s.key, name, f"{100 * h[f'{name}_accuracy']:.2f}", *tars, *fars, need])
    report.table(["pairs", "decided by", "accuracy %", *(f"TAR@FMR {f:g} %" for f in FMRS),
                  *(f"held-out FAR@{f:g} x 1e-3 (listed)" for f in FMRS),
                  "needs fusion % genuine / impostor"], rows)  # fmt: skip
    report.section(
        "Band on all folds",
        f"Screen similarity (the screen's own scale); the loosest calibrated fused threshold "
        f"was {loosest:.6f}. For models/fusion/*.json:",
    )
    band = {"reject_below": outward(lo, up=False), "accept_from": outward(hi, up=True)}
    report.text(f"`{json.dumps(band)}`")
    if shipped is not None:
        report.text(f"Shipped {shipped.model.id}: reject_below {shipped.reject_below}, "
                    f"accept_from {shipped.accept_from}.")  # fmt: skip
    report.section(
        "Cost, CPU ms per face",
        f"time.process_time, batch 1, {args.runs} runs: screen {screen_ms:.2f} ms, the rest of "
        f"the fusion {rest_ms:.2f} ms. Expected per face = screen + share of pairs needing the "
        f"fusion x rest (50/50 genuine/impostor as in the test pairs; 'genuine' = every pair "
        f"genuine, as most applicants are). Paired: {args.timed_pairs} pairs per source, each "
        f"face embedded and the pair compared, cascade ({cascade.model.id}) and fusion "
        f"alternately; load {os.getloadavg()[0]:.1f} at the end.",
    )
    cost_rows = []
    for s in sources:
        h, pc = held[s.key], paired[s.key]
        mixed = (h["need_genuine"] + h["need_impostor"]) / 2
        cost_rows.append([s.key, f"{screen_ms + mixed * rest_ms:.1f}",
                          f"{screen_ms + h['need_genuine'] * rest_ms:.1f}",
                          f"{pc['cascade_ms_per_face']:.1f}", f"{pc['fusion_ms_per_face']:.1f}",
                          f"{100 * pc['faces_finished']:.0f}"])  # fmt: skip
    report.table(["pairs", "expected, 50/50", "expected, genuine", "paired: cascade",
                  "paired: fusion", "paired: faces finished %"], cost_rows)  # fmt: skip
    if shipped is not None:
        report.section(
            "False matches over every pair of different people",
            "The pair lists hold 1,800 impostors per source, too few for a rate of 1e-3. Here "
            "every LFW image against every other of another person, and every card portrait "
            "against every selfie of another person (the same images and embeddings), at the "
            "fusion's calibrated FMR 1e-3 threshold of each source (manifest) and the shipped "
            "band. Identities are LFW folder names (a few LFW people appear under two names).",
        )
        report.table(["pairs", "impostor pairs", "fusion FMR", "cascade FMR",
                      "early accepts the fusion rejects", "in band %"],
                     [[k, v["impostor_pairs"], f"{v['fusion_fmr']:.2e}",
                       f"{v['cascade_fmr']:.2e}", f"{v['early_accepts_fusion_rejects']:.2e}",
                       f"{100 * v['in_band']:.1f}"] for k, v in cross.items()])  # fmt: skip
        report.text(
            "The fusion's thresholds at FMR 1e-3 / 1e-4 over all these pairs, and the TAR of "
            "the listed genuine pairs at them (vs the manifest's 1e-3 threshold): "
            + "; ".join(
                f"{k}: {v['thresholds']['0.001']:.4f} / {v['thresholds']['0.0001']:.4f} "
                f"(manifest {v['threshold']:.4f}), TAR "
                f"{100 * v['tar_at_all_pair_thresholds']['0.001']:.2f} / "
                f"{100 * v['tar_at_all_pair_thresholds']['0.0001']:.2f} %"
                for k, v in cross.items()
            )
        )
    report.results["match_cascade"] = {
        "cross_identity": cross,
        "fusion": fusion_id,
        "screen": screen_id,
        "held_out": held,
        "band_all_folds": band | {"loosest_threshold": loosest},
        "cpu_ms_per_face": {"screen": screen_ms, "rest": rest_ms},
        "paired": paired,
        "shipped": None
        if shipped is None
        else {
            "id": shipped.model.id,
            "reject_below": shipped.reject_below,
            "accept_from": shipped.accept_from,
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default_data = Path(os.environ.get("EKYC_DATA_DIR", "../shared/data"))
    parser.add_argument("--cascade", default=None, help="a registry cascade (its band shipped)")
    parser.add_argument("--fusion", default=DEFAULT_FUSION)
    parser.add_argument("--screen", default=DEFAULT_SCREEN)
    parser.add_argument("--data", type=Path, default=default_data / "lfw_pairs_aligned112")
    parser.add_argument("--pairs", type=int, default=None, help="about N pairs, even over folds")
    parser.add_argument("--source", choices=("lfw", "cards", "both"), default="both")
    parser.add_argument("--cache", type=Path, default=None, help="as ekyc bench match --cache")
    parser.add_argument("--render-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per member")
    parser.add_argument("--timed-pairs", type=int, default=40, help="paired-cost pairs per source")
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.match_cascade", __doc__, add_arguments, run,
                      "Face match cascade", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
