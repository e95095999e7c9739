"""Liveness in ISO/IEC 30107-3 terms: APCER per attack species, BPCER, at stated thresholds.

Passive: 5-fold leave-subjects-out over NUAA development subjects and synthetic people
(models/train_pad.py's own features and training, refitted per fold), then the shipped
model's threshold and the BPCER-5 % threshold of each domain. Active: synthetic challenge
recordings (benchmarks.synth.challenge), genuine and attacked (reordered, static, other
nonce, expired). Speed: passive check and active evaluation per 640x480 frame, one thread.

    python -m benchmarks.liveness [--data DIR] [--active 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

import numpy as np

from models import train_pad


def header() -> str:
    import cv2
    import mediapipe
    import onnxruntime

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC | CPU {cpu} | {cores} cores | "
        f"onnxruntime {onnxruntime.__version__} | OpenCV {cv2.__version__} | "
        f"mediapipe {mediapipe.__version__} | load avg {os.getloadavg()[0]:.1f}"
    )


def passive_cv(data: Path, folds: int = 5) -> None:
    from ekyc.registry import Registry

    t0 = time.perf_counter()
    s = train_pad.collect(data)
    print(f"features: {len(s.y)} faces in {time.perf_counter() - t0:.1f} s")
    subj, spec = np.array(s.subject), np.array(s.species)
    scores = np.full(len(s.y), np.nan)
    for domain in ("nuaa", "synth"):
        people = sorted({x for x in subj if x.startswith(domain)})
        print(f"{domain}: {len(people)} subjects")
    nuaa = sorted({x for x in subj if x.startswith("nuaa")})
    synth = sorted({x for x in subj if x.startswith("synth")})
    for k in range(folds):
        held = set(nuaa[k::folds]) | set(synth[k::folds])
        test = np.array([x in held for x in subj])
        scores[test] = train_pad.live_scores(train_pad.fit(s.x[~test], s.y[~test]), s.x[test])
    shipped = float(Registry.from_manifest().spec("liveness/pad-lbpchroma@1").extra["threshold"])
    rows = [
        ("NUAA (print)", spec == "nuaa_live", ("nuaa_print",)),
        ("synthetic", spec == "synth_live", ("synth_print", "synth_replay")),
        ("all", np.isin(spec, ("nuaa_live", "synth_live")), ("nuaa_print", "synth_print",
                                                              "synth_replay")),
    ]  # fmt: skip
    print("| population | threshold | BPCER | " + " | ".join(["APCER per species"]) + " |")
    print("|---|---|---|---|")
    for name, live_mask, species in rows:
        live = scores[live_mask]
        for label, thr in (("shipped", shipped), ("BPCER 5 %", float(np.quantile(live, 0.05)))):
            bpcer = float(np.mean(live < thr))
            apcer = ", ".join(
                f"{sp} {np.mean(scores[spec == sp] >= thr):.2%} (n={int(np.sum(spec == sp))})"
                for sp in species
            )
            print(f"| {name} | {label} {thr:.3f} | {bpcer:.2%} (n={len(live)}) | {apcer} |")


def active(n: int) -> None:
    from datetime import timedelta

    from benchmarks.synth.challenge import challenge_frames
    from benchmarks.synth.selfie import astronaut_face
    from ekyc.liveness import FaceMeshTracker, FrameSequence, TimedFrame, evaluate, new_challenge
    from ekyc.match import FaceMatcher
    from ekyc.registry import Registry

    reg = Registry.from_manifest(threads=1)
    tracker, matcher = FaceMeshTracker(reg), FaceMatcher.from_registry(reg)
    now = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)
    counts = {"genuine": 0, "reordered": 0, "static": 0, "other_nonce": 0, "expired": 0}
    per_frame: list[float] = []
    cpu_frame: list[float] = []
    face = astronaut_face()
    for seed in range(n):
        ch = new_challenge(np.random.default_rng(seed), now)
        rec = challenge_frames(face, tuple(a.value for a in ch.actions),
                               np.random.default_rng(seed + 1000))  # fmt: skip
        frames = tuple(TimedFrame(t, img) for img, t in rec)
        seq = FrameSequence(ch.nonce, now + timedelta(seconds=1), frames)
        later = now + timedelta(seconds=10)
        t0, c0 = time.perf_counter(), time.process_time()
        ok = evaluate(ch, seq, later, tracker=tracker, matcher=matcher, selfie=rec[1][0]).live
        per_frame.append((time.perf_counter() - t0) * 1000 / len(frames))
        cpu_frame.append((time.process_time() - c0) * 1000 / len(frames))
        counts["genuine"] += ok
        rev = tuple(TimedFrame(f.t_ms, g.image) for f, g in zip(frames, frames[::-1], strict=True))
        attacks = {
            "reordered": (FrameSequence(ch.nonce, seq.started_at, rev), later),
            "static": (
                FrameSequence(
                    ch.nonce,
                    seq.started_at,
                    tuple(TimedFrame(f.t_ms, frames[0].image) for f in frames),
                ),
                later,
            ),
            "other_nonce": (FrameSequence("e" * 32, seq.started_at, frames), later),
            "expired": (seq, ch.expires_at + timedelta(seconds=1)),
        }
        for name, (attack, when) in attacks.items():
            counts[name] += not evaluate(ch, attack, when, tracker=tracker).live
    print(f"active, {n} random challenges (2-3 actions, ~50 frames at 15 fps each):")
    print(f"  genuine accepted {counts['genuine']}/{n}; rejected: " + ", ".join(
        f"{k} {v}/{n}" for k, v in counts.items() if k != "genuine"))  # fmt: skip
    print(f"  evaluation wall {_clipped(per_frame)}, CPU {_clipped(cpu_frame)} ms/frame "
          "(FaceMesh every frame, YuNet+SFace every 3rd)")  # fmt: skip


def passive_speed(runs: int = 30) -> None:
    import cv2

    from benchmarks.synth.selfie import astronaut_face, render_selfie
    from ekyc.liveness.passive import PassiveChecker, largest_face_box, pad_features
    from ekyc.registry import Registry

    cv2.setNumThreads(1)
    checker = PassiveChecker(Registry.from_manifest(threads=1))
    img = render_selfie(astronaut_face(), (640, 480), np.random.default_rng(0))[0]
    img = np.ascontiguousarray(cv2.resize(img, (640, 480)))
    box = largest_face_box(checker.detector.detect(img))
    if box is None:
        raise SystemExit("no face in the speed-test frame")
    cases = {
        "features+model": lambda: checker.model.probabilities(pad_features(img, box)),
        "detect+features+model": lambda: checker.check(img),
    }
    for label, fn in cases.items():
        fn()
        wall, cpu = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        print(f"passive {label}: wall {_clipped(wall)}, CPU {_clipped(cpu)} ms per 640x480 "
              "frame (1 thread; CPU time is what one free core would take)")  # fmt: skip


def _clipped(values: list[float]) -> str:
    t = np.array(values)
    t = t[np.abs(t - np.median(t)) < 3 * t.std() + 1e-9]
    return f"{t.mean():.1f} +- {t.std():.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.liveness", description=__doc__)
    parser.add_argument("--data", type=Path, default=train_pad.default_dat_path())
    parser.add_argument("--active", type=int, default=20, help="synthetic challenges")
    parser.add_argument("--no-cv", action="store_true", help="skip the passive training CV")
    args = parser.parse_args(argv)
    print(header())
    passive_speed()
    if args.active:
        active(args.active)
    if args.no_cv:
        return 0
    if (args.data / "nuaa_imposter_raw").is_dir():
        passive_cv(args.data)
    else:
        print(f"passive CV skipped: no data at {args.data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
