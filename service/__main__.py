"""``python -m service [--host H] [--port P]``: serve the app with uvicorn.

Settings come from ``EKYC_*`` variables (``service.settings``); ``--host``/``--port``
override ``EKYC_HOST``/``EKYC_PORT``. SIGTERM or SIGINT stop it gracefully: no new
connections, in-flight requests get ``EKYC_SHUTDOWN_GRACE_S`` to finish, then the
lifespan closes the pool and the database. Exit status 78 (EX_CONFIG) for bad settings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from service.app import create_app
from service.logs import configure_logging
from service.settings import get_settings

EX_CONFIG = 78


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, check the settings, run uvicorn until a signal stops it."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", help="address to bind (default: EKYC_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: EKYC_PORT or 8000)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:  # messages only: the inputs may hold secrets
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            sys.stderr.write(f"ekyc service: {where}: {error['msg']}\n")
        return EX_CONFIG
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=updates)
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # the app logs each request itself, without raw paths
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
