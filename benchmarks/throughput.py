"""Embedding throughput: milliseconds per face at batch sizes 1/8/32/128, per provider.

    python -m benchmarks.throughput [--models ID,ID] [--batches 1,8,32,128] [--threads 1]

Every ``face-embed`` model of the manifest (or ``--models``; a fusion runs all its members
on 112 px crops) on every execution provider onnxruntime has here (CPU here; CUDA where a
GPU exists). A model that fails to load or run becomes a row with its error. Two tables:
wall time (mean after warm-up) and the process's CPU time per face over as many more calls,
which a loaded machine inflates far less than the wall time (with one intra-op thread it is
the embedder's own compute; on a GPU it is only the host's share).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.report import Report, suite_main
from benchmarks.timing import time_call
from ekyc.registry import Registry


def _face_crops(size: int, n: int) -> list[np.ndarray]:
    import cv2

    from benchmarks.synth.selfie import astronaut_face

    face = cv2.resize(astronaut_face(), (size, size), interpolation=cv2.INTER_LINEAR)
    return [face] * n


def _cpu_ms(fn: Callable[[], object], runs: int) -> float:
    """Process CPU milliseconds per call of ``fn`` over ``runs`` calls (already warm)."""
    start = time.process_time()
    for _ in range(runs):
        fn()
    return (time.process_time() - start) * 1000.0 / runs


def run(args: argparse.Namespace, report: Report) -> None:
    from ekyc.match import load_embedder

    registry = Registry.from_manifest(threads=args.threads)
    ids = args.models or [s.id for s in registry.specs
                          if s.task == "face-embed" and s.format in ("onnx", "fusion")]  # fmt: skip
    providers = [p for p in report.machine["providers"] if p != "AzureExecutionProvider"]  # type: ignore[union-attr]
    rows: list[list[object]] = []
    cpu_rows: list[list[object]] = []
    results: dict[str, object] = {}
    for model_id in ids:
        for provider in providers:
            key = f"{model_id} on {provider}"
            try:
                embedder = load_embedder(registry, model_id, providers=(provider,))
                spec = registry.spec(model_id)
                side = int(spec.input.shape[-1]) if spec.input else 112
                per_batch, cpu_per_batch = {}, {}
                for batch in args.batches:
                    crops = _face_crops(side, batch)
                    call = lambda e=embedder, c=crops: e.embed(c)  # noqa: E731
                    runs = max(3, 64 // batch)
                    timing = time_call(call, warmup=2, runs=runs)
                    per_batch[batch] = timing.mean_ms / batch
                    cpu_per_batch[batch] = _cpu_ms(call, runs) / batch
                rows.append([model_id, spec.sha256[:8], provider,
                             *(f"{per_batch[b]:.2f}" for b in args.batches), ""])  # fmt: skip
                cpu_rows.append([model_id, spec.sha256[:8], provider,
                                 *(f"{cpu_per_batch[b]:.2f}" for b in args.batches)])  # fmt: skip
                results[key] = per_batch
                results[f"{key} cpu"] = cpu_per_batch
            except Exception as exc:  # a failing model is a row, not a crash
                rows.append([model_id, "", provider, *("" for _ in args.batches),
                             f"{type(exc).__name__}: {exc}"[:120]])  # fmt: skip
                results[key] = {"error": str(exc)}
    report.section("Embedding throughput", f"ms per face, onnxruntime intra-op threads "
                   f"{args.threads}, mean after warm-up")  # fmt: skip
    report.table(["model", "sha256", "provider", *(f"batch {b}" for b in args.batches),
                  "error"], rows)  # fmt: skip
    report.section("CPU time per face", "process CPU ms per face over as many calls again "
                   "(all of the process's threads)")  # fmt: skip
    report.table(["model", "sha256", "provider", *(f"batch {b}" for b in args.batches)],
                 cpu_rows)  # fmt: skip
    report.results["throughput"] = results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=lambda s: s.split(","), default=None)
    parser.add_argument(
        "--batches", type=lambda s: [int(v) for v in s.split(",")], default=[1, 8, 32, 128]
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main(
        "python -m benchmarks.throughput",
        __doc__,
        add_arguments,
        run,
        "ekyc embedding throughput",
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
