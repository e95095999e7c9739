"""``ekyc bench SUITE``: run one benchmark suite and write its report.

    python -m benchmarks.bench SUITE [suite options] [--out DIR]

Suites: ``match`` (face verification on pair lists), ``detect`` (card localisation, tilt,
type/side), ``liveness`` (APCER/BPCER), ``pipeline`` (end-to-end latency, throughput,
memory), ``throughput`` (embedding batch sizes per execution provider), ``verify_rates``
(end-to-end decisions on generated genuine applicants and impostors). Each writes
``report.md`` (machine header first), ``results.json`` and its plots into ``--out``
(default ``bench-out/SUITE``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
from pathlib import Path

from benchmarks.report import Report

# Suites with a run(args, report) / add_arguments(parser) pair build the report themselves;
# the others are run through their own main() and their printed tables kept verbatim.
STRUCTURED = ("match", "detect", "pipeline", "throughput", "verify_rates")
PRINTED = {"liveness": "benchmarks.liveness"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*STRUCTURED, *PRINTED):
        sys.stderr.write(
            f"usage: ekyc bench {{{','.join((*STRUCTURED, *PRINTED))}}} [options] [--out DIR]\n"
        )
        return 64
    suite, rest = argv[0], argv[1:]
    out = Path(f"bench-out/{suite}")
    if "--out" in rest:
        out = Path(rest[rest.index("--out") + 1])
    report = Report(f"ekyc bench {suite}")
    if suite in STRUCTURED:
        module = importlib.import_module(f"benchmarks.{suite}")
        parser = argparse.ArgumentParser(prog=f"ekyc bench {suite}")
        module.add_arguments(parser)
        args = parser.parse_args(rest)
        args.out = out
        module.run(args, report)
    else:
        module = importlib.import_module(PRINTED[suite])
        captured = io.StringIO()
        rest = [a for i, a in enumerate(rest) if a != "--out" and
                (i == 0 or rest[i - 1] != "--out")]  # fmt: skip
        with contextlib.redirect_stdout(captured):
            status = module.main(rest)
        report.section(suite, "as printed by " + PRINTED[suite])
        report.text("```\n" + captured.getvalue().rstrip() + "\n```")
        report.results[suite] = {"exit_status": status or 0, "printed": captured.getvalue()}
    md, js = report.write(out)
    sys.stdout.write(report.markdown())
    sys.stdout.write(f"\nwrote {md} and {js}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
