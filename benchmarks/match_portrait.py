"""Does another cut of the card portrait, or preprocessing it, raise card-vs-selfie TAR?

The card pairs of ``ekyc bench match --source cards`` (``benchmarks/match_cards.py``: LFW
folds 1-6, ``img1`` printed on a synthetic card in a 1280x720 front scene, ``img2`` a live
selfie). The portrait is found by YuNet on the card rectified with the true corners at
10 px/mm, as shipped; only the card side's 112 px ArcFace crop (or its descriptor) changes:

- ``rectified``: the shipped cut, ``align_face`` on the rectified card (bench match's crop);
- ``rectified-aa``: the same warped at twice the size and shrunk with ``INTER_AREA`` (the
  face on the rectified card is ~1.5-2x the chip: bilinear shrinking aliases);
- ``frame`` / ``frame-aa``: warped straight from the shot through the card homography and
  the alignment (one resampling instead of two), plain or at twice the size then shrunk;
- ``refine``: the shipped detection looked at again by ``ekyc.match.refine_face`` (YuNet on
  a window twice the box, at 320 px), aligned on the rectified card (cuts v2);
- ``grayworld``, ``unsharp``, ``clahe``, ``stretch``: the shipped crop with its colour
  balanced (grey world over the face), sharpened (amount 0.6, sigma 1), local contrast
  (CLAHE on L*, clip 2, 4x4 tiles) or its face's 1-99 % luminance stretched to 10-245;
- ``mirror-mean``: the portrait's descriptor is the mean of the crop's and its mirror's
  (per fused member: unit vectors for a cosine member), one more embedding per portrait.

Each variant is scored as bench match scores a model (``benchmarks.match.run_pairs``): leave
one fold out, thresholds at FMR 1e-3 / 1e-4 on every card x selfie pair of different people
in the training folds, held-out TAR and FAR, a fusion's z-statistics from the LFW training
folds only. The selfies and LFW vectors are bench match's (same cache); cards whose portrait
YuNet misses stay false rejects in every variant.

    python -m benchmarks.match_portrait --cache DIR [--variants rectified,frame,...]
        [--models face-embed/fusion-sface-int8-dlib@2] [--pairs N] [--workers 2] [--out DIR]

Session 7 (load 13-18, all 3,600 pairs, fusion @2; measured with ``ekyc bench match
--source cards`` on crops made the same way before this script existed: the -aa cuts with
``warpAffine``, the preprocessing and mirror-mean variants on bench match's cached crops of an
earlier render whose shipped cut gives the same 94.06 %; this script itself ran on 60 pairs
only). TAR at FAR 1e-3, held-out FAR 9.7-9.9e-4 each: rectified 94.06 %, rectified-aa 93.94,
frame 94.22, frame-aa 93.83, grayworld 93.67, unsharp 94.11, clahe 92.67, stretch 93.50,
mirror-mean 94.33 (fold std 1.4-2.0 points; 0.06 points is one pair). None reaches #5's 95 %.
In these 1280x720 scenes the portrait's face spans ~1.3x the chip in the shot (10-90 %:
0.97-1.66x): the full-resolution cut has little to recover; what is lost is in the print.

Session 15 (load 10-14, ``--pairs 900``: 831 cards, cuts v2, fusion @2): TAR at FAR 1e-3
rectified 92.89 % -> refine 93.78 % (held-out FAR 1.06 / 1.09e-3), accuracy 98.44 -> 99.00 %,
EER 1.78 -> 1.33 %, 1e-4 87.33 % both; the card thresholds move (1e-3 5.397 -> 5.410).
Session 16: verify's ``look_at_portrait`` uses ``refine_face`` and the card thresholds are
recalibrated on match_cards render v3 (refined portraits). This bench takes only the selfies
from ``render_all``'s cache (v3's are v2's) and cuts every card variant itself, so its
``rectified`` row stays the first pass's cut.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.match import (
    Candidate,
    PairSet,
    _cache_file,
    _candidates,
    _load_rgb,
    lfw_pair_set,
    run_pairs,
)
from benchmarks.match import add_arguments as match_arguments
from benchmarks.match_cards import RENDER_VERSION, card_shot, render_all
from benchmarks.report import Report, suite_main

CUT_VERSION = "v2"
"""Names the cache folder of the cut variants; bump when a cut below changes."""
CUTS = ("rectified", "rectified-aa", "frame", "frame-aa", "refine")
PREPROCESS = ("grayworld", "unsharp", "clahe", "stretch")
VARIANTS = (*CUTS, *PREPROCESS, "mirror-mean")
_WORKER: dict[str, Any] = {}


def _init_worker() -> None:
    import cv2

    from ekyc.match import YuNetDetector
    from ekyc.registry import Registry

    cv2.setNumThreads(1)
    _WORKER["detector"] = YuNetDetector(Registry.from_manifest(threads=1))


def _to_opencv(matrix: np.ndarray) -> np.ndarray:
    """A 3x3 map in the project's pixel convention as OpenCV's (integer pixel centres)."""
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1.0]])
    return np.linalg.inv(shift) @ matrix @ shift


def warp_chip(image: np.ndarray, matrix: np.ndarray, size: int, supersample: int = 1
              ) -> np.ndarray:  # fmt: skip
    """``image`` through the 3x3 ``matrix`` (project convention) onto a ``size`` px chip.

    With ``supersample`` k > 1 the chip is warped at k times the size and shrunk with
    ``INTER_AREA``: every source pixel under a chip pixel counts, not the nearest four.
    """
    import cv2

    big = np.diag([supersample, supersample, 1.0]) @ matrix
    out = cv2.warpPerspective(image, _to_opencv(big), (size * supersample,) * 2,
                              flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))  # fmt: skip
    if supersample > 1:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out, np.uint8)


def cut_variants(face: np.ndarray, name: str, detector: Any) -> dict[str, Any]:
    """The card of ``name`` rendered as bench match renders it, its portrait cut each way."""
    from ekyc.match import refine_face
    from ekyc.match.align import TEMPLATES, align_face, similarity_transform

    frame, rectified, _ = card_shot(face, name)
    faces = detector.detect(rectified.image)
    out: dict[str, Any] = {"found": len(faces)}
    if not faces:
        return out
    best = max(faces, key=lambda f: f.score)
    tpl = TEMPLATES["arcface-5pt-112"]
    align = np.eye(3)
    align[:2] = similarity_transform(best.landmarks, tpl.points)
    through = align @ rectified.homography  # shot -> rectified card -> chip
    out["rectified"] = align_face(rectified.image, best.landmarks, tpl.name)
    out["rectified-aa"] = warp_chip(rectified.image, align, tpl.size, 2)
    out["frame"] = warp_chip(frame, through, tpl.size)
    out["frame-aa"] = warp_chip(frame, through, tpl.size, 2)
    refined = refine_face(detector, rectified.image, best)
    out["refine"] = align_face(rectified.image, refined.landmarks, tpl.name)
    return out


def _cut_job(job: tuple[str, Path, Path]) -> str:
    name, root, cache_file = job
    if not cache_file.exists():
        out = cut_variants(_load_rgb(root / name), name, _WORKER["detector"])
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **out)
        tmp.replace(cache_file)
    return name


def render_cuts(names: list[str], root: Path, cache: Path, workers: int
                ) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """Every card's cut variants (from ``cache`` where there), keyed by LFW name."""
    files = {n: cache / f"portrait-{CUT_VERSION}" / (n.replace("/", "__") + ".npz")
             for n in names}  # fmt: skip
    todo = [(n, root, f) for n, f in files.items() if not f.exists()]
    start = time.perf_counter()
    if todo:
        with mp.get_context("spawn").Pool(workers, _init_worker) as pool:
            for done, _ in enumerate(pool.imap_unordered(_cut_job, todo, chunksize=8), 1):
                if done % 500 == 0:
                    print(f"# cut {done}/{len(todo)} in {time.perf_counter() - start:.0f} s")
    print(f"# {len(names)} cards ({len(todo)} cut now) in {time.perf_counter() - start:.0f} s")
    return {n: dict(np.load(f)) for n, f in files.items()}


def grayworld(crop: np.ndarray) -> np.ndarray:
    """Each channel scaled so the face's (rows 24-99, columns 24-87) channel means agree."""
    f = crop.astype(np.float32)
    means = f[24:100, 24:88].reshape(-1, 3).mean(axis=0)
    return np.clip(f * (means.mean() / np.maximum(means, 1.0)) + 0.5, 0, 255).astype(np.uint8)


def unsharp(crop: np.ndarray, amount: float = 0.6, sigma: float = 1.0) -> np.ndarray:
    import cv2

    f = crop.astype(np.float32)
    sharp = f + amount * (f - cv2.GaussianBlur(f, (0, 0), sigma))
    return np.clip(sharp + 0.5, 0, 255).astype(np.uint8)


def clahe(crop: np.ndarray) -> np.ndarray:
    import cv2

    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(2.0, (4, 4)).apply(np.ascontiguousarray(lab[..., 0]))
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), np.uint8)


def stretch(crop: np.ndarray) -> np.ndarray:
    """The face's 1-99 % luminance stretched to 10-245 (left alone below 10 levels)."""
    f = crop.astype(np.float32)
    lo, hi = np.percentile(f[24:100, 24:88].mean(axis=2), [1, 99])
    if hi - lo < 10:
        return crop
    return np.clip((f - lo) * (235.0 / (hi - lo)) + 10.5, 0, 255).astype(np.uint8)


_PREPROCESS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "grayworld": grayworld, "unsharp": unsharp, "clahe": clahe, "stretch": stretch}  # fmt: skip


def mean_descriptor(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Rows of ``a`` and ``b`` averaged per member (``zsum:`` parts); a cosine member's unit
    vectors are averaged, a Euclidean member's vectors as they are."""
    from ekyc.match.compare import zsum_members

    members = ([(m, d) for m, d, _, _ in zsum_members(metric)] if metric.startswith("zsum:")
               else [(metric, a.shape[1])])  # fmt: skip
    out, start = np.empty_like(a, dtype=np.float32), 0
    for name, dims in members:
        x, y = a[:, start : start + dims], b[:, start : start + dims]
        if name == "cosine":
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
            y = y / np.linalg.norm(y, axis=1, keepdims=True)
        out[:, start : start + dims] = (x + y) / 2
        start += dims
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    import cv2

    cv2.setNumThreads(args.threads)
    if args.cache is None:
        raise SystemExit("--cache DIR is needed (cards, cuts and descriptors are kept there)")
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    lfw = lfw_pair_set(args.data, args.pairs)
    items = render_all(lfw.pairs, lfw.root, args.cache / "cards", args.workers)
    cards = sorted({p["img1"] for p in lfw.pairs})
    cuts = render_cuts(cards, lfw.root, args.cache, args.workers)
    selfies = {f"selfie/{n}": v["crop0"] for (role, n), v in items.items()
               if role == "selfie" and int(v["found"])}  # fmt: skip
    renamed = [p | {"img1": f"card/{p['img1']}", "img2": f"selfie/{p['img2']}"}
               for p in lfw.pairs]  # fmt: skip
    missing = frozenset({f"card/{n}" for n in cards if not int(cuts[n]["found"])}
                        | {p["img2"] for p in renamed if p["img2"] not in selfies})  # fmt: skip
    cands: list[tuple[str, Candidate | Exception]] = []
    for name, build in _candidates(args):
        try:
            cands.append((name, build()))
        except Exception as exc:  # a row with its error, as in bench match
            cands.append((name, exc))
    variants_done: list[PairSet] = []
    for variant in args.variants:
        cut = variant if variant in CUTS else "rectified"
        prep = _PREPROCESS.get(variant)
        crops = dict(selfies)
        for n in cards:
            if int(cuts[n]["found"]):
                crops[f"card/{n}"] = prep(cuts[n][cut]) if prep else cuts[n][cut]
        ps = PairSet(f"match_portrait_{variant}", f"Card portrait ({variant}) vs selfie",
                     lfw.root, renamed, crops.__getitem__, missing,
                     f" Card side: {variant}; cards render {RENDER_VERSION}, cuts {CUT_VERSION}.",
                     {"variant": variant}, f"portrait-{CUT_VERSION}-{variant}-",
                     cross=True)  # fmt: skip
        for _, cand in cands:
            if isinstance(cand, Candidate):
                _seed_selfies(args, cand, ps, variants_done)
                if variant == "mirror-mean":
                    _mirror_mean_cache(args, cand, ps, crops)
        variants_done.append(ps)
        run_pairs(args, report, ps, cands, stats=lfw)


def _seed_selfies(args: argparse.Namespace, cand: Candidate, ps: PairSet,
                  done: list[PairSet]) -> None:  # fmt: skip
    """Start a variant's descriptor cache with the selfies' from a variant already run."""
    file = _cache_file(args.cache, cand, args.landmarks, ps.cache_tag)
    for other in done:
        earlier = _cache_file(args.cache, cand, args.landmarks, other.cache_tag)
        if file.exists() or not earlier.exists():
            continue
        kept = {k: v for k, v in np.load(earlier).items() if k.startswith("selfie/")}
        np.savez(file, **kept)


def _mirror_mean_cache(args: argparse.Namespace, cand: Candidate, ps: PairSet,
                       crops: dict[str, np.ndarray]) -> None:  # fmt: skip
    """Write the variant's descriptors ahead of ``run_pairs``: cards the mean with the mirror."""
    from benchmarks.match import embed_images

    file = _cache_file(args.cache, cand, args.landmarks, ps.cache_tag)
    if file.exists() and any(k.startswith("card/") for k in np.load(file)):
        return
    names = sorted(crops)
    vectors = embed_images(cand, crops.__getitem__, names, file if file.exists() else None)
    cards = [n for n in names if n.startswith("card/")]
    flipped = embed_images(cand, lambda n: np.ascontiguousarray(crops[n][:, ::-1]), cards, None)
    both = mean_descriptor(np.stack([vectors[n] for n in cards]),
                           np.stack([flipped[n] for n in cards]), cand.metric)  # fmt: skip
    vectors.update(zip(cards, both, strict=True))
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(file, **vectors)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    match_arguments(parser)
    parser.set_defaults(models=["face-embed/fusion-sface-int8-dlib@2"], peers=[], source="cards")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS),
                        help=f"of {','.join(VARIANTS)}")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="rendering processes")


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.match_portrait", __doc__, add_arguments, run,
                      "card portrait cut and preprocessing", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
