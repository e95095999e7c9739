"""How well do our embedders match a card's printed portrait to a selfie, at what thresholds?

The second calibration budget of the face-matching issue. LFW development folds 1-6
(pairs.csv: fold,img1,img2,same): ``img1`` is printed as the portrait of a synthetic card (an
accepted document type drawn per image), photographed in a ``front`` scene with the
generator's realistic effects, rectified with the TRUE corners at 10 px/mm (as the pipeline
does, minus card detection) and its portrait found by YuNet on the rectified card; ``img2`` is
rendered as a live selfie and its best face taken. Impostor pairs put one person on the card and
another in the selfie, as LFW pairs them.

Reported per embedder (and the z-score fusion of the two), LFW protocol (leave one fold out):
accuracy, TAR at FAR 1e-2 / 1e-3 / 1e-4, held-out FAR, EER, the thresholds on all six folds,
what the LFW thresholds of the manifest give on these pairs, and failures to find a face.
This script's thresholds come from the 1,800 listed impostors only (too few for 1e-3);
models/manifest.toml's ``thresholds_by_fmr_card`` come from ``ekyc bench match --source
cards``, which chooses them on every card x selfie pair of different people. A pair with a
side without a face gets a score below every other: a genuine one is a false reject.

Rendered crops and embeddings are cached per image under ``--cache`` (never the repository);
the folder name carries :data:`RENDER_VERSION`.

    python -m benchmarks.match_cards --data ../shared/data/lfw_pairs_aligned112 \
        --cache /tmp/ekyc-match-cards [--workers 2] [--per-fold N]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.machine import header_lines
from benchmarks.match import FMRS, PairSet, _load_rgb, _read_pairs, evaluate
from ekyc.types import DocumentType

if TYPE_CHECKING:
    from ekyc.types import RectifiedCard

EMBEDDERS = ("face-embed/sface-2021dec-ort@1", "face-embed/dlib-resnet-v1@1")
RENDER_VERSION = "v3"
"""Bump when the rendering below changes: it names the cache folder (v2: cards in frame; v3:
the card portrait's landmarks refined by ``ekyc.match.refine_face``, as ``look_at_portrait``
does; selfies as in v2)."""
SEED_VERSION = "v1"
"""Part of every image's seed; v2 kept v1's, so a card drawn in frame is the same card."""
SCENE_SIZE = (1280, 720)
CARD_PX_PER_MM = 10.0
DOCS = tuple(d for d in DocumentType if d.accepted)
_WORKER: dict[str, Any] = {}


def _seed(role: str, name: str) -> int:
    return zlib.crc32(f"{SEED_VERSION}:{role}:{name}".encode())


def _init_worker(threads: int) -> None:
    import cv2

    from ekyc.match import OnnxEmbedder, YuNetDetector
    from ekyc.registry import Registry

    cv2.setNumThreads(1)
    registry = Registry.from_manifest(threads=threads)
    _WORKER["detector"] = YuNetDetector(registry)
    _WORKER["embedders"] = [OnnxEmbedder(registry, m) for m in EMBEDDERS]


def card_in_frame(spec: Any) -> bool:
    """Whether a genuine card's four corners lie inside the frame of ``spec`` (a SceneSpec).

    The generator puts ~8 % of cards partly out of the shot (capture-guide tests); the
    pipeline answers those with CARD_CUT_OFF and a retake, and never matches their face.
    """
    from benchmarks.synth.cards import DOCUMENTS
    from benchmarks.synth.geometry import centred_rect, project, rect_corners_mm, to_camera

    rect = rect_corners_mm(centred_rect(DOCUMENTS[spec.doc_type].size_mm))
    corners = project(to_camera(rect, spec.pose), spec.camera)
    w, h = spec.camera.width, spec.camera.height
    return bool(np.all((corners >= 0) & (corners <= [w, h])))


def card_portrait(face: np.ndarray, name: str) -> tuple[np.ndarray, str]:
    """``face`` printed on a card, photographed (front shot), rectified with the true corners.

    Scenes with the card partly out of the shot are drawn again from the same generator (up
    to 20 times): the pipeline would ask for a retake and never match their portrait.
    """
    _, card, doc = card_shot(face, name)
    return card.image, doc


def card_shot(face: np.ndarray, name: str) -> tuple[np.ndarray, RectifiedCard, str]:
    """``card_portrait``'s shot, its card rectified (``RectifiedCard``) and document type."""
    from benchmarks.synth.identity import make_identity
    from benchmarks.synth.scene import render_scene, sample_spec
    from ekyc.detect.rectify import rectify
    from ekyc.types import CardQuad

    rng = np.random.default_rng(_seed("card", name))
    doc = DOCS[int(rng.integers(0, len(DOCS)))]
    identity = make_identity(_seed("id", name), doc, Path(name).parent.name)
    spec = sample_spec("front", identity, SCENE_SIZE, rng)
    for _ in range(20):
        if card_in_frame(spec):
            break
        spec = sample_spec("front", identity, SCENE_SIZE, rng)
    scene = render_scene(spec, rng, portrait=face)
    quad = CardQuad(np.array(scene.record["corners"], np.float32), 1.0)
    return scene.image, rectify(scene.image, quad, px_per_mm=CARD_PX_PER_MM), doc.value


def selfie_frame(face: np.ndarray, name: str) -> np.ndarray:
    """A live selfie of ``face``."""
    from benchmarks.synth.selfie import render_selfie

    rng = np.random.default_rng(_seed("selfie", name))
    return render_selfie(face, SCENE_SIZE, rng)[0]


def _process(job: tuple[str, str, Path, Path]) -> tuple[str, str]:
    """Render, detect, align and embed one image; write ``cache_file``. Runs in a worker.

    A card's portrait is looked at again by ``refine_face`` (as the verify path's
    ``look_at_portrait`` does); the selfie's best face is used as detected.
    """
    from ekyc.match import align_face, refine_face

    role, name, root, cache_file = job
    if cache_file.exists():
        return role, name
    face = _load_rgb(root / name)
    doc = ""
    if role == "card":
        image, doc = card_portrait(face, name)
    else:
        image = selfie_frame(face, name)
    faces = _WORKER["detector"].detect(image)
    out: dict[str, Any] = {"found": len(faces), "doc": doc, "score": 0.0}
    if faces:
        best = max(faces, key=lambda f: f.score)
        if role == "card":  # the first pass's crop too: old vs new on the same render
            out["crop0_first"] = align_face(image, best.landmarks, _WORKER["embedders"][0].template)
            best = refine_face(_WORKER["detector"], image, best)
        out["score"] = best.score
        for k, embedder in enumerate(_WORKER["embedders"]):
            crop = align_face(image, best.landmarks, embedder.template)
            out[f"crop{k}"] = crop
            out[f"vec{k}"] = embedder.embed([crop])[0].vector
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(cache_file)
    return role, name


def _cache_file(cache: Path, role: str, name: str) -> Path:
    return cache / RENDER_VERSION / role / (name.replace("/", "__") + ".npz")


def render_all(
    pairs: list[dict[str, str]], root: Path, cache: Path, workers: int
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every card and selfie of ``pairs`` (from the cache where there), keyed (role, name)."""
    jobs = sorted({("card", p["img1"]) for p in pairs} | {("selfie", p["img2"]) for p in pairs})
    todo = [(r, n, root, _cache_file(cache, r, n)) for r, n in jobs]
    missing = [j for j in todo if not j[3].exists()]
    start = time.perf_counter()
    if missing:
        with mp.get_context("spawn").Pool(workers, _init_worker, (1,)) as pool:
            for done, _ in enumerate(pool.imap_unordered(_process, missing, chunksize=4), 1):
                if done % 500 == 0:
                    print(
                        f"# rendered {done}/{len(missing)} in {time.perf_counter() - start:.0f} s"
                    )
    print(
        f"# {len(jobs)} images ({len(missing)} rendered now) in "
        f"{time.perf_counter() - start:.0f} s, {workers} workers"
    )
    return {(r, n): dict(np.load(f)) for r, n, _, f in todo}


@contextlib.contextmanager
def card_pair_set(root: Path, pairs: list[dict[str, str]], cache: Path | None,
                  workers: int) -> Iterator[PairSet]:  # fmt: skip
    """``pairs`` as card portrait (``card/img1``) vs selfie (``selfie/img2``) for bench match.

    Each image is loaded as the ArcFace 112 px crop of its best face (``crop0``: the first
    embedder's template); faces not found are ``missing``. Renders into ``cache / "cards"``
    (kept) or a temporary folder (removed on exit).
    """
    with contextlib.ExitStack() as stack:
        if cache is None:
            cache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ekyc-cards-")))
        items = render_all(pairs, root, cache / "cards", workers)
        crops = {f"{role}/{name}": v["crop0"] for (role, name), v in items.items()
                 if int(v["found"])}  # fmt: skip
        if any(c.shape != (112, 112, 3) for c in crops.values()):
            raise ValueError(f"{EMBEDDERS[0]} crops are not 112 px ArcFace crops")
        renamed = [p | {"img1": f"card/{p['img1']}", "img2": f"selfie/{p['img2']}"}
                   for p in pairs]  # fmt: skip
        names = {p["img1"] for p in renamed} | {p["img2"] for p in renamed}
        missing = frozenset(names - set(crops))
        same = np.array([p["same"] == "1" for p in renamed])
        bad = np.array([p["img1"] in missing or p["img2"] in missing for p in renamed])
        cards = [v for (r, _), v in items.items() if r == "card"]
        docs: dict[str, int] = {}
        for v in cards:
            docs[str(v["doc"])] = docs.get(str(v["doc"]), 0) + 1
        extra = {
            "render_version": RENDER_VERSION,
            "scene_size": list(SCENE_SIZE),
            "card_px_per_mm": CARD_PX_PER_MM,
            "portrait_not_found": sum(n.startswith("card/") for n in missing),
            "cards": len(cards),
            "selfie_face_not_found": sum(n.startswith("selfie/") for n in missing),
            "selfies": len(items) - len(cards),
            "pairs_without_face": {
                "genuine": int((bad & same).sum()),
                "impostor": int((bad & ~same).sum()),
            },
            "cards_by_type": docs,
        }
        note = (
            f" Cards: {SCENE_SIZE[0]}x{SCENE_SIZE[1]} front scenes, rectified with the true "
            f"corners at {CARD_PX_PER_MM:g} px/mm, portrait found by YuNet, ArcFace 112 px "
            f"crop given to every row (render {RENDER_VERSION}). Portrait not found on "
            f"{extra['portrait_not_found']}/{len(cards)} cards, no face in "
            f"{extra['selfie_face_not_found']}/{extra['selfies']} selfies: "
            f"{int((bad & same).sum())} genuine pairs are false rejects at every threshold."
        )
        yield PairSet("match_cards", "Card portrait vs selfie, LFW protocol", root, renamed,
                      crops.__getitem__, missing, note, extra,
                      f"cards-{RENDER_VERSION}-", cross=True)  # fmt: skip


def pair_scores(
    items: dict[tuple[str, str], dict[str, Any]], pairs: list[dict[str, str]], k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Similarity per pair for embedder ``k`` and whether both faces were found."""
    scores, ok = np.zeros(len(pairs)), np.zeros(len(pairs), bool)
    for i, p in enumerate(pairs):
        a, b = items[("card", p["img1"])], items[("selfie", p["img2"])]
        if int(a["found"]) and int(b["found"]):
            va, vb = a[f"vec{k}"].astype(np.float64), b[f"vec{k}"].astype(np.float64)
            if metric == "cosine":
                scores[i] = va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb))
            else:
                scores[i] = -np.linalg.norm(va - vb)
            ok[i] = True
    scores[~ok] = scores[ok].min() - 1.0 if ok.any() else -1.0
    return scores, ok


def zfuse(a: np.ndarray, b: np.ndarray, ok: np.ndarray, same: np.ndarray, folds: np.ndarray
          ) -> np.ndarray:  # fmt: skip
    """Sum of z-scores normalised on the training folds' impostors; failures stay lowest."""
    out = np.empty_like(a)
    for fold in np.unique(folds):
        test, imp = folds == fold, (folds != fold) & ~same & ok
        za = (a - a[imp].mean()) / a[imp].std()
        zb = (b - b[imp].mean()) / b[imp].std()
        out[test] = (za + zb)[test]
    out[~ok] = out[ok].min() - 1.0
    return out


def _subset(pairs: list[dict[str, str]], per_fold: int | None) -> list[dict[str, str]]:
    if per_fold is None:
        return pairs
    out: list[dict[str, str]] = []
    for fold in sorted({p["fold"] for p in pairs}):
        for same in ("1", "0"):
            chosen = [p for p in pairs if p["fold"] == fold and p["same"] == same]
            out += chosen[: per_fold // 2]
    return out


def _report(results: dict[str, dict[str, Any]], lfw: dict[str, dict[str, Any]]) -> None:
    print("\n| model | accuracy % | TAR@1e-2 % | TAR@1e-3 % | TAR@1e-4 % | EER % |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        tar = " | ".join(
            f"{100 * r['tar'][f].mean():.2f}±{100 * r['tar'][f].std():.2f}" for f in FMRS
        )
        print(
            f"| {name} | {100 * r['acc'].mean():.2f}±{100 * r['acc'].std():.2f} | {tar} "
            f"| {100 * r['eer']:.2f} |"
        )
    print("\nheld-out FAR at the FMR thresholds (mean over folds); thresholds on all 6 folds")
    for name, r in results.items():
        far = ", ".join(f"{100 * r['far'][f].mean():.3f} % @ {f:g}" for f in FMRS)
        thr = ", ".join(f"{_key(f)}: {r['thresholds'][f]:.6f}" for f in FMRS)
        print(f"- {name}: FAR {far}; thresholds {thr}")
    print("\nthe manifest's LFW thresholds applied to the card pairs (all 6 folds)")
    for name, row in lfw.items():
        print(f"- {name}: " + "; ".join(f"{k}: {v}" for k, v in row.items()))


def _key(fmr: float) -> str:
    return f"{fmr:.0e}".replace("e-0", "e-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="rendered crops, embeddings")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes")
    parser.add_argument("--per-fold", type=int, help="pairs per fold (half genuine); default all")
    args = parser.parse_args()
    if args.cache.resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        parser.error("--cache must be outside the repository")

    print("# benchmarks/match_cards.py: card portrait vs selfie (synthetic cards, LFW faces)")
    print("\n".join(header_lines()))
    pairs = _subset([p for p in _read_pairs(args.data) if p["fold"] in "123456"], args.per_fold)
    same = np.array([p["same"] == "1" for p in pairs])
    folds = np.array([int(p["fold"]) for p in pairs])
    print(f"- {args.data}: {len(pairs)} pairs ({same.sum()} genuine), folds {sorted(set(folds))}")
    print(f"- scenes {SCENE_SIZE}, kind front, true corners, rectified at {CARD_PX_PER_MM} px/mm")
    items = render_all(pairs, args.data, args.cache, args.workers)
    _failures(items, pairs, same)

    from ekyc.registry import Registry

    registry = Registry.from_manifest()
    results, scores, lfw = {}, {}, {}
    ok = np.ones(len(pairs), bool)
    for k, model_id in enumerate(EMBEDDERS):
        spec = registry.spec(model_id)
        scores[model_id], ok = pair_scores(items, pairs, k, str(spec.extra["metric"]))
        results[model_id] = evaluate(scores[model_id], same, folds)
        lfw[model_id] = {
            f"LFW {key} ({t:.4f})": f"TAR {100 * (scores[model_id][same] >= t).mean():.2f} %, "
            f"FAR {100 * (scores[model_id][~same] >= t).mean():.3f} %"
            for key, t in spec.extra.get("thresholds_by_fmr", {}).items()
        }
    fused = zfuse(scores[EMBEDDERS[0]], scores[EMBEDDERS[1]], ok, same, folds)
    results["fusion z(sface+dlib)"] = evaluate(fused, same, folds)
    _report(results, lfw)


def _failures(
    items: dict[tuple[str, str], dict[str, Any]], pairs: list[dict[str, str]], same: np.ndarray
) -> None:
    cards = [v for (r, _), v in items.items() if r == "card"]
    selfies = [v for (r, _), v in items.items() if r == "selfie"]
    no_card = sum(1 for v in cards if not int(v["found"]))
    no_selfie = sum(1 for v in selfies if not int(v["found"]))
    multi = sum(1 for v in selfies if int(v["found"]) > 1)
    bad = np.array(
        [
            not (
                int(items[("card", p["img1"])]["found"])
                and int(items[("selfie", p["img2"])]["found"])
            )
            for p in pairs
        ]
    )
    docs: dict[str, int] = {}
    for v in cards:
        docs[str(v["doc"])] = docs.get(str(v["doc"]), 0) + 1
    print(
        f"- portrait not found on {no_card}/{len(cards)} cards; no face in {no_selfie}/"
        f"{len(selfies)} selfies ({multi} with >1 face); pairs affected: {int((bad & same).sum())} "
        f"genuine (false rejects), {int((bad & ~same).sum())} impostor; cards by type {docs}"
    )


if __name__ == "__main__":
    main()
