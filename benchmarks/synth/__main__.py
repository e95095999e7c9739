"""CLI: ``python -m benchmarks.synth --out DIR --n N --seed S`` writes images + manifest.jsonl."""

from __future__ import annotations

import argparse
import os
import resource
from collections.abc import Callable
from pathlib import Path

from benchmarks.synth.generate import ALL_KINDS, DEFAULT_KINDS, default_workers, timed_generate
from ekyc.types import DocumentType


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"size must be at least 64x64, got {text!r}")
    return w, h


def _csv(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {bad or text!r}; choose from {','.join(choices)}"
            )
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.synth", description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--n", type=int, default=100, help="number of scenes (head_turn adds frames)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--faces",
        type=Path,
        default=None,
        help="LFW-style folder (lfw_pairs_aligned112); default: skimage astronaut",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="shared data folder for real-photo backgrounds (SmartDoc-15, NUAA)",
    )
    p.add_argument(
        "--kinds",
        type=_csv(ALL_KINDS),
        default=DEFAULT_KINDS,
        help=f"comma list from {','.join(ALL_KINDS)}",
    )
    docs = tuple(d.value for d in DocumentType)
    p.add_argument("--docs", type=_csv(docs), default=docs, help="document types, comma list")
    p.add_argument("--size", type=_size, default=(1280, 720), help="WxH of card scenes")
    p.add_argument("--format", choices=("jpg", "png", "heic"), default="jpg")
    p.add_argument("--workers", type=int, default=default_workers())
    return p


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the worker processes)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.n < 1:
        raise SystemExit("--n must be >= 1")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu0 = _cpu_seconds()
    records, seconds = timed_generate(
        out_dir=args.out,
        n=args.n,
        seed=args.seed,
        kinds=args.kinds,
        faces_dir=args.faces,
        data_dir=args.data,
        size=args.size,
        fmt=args.format,
        workers=args.workers,
        docs=tuple(DocumentType(d) for d in args.docs),
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"wrote {len(records)} images for {args.n} scenes to {args.out}/ (manifest.jsonl)")
    cpu = _cpu_seconds() - cpu0
    print(
        f"{args.n / seconds:.1f} scenes/s ({seconds:.2f} s, {args.workers} workers, {cores} cores, "
        f"{args.size[0]}x{args.size[1]}, {args.format}); {args.n / cpu:.1f} scenes per CPU-second "
        f"({cpu:.2f} CPU-s, workers' start included); load {load:.1f} at the start"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
