"""``ekyc serve [--host H] [--port P]``: run the HTTP daemon (``python -m service``).

The daemon lives in the ``service`` package, which the library never imports: this
command replaces its own process with ``python -m service`` (``exec``), so the daemon is
the process a supervisor started. SIGTERM and SIGINT reach it directly (it finishes its
in-flight requests and exits), and a SIGKILL ends it: a child process in front of it, as
this command first had, survived its parent's SIGKILL and kept the port and the database.
Settings come from ``EKYC_*`` variables (the database from ``EKYC_DATABASE_URL``); with none
at all the daemon uses a SQLite file under ``./ekyc-data``, migrated at start.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any, TextIO

from ekyc.cli._common import EXIT_UNAVAILABLE

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    serve = sub.add_parser(
        "serve",
        help="run the HTTP daemon the loan web front end calls",
        description="Settings come from EKYC_* environment variables (see service/settings.py).",
    )
    serve.add_argument("--host", help="address to bind (default: EKYC_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: EKYC_PORT or 8000)")
    serve.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace, out: TextIO) -> int:
    if importlib.util.find_spec("service") is None or importlib.util.find_spec("uvicorn") is None:
        sys.stderr.write(
            "ekyc serve: the daemon needs the service extra: pip install 'ekyc[service]'\n"
        )
        return EXIT_UNAVAILABLE
    command = [sys.executable, "-m", "service"]
    if args.host is not None:
        command += ["--host", args.host]
    if args.port is not None:
        command += ["--port", str(args.port)]
    out.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # noqa: S606 (our own interpreter and module)
