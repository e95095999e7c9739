"""``ekyc bench SUITE``: run one benchmark suite and write its report.

    python -m benchmarks.bench SUITE [suite options] [--out DIR]

Suites: ``match`` (face verification on pair lists), ``detect`` (card localisation, tilt,
type/side), ``liveness`` (APCER/BPCER), ``pipeline`` (end-to-end latency, throughput,
memory), ``soak`` (resident memory across many verifications), ``throughput`` (embedding
batch sizes per execution provider), ``verify_rates`` (end-to-end decisions on generated
genuine applicants and impostors). Each writes
``report.md`` (machine header first), ``results.json`` and its plots into ``--out``
(default ``bench-out/SUITE``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks.report import Report
from ekyc.blas import prefer_one_blas_thread

# Each suite module has add_arguments(parser) and run(args, report).
SUITES = (
    "match",
    "detect",
    "held_back",
    "liveness",
    "pipeline",
    "soak",
    "throughput",
    "verify_rates",
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUITES:
        sys.stderr.write(f"usage: ekyc bench {{{','.join(SUITES)}}} [options] [--out DIR]\n")
        return 64
    suite, rest = argv[0], argv[1:]
    module = importlib.import_module(f"benchmarks.{suite}")
    parser = argparse.ArgumentParser(prog=f"ekyc bench {suite}")
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    args.out = args.out or Path(f"bench-out/{suite}")
    prefer_one_blas_thread()  # as the ekyc command and the daemon run (ekyc.blas)
    report = Report(f"ekyc bench {suite}")
    module.run(args, report)
    md, js = report.write(args.out)
    sys.stdout.write(report.markdown())
    sys.stdout.write(f"\nwrote {md} and {js}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
