"""The shake attack on the thickness check: forced motion blur on tilted shots and flats.

    python -m benchmarks.shake --seed 39600 --flats 12 --tilts 12 [--detected] [--out DIR]

A flat reproduction (screen, photocopy) tilted 30-35 degrees shows no side face; motion
blur across its facing side turns the edge into a ramp that two blurred steps fit, which
read as a band (session 15, issue #4). This bench renders each scene (``benchmarks.synth``,
its own sampled effects) again with the renderer's linear motion blur forced to each
length in ``--lengths``, in three directions relative to the scene's widest facing side
(across it, 45 degrees, along it), and judges each with ``estimate_tilt`` on the true
corners (``--detected``: also on ``find_card``'s quad). Outcomes: ``pass``, ``hold still``
(``TiltCheck.edge_blurred``: a retake), ``flat`` (refused as a reproduction) and ``out of
band`` (the tilt read outside the accepted range). A flat must never pass; a genuine card
refused as flat is worse than one asked to hold still.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.report import Report, suite_main
from benchmarks.synth import make_identity, render_scene, sample_spec
from benchmarks.synth.geometry import tilt_deg
from benchmarks.synth.scene import Scene, SceneSpec
from benchmarks.synth.selfie import astronaut_face
from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import focal_px
from ekyc.detect.thickness import side_face_widths
from ekyc.detect.tilt import estimate_tilt
from ekyc.types import CaptureMetadata, DocumentType, TiltCheck

SIZE = (1280, 720)
DIRECTIONS = (("across", 0.0), ("45", 45.0), ("along", 90.0))
OUTCOMES = ("pass", "hold still", "flat", "out of band")
_DOCS = tuple(d for d in DocumentType if d is not DocumentType.PASSPORT)
# Flats are drawn until the pose is this steep (the renderer's attacks span 0-35 degrees):
# the tilt check judges their band only inside its accepted range (30-60).
_STEEP_DEG = 30.0


def scene_spec(
    kind: str, seed: int, index: int, degrees: tuple[float, float] | None = None
) -> SceneSpec:
    """Scene ``index`` of ``seed``, drawn again until its tilt lies in ``degrees``.

    By default a tilt shot as drawn, and a flat at ``_STEEP_DEG`` or more.
    """
    if degrees is None:
        degrees = (0.0, 90.0) if kind == "tilt" else (_STEEP_DEG, 90.0)
    for attempt in range(200):
        rng = np.random.default_rng([seed, index, attempt, 1])
        doc = _DOCS[int(rng.integers(0, len(_DOCS)))]
        identity = make_identity(seed * 1000 + index, doc)
        spec = sample_spec(kind, identity, SIZE, rng)
        if degrees[0] <= tilt_deg(spec.pose) <= degrees[1]:
            return spec
    return spec


def shaken(spec: SceneSpec, seed: int, index: int, length: float, angle_deg: float) -> Scene:
    """``spec`` rendered with its motion blur forced to ``length`` px at ``angle_deg``."""
    fx = replace(spec.effects, motion_px=float(length), motion_angle_deg=float(angle_deg))
    rng = np.random.default_rng([seed, index, 2])
    return render_scene(replace(spec, effects=fx), rng, portrait=astronaut_face())


def across_angle(corners: np.ndarray, focal_35mm: float) -> float | None:
    """Image angle (degrees) of the normal of the widest side facing the camera."""
    widths = side_face_widths(corners, SIZE, focal_px(SIZE, focal_35mm), DetectConfig())[:, 0]
    i = int(np.argmax(widths))
    if widths[i] <= 0:
        return None
    dx, dy = corners[(i + 1) % 4] - corners[i]
    return float(np.degrees(np.arctan2(-dx, dy)))


def outcome(check: TiltCheck) -> str:
    """One of ``OUTCOMES``."""
    if not check.in_band:
        return "out of band"
    if check.passed:
        return "pass"
    return "hold still" if check.edge_blurred else "flat"


def judge(sc: Scene, quality: int, detected: bool, layouts: Any) -> dict[str, Any]:
    """The tilt check's outcome on the true corners (and on ``find_card``'s quad).

    The frame goes through JPEG at ``quality`` and carries the EXIF focal length in whole
    millimetres, as ``benchmarks.synth.generate`` writes it.
    """
    corners = np.array(sc.record["corners"], np.float32)
    focal = float(sc.record["focal_35mm"])  # type: ignore[arg-type]
    md = CaptureMetadata("JPEG", focal_length_35mm=max(1, round(focal)))
    bgr = cv2.cvtColor(sc.image, cv2.COLOR_RGB2BGR)
    _, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    image = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    check = estimate_tilt(corners, SIZE, md, image=image)
    row: dict[str, Any] = {"true": outcome(check), "band_px": round(check.edge_band_px, 2)}
    if detected:
        from ekyc.detect.card import find_card
        from ekyc.types import Frame

        det = find_card(Frame(image, md, "0" * 64), layouts)
        row["detected"] = (
            "not found" if det is None else outcome(estimate_tilt(det.quad, SIZE, md, image=image))
        )
    return row


def run_kind(
    kind: str, seed: int, n: int, lengths: list[float], detected: bool, layouts: Any,
    degrees: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every scene of ``kind`` (tilt in ``degrees``) at every length and direction: one row each."""
    rows = []
    for index in range(n):
        spec = scene_spec(kind, seed, index, degrees)
        base = shaken(spec, seed, index, 0.0, 0.0)
        if float(base.record["visible_fraction"]) < 0.999:  # type: ignore[arg-type]
            continue
        across = across_angle(
            np.array(base.record["corners"], np.float32),
            float(base.record["focal_35mm"]),  # type: ignore[arg-type]
        )
        if across is None:
            continue
        info = {"kind": base.record["kind"], "seed": seed, "index": index}
        info["tilt_true"] = float(base.record["tilt_deg"])  # type: ignore[arg-type]
        info["defocus"] = spec.effects.defocus_sigma_px
        for length in lengths:
            for name, rel in DIRECTIONS if length > 0 else (("across", 0.0),):
                sc = base if length == 0 else shaken(spec, seed, index, length, across + rel)
                row = judge(sc, spec.effects.jpeg_quality, detected, layouts)
                rows.append({**info, "length": length, "direction": name, **row})
    return rows


def tabulate(rows: list[dict[str, Any]], key: str) -> list[list[object]]:
    """Per length and direction: n and the count of each outcome."""
    out: list[list[object]] = []
    cells = sorted({(r["length"], r["direction"]) for r in rows if key in r})
    for length, name in cells:
        sel = [r[key] for r in rows if r["length"] == length and r["direction"] == name]
        out.append([length, name, len(sel), *(sel.count(o) for o in OUTCOMES)])
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    layouts = None
    if args.detected:
        from ekyc.detect import CardLayouts
        from ekyc.registry import Registry

        layouts = CardLayouts.from_registry(Registry.from_manifest(threads=1))
    t0 = time.perf_counter()
    flat_deg = None if args.flat_deg is None else tuple(args.flat_deg)
    tilt_deg_range = None if args.tilt_deg is None else tuple(args.tilt_deg)
    flats = [
        r
        for kind in args.kinds
        for r in run_kind(
            kind, args.seed, args.flats, args.lengths, args.detected, layouts, flat_deg
        )
    ]
    tilts = run_kind(
        "tilt", args.seed + 500, args.tilts, args.lengths, args.detected, layouts, tilt_deg_range
    )
    header = ["motion px", "direction", "n", *OUTCOMES]
    for title, rows in (("flats (screens, photocopies) at >= 30 deg", flats),
                        ("genuine tilt shots", tilts)):  # fmt: skip
        for key in ("true", "detected"):
            table = tabulate(rows, key)
            if not table:
                continue
            report.section(f"{title}, {key} quad", f"seed {args.seed}")
            report.table(header, table)
    report.results["rows"] = {"flats": flats, "tilts": tilts}
    report.results["seconds"] = time.perf_counter() - t0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=39600, help="flats; tilt shots seed + 500")
    parser.add_argument("--flats", type=int, default=10, help="scenes per flat kind")
    parser.add_argument("--tilts", type=int, default=10, help="genuine tilt scenes")
    parser.add_argument(
        "--lengths", type=float, nargs="+", default=[0, 2, 4, 6, 8, 10, 12], help="motion, px"
    )
    parser.add_argument("--detected", action="store_true", help="also judge find_card's quad")
    parser.add_argument("--kinds", nargs="+", default=["screen", "photocopy"], help="flat kinds")
    parser.add_argument(
        "--flat-deg", type=float, nargs=2, default=None, metavar=("LO", "HI"),
        help="flats' tilt range (default: 30 degrees or more)",
    )  # fmt: skip
    parser.add_argument(
        "--tilt-deg", type=float, nargs=2, default=None, metavar=("LO", "HI"),
        help="tilt shots' range (default: as drawn)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main(
        "python -m benchmarks.shake", __doc__, add_arguments, run, "shake attack", argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
