"""``ekyc serve [--host H] [--port P]``: run the HTTP daemon (``python -m service``).

The daemon lives in the ``service`` package, which the library never imports: this
command starts it as a child process and stays in front of it. SIGTERM and SIGINT are
passed on to the child, which finishes its in-flight requests and exits; the command
exits with the child's status. Settings come from ``EKYC_*`` variables (the database from
``EKYC_DATABASE_URL``); with none at all the daemon uses a SQLite file under
``./ekyc-data``, migrated at start.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
import sys
from types import FrameType
from typing import Any, TextIO

from ekyc.cli._common import EXIT_UNAVAILABLE

__all__ = ["register"]

_FORWARDED = (signal.SIGTERM, signal.SIGINT)


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
    # Its own session: a terminal's Ctrl-C reaches the child once, through us.
    child = subprocess.Popen(command, start_new_session=True)  # noqa: S603

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status if status >= 0 else 128 - status
