"""``ekyc demo``: generate sample shots and run the pipeline on them."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    demo = sub.add_parser("demo", help="generate sample shots and run the pipeline on them")
    demo.add_argument("--out", metavar="DIR", help="keep the generated images here")
    demo.add_argument("--json", action="store_true", help="print JSON lines")
    demo.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.demo import run_demo

    return run_demo(out_dir=args.out, as_json=args.json, out=out)
