"""Which onnxruntime session options make our face models faster on this CPU?

    python -m benchmarks.ort_options [--models ID,ID] [--runs 30]

Per model, one session per setting: graph optimization level (disable, basic, extended,
all), intra-op threads (1, 2) and the memory pattern (on/off); everything else as
``ekyc.registry`` builds it. Inputs: the astronaut's aligned face for embedders (batch 1),
a 640x480 frame for detectors. Settings are timed interleaved (round robin, one call each
per round) so that the load of a shared machine hits them alike; reported are the median
CPU time of the process (all threads) and the median wall time per call. Compare ratios
within one run.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from benchmarks.machine import header_lines
from ekyc.registry import Registry

DEFAULT_MODELS = (
    "face-embed/sface-2021dec-ort@1,face-embed/sface-2021dec-int8@1,face-detect/yunet-2023mar-ort@1"
)
LEVELS = ("ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL")
SETTINGS = [(lvl, 1, True) for lvl in LEVELS] + [("ORT_ENABLE_ALL", 1, False),
                                                  ("ORT_ENABLE_ALL", 2, True)]  # fmt: skip


def _feed(registry: Registry, model_id: str) -> dict[str, np.ndarray]:
    spec = registry.spec(model_id)
    name = spec.input.name if spec.input else "input"
    if spec.task == "face-detect":
        return {name: np.zeros((1, 3, 480, 640), np.float32) + 127.0}
    import cv2

    from benchmarks.synth.selfie import astronaut_face

    side = int(spec.input.shape[-1]) if spec.input else 112  # 112 (SFace) or 150 (dlib)
    face = cv2.resize(astronaut_face(), (side, side), interpolation=cv2.INTER_LINEAR)
    face = face.astype(np.float32).transpose(2, 0, 1)[None]
    return {name: np.ascontiguousarray(face)}


def _session(path: str, level: str, threads: int, mem_pattern: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = mem_pattern
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def measure(path: str, feed: dict[str, np.ndarray], runs: int) -> list[tuple[float, float]]:
    """(median CPU ms, median wall ms) per setting of ``SETTINGS``, timed round robin."""
    sessions = [_session(path, *setting) for setting in SETTINGS]
    for session in sessions:
        for _ in range(3):
            session.run(None, feed)
    cpu: list[list[float]] = [[] for _ in sessions]
    wall: list[list[float]] = [[] for _ in sessions]
    for _ in range(runs):
        for i, session in enumerate(sessions):
            c0, w0 = time.process_time(), time.perf_counter()
            session.run(None, feed)
            cpu[i].append(1000 * (time.process_time() - c0))
            wall[i].append(1000 * (time.perf_counter() - w0))
    return [(float(np.median(c)), float(np.median(w))) for c, w in zip(cpu, wall, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ort_options", description=__doc__)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    print("\n".join(header_lines()))
    print(f"# load average {os.getloadavg()[0]:.1f} at start")
    registry = Registry.from_manifest()
    print(f"\n| model | optimization | threads | mem pattern | CPU ms | wall ms |\n|{'---|' * 6}")
    for model_id in args.models.split(","):
        try:
            results = measure(str(registry.path(model_id)), _feed(registry, model_id), args.runs)
        except Exception as exc:  # a failing model is a row, not a crash
            print(f"| {model_id} | error: {type(exc).__name__}: {exc} | | | | |")
            continue
        for (level, threads, mem), (cpu_ms, wall_ms) in zip(SETTINGS, results, strict=True):
            print(f"| {model_id} | {level} | {threads} | {'on' if mem else 'off'} "
                  f"| {cpu_ms:.1f} | {wall_ms:.1f} |")  # fmt: skip
    print(f"# load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
