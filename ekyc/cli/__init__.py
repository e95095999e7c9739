"""The ``ekyc`` command: a thin client of the public API for reviewers and scripts.

Exit statuses (shared by every subcommand): 0 accept / pass, 1 reject / fail, 2 review,
64 usage error, 65 unusable input, 69 a model is unavailable, 70 an unexpected error.
JSON output fields are contracts other tools rely on: add fields, never rename them.
Each subcommand lives in its own module with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ekyc.blas import prefer_one_blas_thread
from ekyc.cli import bench, demo, detect, liveness, match, quality, review, serve, verify
from ekyc.cli._common import (
    EXIT_DATAERR,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_REVIEW,
    EXIT_SOFTWARE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Parser,
    exit_status_for,
)
from ekyc.errors import EkycError

__all__ = [
    "EXIT_DATAERR",
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_REVIEW",
    "EXIT_SOFTWARE",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "build_parser",
    "exit_status_for",
    "main",
]

_COMMANDS = (quality, detect, match, verify, review, liveness, bench, demo, serve)


def build_parser() -> Parser:
    """The argument parser; each subcommand sets ``handler``."""
    parser = Parser(prog="ekyc", description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in _COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ekyc`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # The pipeline, ``review``'s workers and the benches run their own threads; a second
    # OpenBLAS thread only spins (``ekyc.blas``). Benches' CPU figures are one thread's.
    prefer_one_blas_thread()
    try:
        status: int = args.handler(args, sys.stdout)
    except EkycError as exc:
        sys.stderr.write(f"ekyc: {exc.code}: {exc.message}\n")
        return exit_status_for(exc)
    except KeyboardInterrupt:
        return 130
    return status
