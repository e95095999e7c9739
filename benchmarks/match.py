"""How accurate and fast are our face embedders on LFW, and what thresholds do they need?

LFW development folds 1-6 (pairs.csv: fold,img1,img2,same), the LFW protocol: for each fold,
thresholds are chosen on the other folds and tested on it. Reports per model (and the
z-score fusion of two models): accuracy (best-accuracy threshold), TAR at FAR 1e-3 / 1e-4
(threshold = FMR quantile of the training impostors), EER, per-fold spread, and the
thresholds calibrated on all six folds (to copy into models/manifest.toml). Speed: ms per
face after warm-up for batches of 1, 8 and 32, and detection at 640x480, one thread.

The crops are already aligned to the ArcFace template (112 px); ``--landmarks template``
(default) uses those template points, ``--landmarks yunet`` detects them on each crop.

    python -m benchmarks.match --models face-embed/sface-2021dec-ort@1,face-embed/dlib-resnet-v1@1 \
        --data ../shared/data/lfw_pairs_aligned112 [--threads 2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from ekyc.match import TEMPLATES, OnnxEmbedder, YuNetDetector, align_face
from ekyc.match.compare import similarity
from ekyc.registry import Registry
from ekyc.types import Embedding

FMRS = (1e-3, 1e-4)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _read_pairs(root: Path) -> list[dict[str, str]]:
    with (root / "pairs.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _load_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _landmarks(image: np.ndarray, mode: str, detector: YuNetDetector | None) -> np.ndarray:
    if mode == "template":
        return TEMPLATES["arcface-5pt-112"].points * (image.shape[1] / 112.0)
    if detector is None:
        raise ValueError("--landmarks yunet needs a detector")
    faces = detector.detect(image)
    if not faces:  # tight crop the detector misses: fall back to the template
        return TEMPLATES["arcface-5pt-112"].points * (image.shape[1] / 112.0)
    return faces[0].landmarks


def embed_all(
    embedder: OnnxEmbedder, root: Path, names: list[str], mode: str, det: YuNetDetector | None
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(names), 32):
        chunk = names[start : start + 32]
        crops = []
        for name in chunk:
            image = _load_rgb(root / name)
            crops.append(align_face(image, _landmarks(image, mode, det), embedder.template))
        for name, emb in zip(chunk, embedder.embed(crops), strict=True):
            out[name] = emb.vector
    return out


def pair_scores(
    vectors: dict[str, np.ndarray], pairs: list[dict[str, str]], embedder: OnnxEmbedder
) -> np.ndarray:
    ref = embedder.model

    def emb(name: str) -> Embedding:
        return Embedding(vector=vectors[name], model=ref)

    return np.array([similarity(emb(p["img1"]), emb(p["img2"]), embedder.metric) for p in pairs])


def best_accuracy_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    cands = np.unique(scores)
    cands = np.concatenate([cands, [cands[-1] + 1e-6]])
    acc = [((scores >= t) == same).mean() for t in cands]
    return float(cands[int(np.argmax(acc))])


def fmr_threshold(impostor: np.ndarray, fmr: float) -> float:
    """Smallest threshold whose false-match rate on ``impostor`` is <= fmr (ties rejected)."""
    srt = np.sort(impostor)[::-1]
    allowed = int(np.floor(fmr * len(srt)))  # false matches we may accept
    return float(np.nextafter(srt[allowed], np.inf))


def eer(scores: np.ndarray, same: np.ndarray) -> float:
    best = 1.0
    for t in np.unique(scores):
        far = (scores[~same] >= t).mean()
        frr = (scores[same] < t).mean()
        best = min(best, max(far, frr))
    return float(best)


def evaluate(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[str, object]:
    accs, tars = [], {f: [] for f in FMRS}
    fars = {f: [] for f in FMRS}
    for fold in np.unique(folds):
        test, train = folds == fold, folds != fold
        t = best_accuracy_threshold(scores[train], same[train])
        accs.append(((scores[test] >= t) == same[test]).mean())
        for f in FMRS:
            tf = fmr_threshold(scores[train & ~same], f)
            tars[f].append((scores[test & same] >= tf).mean())
            fars[f].append((scores[test & ~same] >= tf).mean())
    return {
        "acc": np.array(accs),
        "tar": {f: np.array(v) for f, v in tars.items()},
        "far": {f: np.array(v) for f, v in fars.items()},
        "eer": eer(scores, same),
        "thresholds": {f: fmr_threshold(scores[~same], f) for f in FMRS},
        "acc_threshold": best_accuracy_threshold(scores, same),
    }


def zfuse(a: np.ndarray, b: np.ndarray, same: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Sum of z-scores, each normalised by impostor mean/std of the *training* folds."""
    out = np.empty_like(a)
    for fold in np.unique(folds):
        test, imp = folds == fold, (folds != fold) & ~same
        za = (a - a[imp].mean()) / a[imp].std()
        zb = (b - b[imp].mean()) / b[imp].std()
        out[test] = (za + zb)[test]
    return out


def time_embedder(embedder: OnnxEmbedder, crop: np.ndarray, runs: int) -> dict[int, str]:
    res = {}
    for n in (1, 8, 32):
        batch = [crop] * n
        for _ in range(3):
            embedder.embed(batch)
        times = []
        for _ in range(max(3, runs // n)):
            start = time.perf_counter()
            embedder.embed(batch)
            times.append((time.perf_counter() - start) * 1000 / n)
        res[n] = f"{statistics.mean(times):.1f}±{statistics.pstdev(times):.1f}"
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="face-embed/sface-2021dec-ort@1")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--landmarks", choices=("template", "yunet"), default="template")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--runs", type=int, default=32, help="timed faces per batch size")
    parser.add_argument("--cache", type=Path, help="keep embeddings here (npz per model)")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()

    import onnxruntime as ort

    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"# CPU {_cpu_model()}, {os.cpu_count()} logical cores, {platform.python_version()}")
    print(f"# onnxruntime {ort.__version__}, threads {args.threads}, landmarks {args.landmarks}")
    registry = Registry.from_manifest(threads=args.threads)
    pairs = _read_pairs(args.data)
    names = sorted({p["img1"] for p in pairs} | {p["img2"] for p in pairs})
    same = np.array([p["same"] == "1" for p in pairs])
    folds = np.array([int(p["fold"]) for p in pairs])
    print(f"# {args.data}: {len(pairs)} pairs, {len(names)} images, folds {sorted(set(folds))}")
    det = YuNetDetector(registry) if args.landmarks == "yunet" else None

    results, scores = {}, {}
    astronaut = None
    for model_id in args.models.split(","):
        embedder = OnnxEmbedder(registry, model_id)
        cache = (
            args.cache / f"{model_id.replace('/', '_')}-{args.landmarks}.npz"
            if args.cache
            else None
        )
        if cache and cache.exists():
            vectors = dict(np.load(cache))
        else:
            start = time.perf_counter()
            vectors = embed_all(embedder, args.data, names, args.landmarks, det)
            print(
                f"# {model_id}: embedded {len(names)} crops in {time.perf_counter() - start:.0f} s"
            )
            if cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cache, **vectors)
        scores[model_id] = pair_scores(vectors, pairs, embedder)
        results[model_id] = evaluate(scores[model_id], same, folds)
        if not args.no_speed:
            if astronaut is None:
                from skimage import data

                astronaut = data.astronaut()
                face = YuNetDetector(registry).detect(astronaut)[0]
            crop = align_face(astronaut, face.landmarks, embedder.template)
            results[model_id]["speed"] = time_embedder(embedder, crop, args.runs)
    ids = list(scores)
    if len(ids) == 2:
        fused = zfuse(scores[ids[0]], scores[ids[1]], same, folds)
        results["fusion z(" + "+".join(i.split("/")[1] for i in ids) + ")"] = evaluate(
            fused, same, folds
        )

    print(f"\n{'model':<44}{'accuracy %':>16}{'TAR@1e-3 %':>16}{'TAR@1e-4 %':>16}{'EER %':>7}")
    for name, r in results.items():
        acc, t3, t4 = r["acc"], r["tar"][1e-3], r["tar"][1e-4]
        print(
            f"{name:<44}{100 * acc.mean():>9.2f}±{100 * acc.std():.2f}"
            f"{100 * t3.mean():>10.2f}±{100 * t3.std():.2f}"
            f"{100 * t4.mean():>10.2f}±{100 * t4.std():.2f}{100 * r['eer']:>7.2f}"
        )
    print("\nheld-out FAR at the FMR thresholds (mean over folds), and thresholds on all 6 folds")
    for name, r in results.items():
        far = ", ".join(f"FAR {100 * r['far'][f].mean():.3f} % @ {f:g}" for f in FMRS)
        thr = ", ".join(f"{f:g}: {r['thresholds'][f]:.6f}" for f in FMRS)
        print(f"{name:<44}{far}; thresholds {thr}; best-acc {r['acc_threshold']:.6f}")
    if not args.no_speed:
        print(f"\n{'model':<44}{'ms/face b1':>14}{'b8':>14}{'b32':>14}  (mean±std, 1 run/iter)")
        for name, r in results.items():
            if "speed" in r:
                s = r["speed"]
                print(f"{name:<44}{s[1]:>14}{s[8]:>14}{s[32]:>14}")
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[100:356, 200:456] = astronaut[100:356, 100:356]
        detector = YuNetDetector(registry)
        for _ in range(3):
            detector.detect(frame)
        times = []
        for _ in range(20):
            start = time.perf_counter()
            detector.detect(frame)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"detect YuNet 640x480: {statistics.mean(times):.1f}±{statistics.pstdev(times):.1f} ms"
        )


if __name__ == "__main__":
    main()
