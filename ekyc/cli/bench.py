"""``ekyc bench SUITE``: run a benchmark suite of the source checkout.

The suites live in ``benchmarks/``, which is not part of the installed library (the library
never imports it). This command runs them as a separate process from the checkout the
package is installed from, and says so clearly when there is none.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from ekyc.cli._common import EXIT_UNAVAILABLE

__all__ = ["register"]

# The suites of benchmarks/bench.py (the library never imports it; a test keeps the two equal).
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


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    bench = sub.add_parser(
        "bench",
        help="benchmark a suite: " + ", ".join(SUITES),
        description="Writes report.md, results.json and plots into --out "
        "(default bench-out/SUITE). Suite options follow the suite name.",
    )
    bench.add_argument("suite", choices=SUITES)
    bench.add_argument("options", nargs=argparse.REMAINDER, help="passed to the suite")
    bench.set_defaults(handler=_run_bench)


def _run_bench(args: argparse.Namespace, out: TextIO) -> int:
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "bench.py").is_file():
        sys.stderr.write(
            "ekyc bench: the benchmarks/ folder of a source checkout is needed; "
            f"none beside {checkout}\n"
        )
        return EXIT_UNAVAILABLE
    options = list(args.options)
    # The suite runs in the checkout; outputs still land where the caller is.
    if "--out" in options and options.index("--out") + 1 < len(options):
        at = options.index("--out") + 1
        options[at] = str(Path(options[at]).resolve())
    else:
        options += ["--out", str(Path.cwd() / "bench-out" / args.suite)]
    command = [sys.executable, "-m", "benchmarks.bench", args.suite, *options]
    done = subprocess.run(command, cwd=checkout, check=False, capture_output=True, text=True)  # noqa: S603
    out.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode
