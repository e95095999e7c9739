"""Auto-capture benchmark: guidance accuracy per situation and ms per 1280x720 preview frame.

    python -m benchmarks.autocapture --per-situation 20 --seed 7 [--history 5] [--cache DIR]

Renders synthetic previews (``benchmarks.synth``, the four ID-1 cards on every procedural
background) in nine situations: the card in the guide, too small, too big, shifted, tilted
or turned, blurred, dark, with glare, and no card. The expected code follows from the true
corners against the guide, by the same offset / angle rules and thresholds as
``assess_frame``, and from the effect applied; accuracy is how often ``assess_frame`` says
it; the tables count every situation's (and every expected code's) guidance. With
``--history K``, ``should_capture`` is asked about K copies of each frame with fresh sensor
noise (a still scene): how often a frame that is not ready would be captured. ``--cache DIR``
keeps the renders (one .npz per situation and seed). Timing: one core
(``cv2.setNumThreads(1)``), mean +- std after warm-up and 3-sigma clipping, wall and process
CPU time (CPU time is the figure to trust on a loaded machine).
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.detect import machine_header
from benchmarks.synth import Pose, make_identity, render_scene, sample_spec
from benchmarks.synth.scene import Effects
from benchmarks.synth.selfie import astronaut_face
from ekyc.capture import (
    CaptureConfig,
    FrameGuidance,
    GuidanceCode,
    Guide,
    assess_frame,
    should_capture,
)
from ekyc.types import DocumentType

SIZE = (1280, 720)
SITUATIONS = ("in_guide", "too_small", "too_big", "shifted", "tilted", "blurred", "dark",
              "glare", "no_card")  # fmt: skip
DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD,
        DocumentType.RESIDENCE_CARD, DocumentType.HEALTH_INSURANCE_CARD)  # fmt: skip
BACKGROUNDS = ("wood", "fabric", "paper", "desk", "table")
G = GuidanceCode


def situation_params(name: str, rng: np.random.Generator) -> dict[str, float]:
    """Pose (scale vs the guide, shift in px, angles) and effects for one situation."""
    p = {
        "scale": rng.uniform(0.97, 1.03),
        "dx": rng.uniform(-8, 8),
        "dy": rng.uniform(-8, 8),
        "roll": rng.normal(0, 1),
        "pitch": rng.uniform(-4, 4),
        "yaw": rng.uniform(-4, 4),
    }
    sign = float(rng.choice([-1.0, 1.0]))
    if name == "too_small":
        p["scale"] = rng.uniform(0.45, 0.8)
    elif name == "too_big":
        p["scale"] = rng.uniform(1.12, 1.25)
    elif name == "shifted":
        p["dx" if rng.random() < 0.5 else "dy"] = sign * rng.uniform(70, 160)
    elif name == "tilted":
        if rng.random() < 0.5:
            p["roll"] = sign * rng.uniform(7, 12)
        else:
            p["pitch" if rng.random() < 0.5 else "yaw"] = sign * rng.uniform(20, 30)
    elif name == "no_card":
        p["dx"] = 3000.0
    return p


def situation_effects(name: str, rng: np.random.Generator) -> Effects:
    base = Effects(noise_sigma=float(rng.uniform(1, 3)), jpeg_quality=int(rng.integers(80, 96)))
    if name == "blurred":
        if rng.random() < 0.5:
            return replace(base, defocus_sigma_px=float(rng.uniform(3.5, 5.0)))
        return replace(base, motion_px=float(rng.uniform(14, 24)),
                       motion_angle_deg=float(rng.uniform(0, 180)))  # fmt: skip
    if name == "glare":
        return replace(base, glare_spots=int(rng.integers(1, 3)),
                       glare_strength=float(rng.uniform(0.8, 0.95)))  # fmt: skip
    return base


def render(name: str, index: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, index, SITUATIONS.index(name)])
    doc = DOCS[index % len(DOCS)]
    spec = sample_spec("front", make_identity(seed * 1000 + index, doc), SIZE, rng, clean=True)
    guide = Guide.centred(*SIZE)
    p = situation_params(name, rng)
    f = spec.camera.focal_px
    d = f * 85.6 / (guide.width * p["scale"])
    pose = Pose(p["pitch"], p["yaw"], p["roll"], d, p["dx"] * d / f, p["dy"] * d / f)
    bg = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    spec = replace(spec, pose=pose, effects=situation_effects(name, rng), background=bg)
    scene = render_scene(spec, rng, portrait=astronaut_face())
    image = np.ascontiguousarray(scene.image)
    if name == "dark":
        image = (image * rng.uniform(0.15, 0.3)).astype(np.uint8)
    return image, np.array(scene.record["corners"], np.float32)


def expected_code(name: str, truth: np.ndarray, guide: Guide, cfg: CaptureConfig) -> GuidanceCode:
    """The code the true corners call for, by assess_frame's own rules."""
    if name == "no_card":
        return G.NO_CARD
    gx0, gy0, gx1, gy1 = guide.x, guide.y, guide.x + guide.width, guide.y + guide.height
    mid_x, mid_y = (gx0 + gx1) / 2, (gy0 + gy1) / 2
    offsets, angles = [], []
    for (a, b), line, size, horizontal, out in (
        ((0, 1), gy0, guide.height, True, -1), ((1, 2), gx1, guide.width, False, 1),
        ((3, 2), gy1, guide.height, True, 1), ((0, 3), gx0, guide.width, False, -1),
    ):  # fmt: skip
        (ax, ay), (bx, by) = truth[a], truth[b]
        if horizontal:
            t = (mid_x - ax) / (bx - ax)
            offsets.append(out * (ay + t * (by - ay) - line) / size)
            angles.append(math.degrees(math.atan2(by - ay, bx - ax)))
        else:
            t = (mid_y - ay) / (by - ay)
            offsets.append(out * (ax + t * (bx - ax) - line) / size)
            angles.append(math.degrees(math.atan2(bx - ax, by - ay)))
    o, tol = np.array(offsets), cfg.fit_tolerance
    if max(abs(a) for a in angles) > cfg.max_side_angle_deg:
        return G.FIT_FRAME
    if np.all(np.abs(o) <= tol):
        photometric = {"dark": G.TOO_DARK, "glare": G.GLARE, "blurred": G.BLURRED}
        return photometric.get(name, G.READY)
    if o.mean() < -tol and o.max() < tol:
        return G.MOVE_CLOSER
    if o.mean() > tol and o.min() > -tol:
        return G.MOVE_AWAY
    return G.FIT_FRAME


def clipped(values: list[float]) -> tuple[float, float]:
    v = np.array(values)
    for _ in range(3):
        v = v[np.abs(v - v.mean()) <= 3 * v.std() + 1e-12]
    return float(v.mean()), float(v.std())


def frames(name: str, n: int, seed: int, cache: Path | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The situation's ``n`` renders, from ``cache`` (one .npz per situation) when it holds them."""
    path = None if cache is None else cache / f"{name}-{seed}-{n}.npz"
    if path is not None and path.exists():
        with np.load(path) as z:
            return list(zip(z["images"], z["truths"], strict=True))
    out = [render(name, i, seed) for i in range(n)]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=np.stack([o[0] for o in out]), truths=np.stack([o[1] for o in out]))
    return out


def noisy_history(
    image: np.ndarray, guide: Guide, cfg: CaptureConfig, rng: np.random.Generator, n: int
) -> list[FrameGuidance]:
    """``n`` previews of one still scene: the frame with fresh sensor noise (sigma 2) each time."""
    out = []
    for _ in range(n):
        noise = rng.normal(0.0, 2.0, image.shape)
        out.append(assess_frame(np.clip(image + noise, 0, 255).astype(np.uint8), guide, cfg))
    return out


def table(rows: dict[str, collections.Counter[GuidanceCode]], title: str) -> list[str]:
    """A count table: one row per key, one column per guidance code that occurs."""
    used = [c for c in G if any(r[c] for r in rows.values())]
    head = f"| {title} | n | " + " | ".join(c.value for c in used) + " |"
    lines = [head, "|" + "---|" * (len(used) + 2)]
    for key, counts in rows.items():
        cells = " | ".join(str(counts[c]) if counts[c] else "." for c in used)
        lines.append(f"| {key} | {sum(counts.values())} | {cells} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-situation", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="timed calls per frame")
    ap.add_argument("--cache", type=Path, default=None, help="keep the renders here (.npz)")
    ap.add_argument(
        "--history", type=int, default=0,
        help="should_capture on this many noisy copies of each frame (0: skip)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    guide, cfg = Guide.centred(*SIZE), CaptureConfig()
    print(machine_header())
    print(f"# load average {os.getloadavg()[0]:.1f}; guide {guide.width:.0f}x{guide.height:.0f}"
          f" px in {SIZE[0]}x{SIZE[1]}; {args.per_situation} frames per situation"
          f" (seed {args.seed})")  # fmt: skip
    wall: list[float] = []
    cpu: list[float] = []
    by_situation: dict[str, collections.Counter[GuidanceCode]] = {}
    by_expected: dict[str, collections.Counter[GuidanceCode]] = {
        c.value: collections.Counter() for c in G
    }
    fired: collections.Counter[str] = collections.Counter()
    tried: collections.Counter[str] = collections.Counter()
    print(f"{'situation':10s} {'n':>3s} {'correct':>8s}  {'corner px (median)':>18s}  confusions")
    total = right = 0
    for name in SITUATIONS:
        hits, errors, wrong = 0, [], collections.Counter[str]()
        got_codes = by_situation.setdefault(name, collections.Counter())
        for i, (image, truth) in enumerate(frames(name, args.per_situation, args.seed, args.cache)):
            want = expected_code(name, truth, guide, cfg)
            got = assess_frame(image, guide, cfg)  # warm-up
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                assess_frame(image, guide, cfg)
                cpu.append(1000 * (time.process_time() - c0))
                wall.append(1000 * (time.perf_counter() - t0))
            hits += got.code is want
            got_codes[got.code] += 1
            by_expected[want.value][got.code] += 1
            if got.code is not want:
                wrong[f"{want.name}->{got.code.name}"] += 1
            if got.corners is not None and want in (G.READY, G.TOO_DARK, G.GLARE, G.BLURRED):
                errors.append(float(np.abs(got.corners - truth).max()))
            if args.history:
                rng = np.random.default_rng([args.seed, i, SITUATIONS.index(name), 99])
                kind = "ready" if want is G.READY else "not ready"
                tried[kind] += 1
                fired[kind] += should_capture(noisy_history(image, guide, cfg, rng, args.history))
        total, right = total + args.per_situation, right + hits
        err = f"{np.median(errors):.1f}" if errors else "-"
        conf = ", ".join(f"{k} x{v}" for k, v in wrong.most_common(3))
        print(f"{name:10s} {args.per_situation:3d} {100 * hits / args.per_situation:7.0f}%  "
              f"{err:>18s}  {conf}")  # fmt: skip
    print(f"{'all':10s} {total:3d} {100 * right / total:7.0f}%")
    print()
    print("\n".join(table(by_situation, "situation \\ guidance")))
    print()
    print("\n".join(table({k: v for k, v in by_expected.items() if v}, "expected \\ guidance")))
    if args.history:
        print()
        for kind in ("not ready", "ready"):
            if tried[kind]:
                print(f"# should_capture over {args.history} noisy copies, {kind} frames: "
                      f"{fired[kind]}/{tried[kind]} captured")  # fmt: skip
    (wm, ws), (cm, cs) = clipped(wall), clipped(cpu)
    print(f"# assess_frame 1280x720: wall {wm:.2f} +- {ws:.2f} ms, CPU {cm:.2f} +- {cs:.2f} ms "
          f"({len(wall)} calls; target <= 8 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
