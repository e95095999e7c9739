"""End-to-end verification speed: latency per stage, throughput, memory.

    python -m benchmarks.pipeline [--applicants 8] [--size 4032x3024] [--workers 1,2]
                                  [--soak 0] [--data ../shared/data] [--out DIR]

Generated applicants (genuine, one per seed) are rendered once, as JPEG bytes at ``--size``
(12-megapixel by default, as phones send them), then verified repeatedly by one
``Verifier`` (models loaded once): the four shots alone (the issue's figure), or with
``--challenge`` also a recorded liveness challenge of ~45 frames. Reported: total latency
p50/p95, mean time per stage, throughput with 1 and N worker threads, peak resident memory,
and with ``--soak N`` the resident memory before and after N more verifications (it should
stay flat).
"""

from __future__ import annotations

import argparse
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from benchmarks.report import Report, histogram, histograms, suite_main
from benchmarks.synth.applicant import SyntheticApplicant, make_applicant
from benchmarks.timing import summarise
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.types import DocumentType

_DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD)


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def applicants(n: int, size: tuple[int, int], faces_dir: Path | None, challenge: bool
               ) -> list[SyntheticApplicant]:  # fmt: skip
    return [make_applicant(9100 + i, _DOCS[i % 3], faces_dir=faces_dir, size=size,
                           challenge=challenge) for i in range(n)]  # fmt: skip


def latency(verifier: Verifier, people: list[SyntheticApplicant], rounds: int
            ) -> tuple[list[float], dict[str, list[float]], dict[str, int]]:  # fmt: skip
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    decisions: dict[str, int] = {}
    for person in people:  # warm-up: first calls build sessions and caches
        verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
    for _ in range(rounds):
        for person in people:
            start = time.perf_counter()
            verdict = verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
            totals.append((time.perf_counter() - start) * 1000)
            per_stage: dict[str, float] = {}
            for stage, ms in verdict.timings_ms.items():  # sub-stages summed per run
                per_stage[stage.split(".")[0]] = per_stage.get(stage.split(".")[0], 0.0) + ms
            for stage, ms in per_stage.items():
                stages.setdefault(stage, []).append(ms)
            decisions[verdict.decision.value] = decisions.get(verdict.decision.value, 0) + 1
    return totals, stages, decisions


def throughput(verifier: Verifier, people: list[SyntheticApplicant], workers: int,
               jobs: int) -> float:  # fmt: skip
    """Verifications per second with ``workers`` threads sharing one Verifier."""
    work = [people[i % len(people)] for i in range(jobs)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(
            pool.map(lambda p: verifier.verify(p.document_type, p.shots, **p.verify_kwargs()), work)
        )
    return jobs / (time.perf_counter() - start)


def run(args: argparse.Namespace, report: Report) -> None:
    width, height = (int(v) for v in args.size.lower().split("x"))
    faces = args.data / "lfw_pairs_aligned112" if args.data else None
    faces_dir = faces if faces is not None and faces.is_dir() else None
    people = applicants(args.applicants, (width, height), faces_dir, args.challenge)
    verifier = Verifier.from_registry(Registry.from_manifest())
    cv2.setNumThreads(1)
    totals, stages, decisions = latency(verifier, people, args.rounds)
    total = summarise(totals)
    report.section("Latency, one verification at a time",
                   f"{len(people)} applicants x {args.rounds} rounds, shots {width}x{height} "
                   f"JPEG (front, tilt, back unless My Number, selfie)"
                   f"{' + a recorded liveness challenge' if args.challenge else ''}; "
                   f"OpenCV 1 thread; "
                   f"decisions: {decisions}")  # fmt: skip
    order = sorted(stages, key=lambda k: -sum(stages[k]))
    rows = [[name, sum(v) / len(v), *np.percentile(v, [50, 95]).tolist(),
             f"{100 * sum(v) / sum(totals):.0f} %"] for name, v in
            ((n, stages[n]) for n in order)]  # fmt: skip
    report.table(["stage", "mean ms", "p50 ms", "p95 ms", "share"], rows)
    report.table(
        ["total", "p50 ms", "p95 ms", "mean±std"],
        [["verify", total.p50_ms, total.p95_ms, str(total)]],
    )
    rates = {w: throughput(verifier, people, w, args.jobs) for w in args.workers}
    report.section("Throughput", "threads sharing one Verifier")
    report.table(["workers", "verifications/s"], [[w, r] for w, r in rates.items()])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    memory = {"peak_rss_mb": round(peak, 1)}
    if args.soak:
        before = _rss_mb()
        for i in range(args.soak):
            person = people[i % len(people)]
            verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
        memory |= {
            "soak_runs": args.soak,
            "rss_before_mb": round(before, 1),
            "rss_after_mb": round(_rss_mb(), 1),
        }
    report.section("Memory")
    report.table(list(memory), [list(memory.values())])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        report.plot(histogram(args.out / "pipeline_latency.png", {"verify": totals},
                              "ms per verification"), "latency histogram")  # fmt: skip
        report.plot(histograms(args.out / "pipeline_stages.png",
                               {name: stages[name] for name in order}, "ms per verification"),
                    "per-stage latency histograms")  # fmt: skip
    report.results["pipeline"] = {
        "size": [width, height], "applicants": len(people), "rounds": args.rounds,
        "total_ms": asdict(total),
        "stage_mean_ms": {k: sum(v) / len(v) for k, v in stages.items()},
        "stage_p50_ms": {k: float(np.percentile(v, 50)) for k, v in stages.items()},
        "stage_p95_ms": {k: float(np.percentile(v, 95)) for k, v in stages.items()},
        "stage_ms": stages, "total_ms_samples": totals,
        "throughput_per_s": rates, "memory": memory, "decisions": decisions,
    }  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--applicants", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="4032x3024", help="card shots WxH")
    parser.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    parser.add_argument("--jobs", type=int, default=12, help="verifications per throughput run")
    parser.add_argument("--soak", type=int, default=0, help="extra verifications for memory")
    parser.add_argument(
        "--challenge",
        action="store_true",
        help="also send a recorded liveness challenge (~45 frames)",
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main(
        "python -m benchmarks.pipeline",
        __doc__,
        add_arguments,
        run,
        "ekyc pipeline benchmark",
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
