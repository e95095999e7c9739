"""End-to-end verification speed: latency per stage, throughput, memory.

    python -m benchmarks.pipeline [--applicants 8] [--size 4032x3024] [--threads 2,1]
                                  [--workers 1,2] [--soak 0] [--data ../shared/data] [--out DIR]

Generated applicants (genuine, one per seed) are rendered once, as JPEG bytes at ``--size``
(12-megapixel by default, as phones send them), then verified repeatedly by one
``Verifier`` (models loaded once): the four shots alone (the issue's figure), or with
``--challenge`` also a recorded liveness challenge of ~45 frames. Reported: total latency
p50/p95 and the process CPU time per verification (all threads; on a loaded machine the
wall time is not the machine's, the CPU time nearly is), mean time per stage, throughput
with 1 and N worker threads, peak resident memory, and with ``--soak N`` the resident memory
before and after N more verifications (``benchmarks/soak.py`` samples it along the way).

With ``--screened`` every shot is first screened as the daemon does on arrival, as its
step (``Verifier.screen_shot(step=...)``: decode, find the card, refuse a My Number back, in
the selfie also one held up; judge a card step's quality, the front's printed portrait, the
tilted step's tilt and thickness, the selfie's faces; not timed), and the timed ``verify``
is the daemon's at finish, which reuses the cards found and the judgements made on arrival
instead of making them again, and the decoded pixels of the last 8 shots screened (here
always this applicant's) instead of decoding them again. Without it every verification
starts from the bytes alone.

With ``--profile N`` the first applicants are verified N more times on one thread under
``cProfile`` with the process's CPU clock (all threads), and the CPU ms per verification of
each piece is reported (``PROFILE_PIECES``: what a piece's function and everything it calls
cost; the profiler adds ~25 %, so compare the shares, not the sums, with the latency runs).

``--ort-threads`` is the registry's onnxruntime intra-op threads per session: by default
``VERIFY_MODEL_THREADS`` (1), as ``ekyc verify`` and the daemon use; 0 is onnxruntime's own
default (every core, which spins beside the pipeline's own threads). ``--threads`` is
``PipelineConfig.threads``, the threads one verification uses: the first
value gets the per-stage table, each further one a latency row beside it. With 2 the stages
overlap (the card shots and the selfie at once, then the OCR beside the face match), so the
stage times add up to more than the total.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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
from ekyc.config import VERIFY_MODEL_THREADS, PipelineConfig
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.types import DocumentType

_DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD)


# Where the CPU of one verification goes (``--profile``): piece -> (module path, function).
# Cumulative: a piece includes what its function calls, so "find_card, every call" includes
# the selfie's held-back windows, and "verify" is the whole.
PROFILE_PIECES: dict[str, tuple[str, str]] = {
    "verify": ("ekyc/pipeline.py", "verify_with_frames"),
    "decode": ("ekyc/capture/decode.py", "decode_image"),
    "find_card, every call": ("ekyc/detect/card.py", "find_card"),
    "selfie held-back windows": ("ekyc/detect/back.py", "find_held_my_number_back"),
    # The My Number back gate's screens (whole frame and windows) and what they are made of;
    # the pieces below are every call's (``find_card``'s own search on card shots too).
    "selfie gate screens (whole + windows)": ("ekyc/detect/back.py", "_back_hints"),
    "rough layout reads, every call": ("ekyc/detect/coarse.py", "scores"),
    "ranked candidate quads, every call": ("ekyc/detect/quad.py", "ranked_candidates"),
    "working images, every call": ("ekyc/detect/quad.py", "make_working_image"),
    "three-sided quads, every call": ("ekyc/detect/three_sides.py", "three_side_quads"),
    "capture quality": ("ekyc/capture/quality.py", "assess_quality"),
    "examination (tilt, same card)": ("ekyc/methods/image.py", "examine"),
    "tilt's side face (thickness)": ("ekyc/detect/thickness.py", "measure_edge_band"),
    "same card (front vs tilt)": ("ekyc/detect/same_card.py", "compare_cards"),
    "OCR of the fields": ("ekyc/read/ocr.py", "read_fields"),
    "face detection (selfie, portraits)": ("ekyc/match/detect.py", "detect"),
    "face embedding": ("ekyc/match/embed.py", "embed_faces"),
    "passive liveness": ("ekyc/liveness/passive.py", "check"),
}


def profile_cpu(verifier: Verifier, people: list[SyntheticApplicant], runs: int
                ) -> dict[str, float]:  # fmt: skip
    """CPU ms per verification of each ``PROFILE_PIECES`` piece over ``runs`` verifications.

    ``verifier`` should run on one thread (``PipelineConfig(threads=1)``): cProfile sees
    only the thread that enabled it.
    """
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        for i in range(runs):
            person = people[i % len(people)]
            verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
    finally:
        profiler.disable()
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cpu = dict.fromkeys(PROFILE_PIECES, 0.0)
    for (path, _, function), (_, _, _, cumulative, _) in stats.items():
        for piece, (module, name) in PROFILE_PIECES.items():
            if function == name and path.replace(os.sep, "/").endswith(module):
                cpu[piece] += cumulative * 1000.0 / max(runs, 1)
    return cpu


def rss_mb() -> float:
    """This process's resident set size in MB (``/proc/self/status``), NaN where absent."""
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


def latency(verifier: Verifier, people: list[SyntheticApplicant], rounds: int,
            cpu: list[float] | None = None, screened: bool = False
            ) -> tuple[list[float], dict[str, list[float]], dict[str, int]]:  # fmt: skip
    """Wall ms per verification, ms per stage, decisions; process CPU ms into ``cpu``.

    ``screened``: each shot goes through ``screen_shot`` first as its step, untimed, as the
    daemon screens it on arrival.
    """
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    decisions: dict[str, int] = {}
    for person in people:  # warm-up: first calls build sessions and caches
        verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
    for _ in range(rounds):
        for person in people:
            for name, data in person.shots.items() if screened else ():
                verifier.screen_shot(data, selfie=name == "selfie", step=name)
            start, start_cpu = time.perf_counter(), time.process_time()
            verdict = verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
            totals.append((time.perf_counter() - start) * 1000)
            if cpu is not None:
                cpu.append((time.process_time() - start_cpu) * 1000)
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
    registry = Registry.from_manifest(threads=args.ort_threads or None)
    verifiers = {n: Verifier.from_registry(registry, PipelineConfig(threads=n))
                 for n in args.threads}  # fmt: skip
    verifier = verifiers[args.threads[0]]
    cv2.setNumThreads(1)
    cpu: list[float] = []
    totals, stages, decisions = latency(verifier, people, args.rounds, cpu, args.screened)
    total = summarise(totals)
    report.section("Latency, one verification at a time",
                   f"{len(people)} applicants x {args.rounds} rounds, shots {width}x{height} "
                   f"JPEG (front, tilt, back unless My Number, selfie)"
                   f"{' + a recorded liveness challenge' if args.challenge else ''}"
                   f"{'; shots screened on arrival first (untimed)' if args.screened else ''}; "
                   f"{args.threads[0]} thread(s) per verification, OpenCV 1 thread, "
                   f"onnxruntime {args.ort_threads or 'default'} intra-op thread(s); "
                   f"load average {os.getloadavg()[0]:.1f} at the start; "
                   f"decisions: {decisions}")  # fmt: skip
    order = sorted(stages, key=lambda k: -sum(stages[k]))
    rows = [[name, sum(v) / len(v), *np.percentile(v, [50, 95]).tolist(),
             f"{100 * sum(v) / sum(totals):.0f} %"] for name, v in
            ((n, stages[n]) for n in order)]  # fmt: skip
    report.table(["stage", "mean ms", "p50 ms", "p95 ms", "share"], rows)
    report.table(
        ["total", "p50 ms", "p95 ms", "mean±std", "CPU p50 ms"],
        [["verify", total.p50_ms, total.p95_ms, str(total), float(np.median(cpu))]],
    )
    by_threads = {args.threads[0]: (total, cpu)}
    for n in args.threads[1:]:
        more_cpu: list[float] = []
        more, _, _ = latency(verifiers[n], people, args.rounds, more_cpu, args.screened)
        by_threads[n] = (summarise(more), more_cpu)
    if len(by_threads) > 1:
        report.section("Threads per verification",
                       f"the same runs with each PipelineConfig.threads, one after the other; "
                       f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
        report.table(["threads", "p50 ms", "p95 ms", "CPU p50 ms"],
                     [[n, t.p50_ms, t.p95_ms, float(np.median(c))]
                      for n, (t, c) in by_threads.items()])  # fmt: skip
    profiled: dict[str, float] = {}
    if args.profile:
        one = verifiers.get(1) or Verifier.from_registry(registry, PipelineConfig(threads=1))
        profiled = profile_cpu(one, people, args.profile)
        whole = profiled["verify"] or float("nan")
        report.section("Where the CPU goes",
                       f"{args.profile} verifications on one thread under cProfile (process "
                       f"CPU, all threads; the profiler adds ~25 %); each piece includes what "
                       f"it calls; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        report.table(["piece", "CPU ms per verification", "share of verify"],
                     [[piece, ms, f"{100 * ms / whole:.0f} %"]
                      for piece, ms in profiled.items()])  # fmt: skip
    rates = {w: throughput(verifier, people, w, args.jobs) for w in args.workers}
    report.section("Throughput", f"worker threads sharing one Verifier "
                   f"({args.threads[0]} thread(s) per verification)")  # fmt: skip
    report.table(["workers", "verifications/s"], [[w, r] for w, r in rates.items()])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    memory = {"peak_rss_mb": round(peak, 1)}
    if args.soak:
        before = rss_mb()
        for i in range(args.soak):
            person = people[i % len(people)]
            verifier.verify(person.document_type, person.shots, **person.verify_kwargs())
        memory |= {
            "soak_runs": args.soak,
            "rss_before_mb": round(before, 1),
            "rss_after_mb": round(rss_mb(), 1),
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
        "screened": args.screened,
        "total_ms": asdict(total), "threads": args.threads[0],
        "cpu_ms_samples": cpu, "cpu_ms_p50": float(np.median(cpu)),
        "by_threads": {n: {"total_ms": asdict(t), "cpu_ms_samples": c}
                       for n, (t, c) in by_threads.items()},
        "stage_mean_ms": {k: sum(v) / len(v) for k, v in stages.items()},
        "stage_p50_ms": {k: float(np.percentile(v, 50)) for k, v in stages.items()},
        "stage_p95_ms": {k: float(np.percentile(v, 95)) for k, v in stages.items()},
        "stage_ms": stages, "total_ms_samples": totals,
        "throughput_per_s": rates, "memory": memory, "decisions": decisions,
        "profile_cpu_ms": profiled, "profile_runs": args.profile,
    }  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--applicants", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="4032x3024", help="card shots WxH")
    parser.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[2],
                        help="PipelineConfig.threads: the first gets the stage table")  # fmt: skip
    parser.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    parser.add_argument(
        "--ort-threads",
        type=int,
        default=VERIFY_MODEL_THREADS,
        help="onnxruntime intra-op threads per session (0: onnxruntime's default)",
    )
    parser.add_argument("--jobs", type=int, default=12, help="verifications per throughput run")
    parser.add_argument("--soak", type=int, default=0, help="extra verifications for memory")
    parser.add_argument(
        "--challenge",
        action="store_true",
        help="also send a recorded liveness challenge (~45 frames)",
    )
    parser.add_argument(
        "--screened",
        action="store_true",
        help="screen every shot first, untimed, as the daemon does on arrival",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="verifications profiled on one thread: CPU ms per verification by piece",
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
