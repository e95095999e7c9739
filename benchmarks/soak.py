"""Memory soak: does resident memory stay flat across many verifications?

    python -m benchmarks.soak [--runs 1000] [--applicants 6] [--size 1280x960]
                              [--every 10] [--workers 1] [--data ../shared/data] [--out DIR]

One ``Verifier`` (models loaded once) verifies generated genuine applicants (the three
document types in turn, rendered once as JPEG bytes) ``--runs`` times after a warm-up of two
rounds; the resident set size (``VmRSS``) is sampled every ``--every`` verifications. A leak
shows as a slope: the least-squares line through the samples of the second half (allocator
pools and caches fill in the first) is reported in MB per 1,000 verifications, beside the
first, last and highest samples. ``--size`` is smaller than a phone's 12 MP so that 1,000
runs fit in minutes; the per-verification allocations (decoded shots, warps, crops, tensors)
are the same objects, only smaller.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.pipeline import applicants, rss_mb
from benchmarks.report import Report, suite_main
from benchmarks.synth.applicant import SyntheticApplicant
from ekyc.pipeline import Verifier
from ekyc.registry import Registry


def slope_per_1000(runs: list[int], rss: list[float]) -> float:
    """Least-squares slope of ``rss`` against ``runs``, in MB per 1,000 verifications."""
    if len(runs) < 2:
        return float("nan")
    slope = np.polyfit(np.asarray(runs, float), np.asarray(rss, float), 1)[0]
    return float(slope * 1000.0)


def soak(verifier: Verifier, people: list[SyntheticApplicant], runs: int, every: int,
         workers: int) -> tuple[list[int], list[float], dict[str, int]]:  # fmt: skip
    """Verify ``runs`` times; RSS after every ``every`` runs (run 0: before the first)."""
    done, samples, decisions = [0], [rss_mb()], {}

    def one(i: int) -> str:
        person = people[i % len(people)]
        verdict = verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
        return verdict.decision.value

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, runs, every):
            for decision in pool.map(one, range(start, min(runs, start + every))):
                decisions[decision] = decisions.get(decision, 0) + 1
            done.append(min(runs, start + every))
            samples.append(rss_mb())
    return done, samples, decisions


def run(args: argparse.Namespace, report: Report) -> None:
    width, height = (int(v) for v in args.size.lower().split("x"))
    faces = args.data / "lfw_pairs_aligned112" if args.data else None
    faces_dir = faces if faces is not None and faces.is_dir() else None
    people = applicants(args.applicants, (width, height), faces_dir, challenge=False)
    verifier = Verifier.from_registry(Registry.from_manifest())
    loaded = rss_mb()
    for i in range(2 * len(people)):  # warm-up: sessions, caches, allocator pools
        person = people[i % len(people)]
        verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
    start = time.perf_counter()
    done, samples, decisions = soak(verifier, people, args.runs, args.every, args.workers)
    seconds = time.perf_counter() - start
    half = len(done) // 2
    summary = {
        "runs": args.runs,
        "workers": args.workers,
        "rss_models_loaded_mb": round(loaded, 1),
        "rss_first_mb": round(samples[0], 1),
        "rss_last_mb": round(samples[-1], 1),
        "rss_max_mb": round(max(samples), 1),
        "slope_mb_per_1000": round(slope_per_1000(done, samples), 2),
        "slope_second_half_mb_per_1000": round(slope_per_1000(done[half:], samples[half:]), 2),
        "seconds": round(seconds, 1),
    }
    report.section(
        "Resident memory across verifications",
        f"{args.runs} verifications of {len(people)} generated applicants, shots {width}x{height} "
        f"JPEG, {args.workers} thread(s), RSS every {args.every} runs after a warm-up of "
        f"{2 * len(people)}; decisions: {decisions}",
    )
    report.table(list(summary), [list(summary.values())])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        report.plot(_plot(args.out / "soak_rss.png", done, samples), "RSS against verifications")
    report.results["soak"] = summary | {
        "size": [width, height],
        "decisions": decisions,
        "runs_done": done,
        "rss_mb": samples,
    }


def _plot(path: Path, done: list[int], samples: list[float]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(done, samples, lw=1)
    ax.set_xlabel("verifications")
    ax.set_ylabel("RSS (MB)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--applicants", type=int, default=6)
    parser.add_argument("--size", default="1280x960", help="card shots WxH")
    parser.add_argument("--every", type=int, default=10, help="verifications per RSS sample")
    parser.add_argument("--workers", type=int, default=1, help="threads sharing the Verifier")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.soak", __doc__, add_arguments, run,
                      "ekyc memory soak", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
