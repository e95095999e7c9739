"""``ekyc liveness``: passive PAD on still images, or evaluation of an active challenge.

Passive (one JSON object per image and line, a contract other tools parse)::

    ekyc liveness --passive [--jsonl] IMAGE...
    {"path": str, "live": bool, "score": float, "threshold": float,
     "attack_type": str | null, "error": {"code": str, "message": str} | null}

Active: ``ekyc liveness --challenge CHALLENGE.json --frames DIR_OR_VIDEO --json`` prints
one object: ``LivenessResult.to_dict()`` plus ``"nonce"`` and ``"error"``. Frames and their
sidecar are described in ``ekyc.liveness.frames``. Exit 0 live, 1 not live, 65 unusable
input, 69 model missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from ekyc.cli._common import EXIT_DATAERR, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from ekyc.errors import InputError

__all__ = ["passive_record", "register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    cmd = sub.add_parser(
        "liveness",
        help="passive presentation-attack check of selfies, or an active challenge",
        description="Exit 0 live, 1 not live, 65 unusable input, 69 model unavailable.",
    )
    mode = cmd.add_mutually_exclusive_group(required=True)
    mode.add_argument("--passive", action="store_true", help="judge each IMAGE on its own")
    mode.add_argument("--challenge", metavar="CHALLENGE.json", help="the issued challenge")
    cmd.add_argument("images", nargs="*", metavar="IMAGE", help="selfies (--passive)")
    cmd.add_argument("--frames", metavar="DIR_OR_VIDEO", help="recorded frames (--challenge)")
    cmd.add_argument("--selfie", metavar="IMAGE", help="the still selfie sent with them")
    cmd.add_argument("--nonce", help="overrides the sidecar's nonce")
    cmd.add_argument("--now", help="evaluation time, ISO 8601 with zone (default: now)")
    cmd.add_argument("--json", action="store_true", help="one JSON object")
    cmd.add_argument("--jsonl", action="store_true", help="one JSON object per image and line")
    cmd.set_defaults(handler=_run)


def passive_record(checker: Any, path: str) -> dict[str, Any]:
    """One image judged as the ``--passive`` JSON object (input errors as ``error``)."""
    from ekyc.capture.decode import decode_image

    record: dict[str, Any] = {
        "path": path,
        "live": False,
        "score": 0.0,
        "threshold": checker.model.threshold,
        "attack_type": None,
        "error": None,
    }
    try:
        result = checker.check(decode_image(path).image)
    except InputError as exc:
        return record | {"error": exc.to_dict()}
    attack = result.attack_type.value if result.attack_type else None
    return record | {"live": result.live, "score": round(result.score, 6), "attack_type": attack}


def _usage(message: str) -> int:
    print(f"ekyc liveness: error: {message}", file=sys.stderr)  # noqa: T201
    return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.passive:
        if not args.images:
            return _usage("--passive needs at least one IMAGE")
        return _run_passive(args, out)
    if not args.frames or args.images:
        return _usage("--challenge needs --frames DIR_OR_VIDEO and no IMAGE")
    return _run_active(args, out)


def _run_passive(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.liveness.passive import PassiveChecker
    from ekyc.registry import Registry

    checker = PassiveChecker(Registry.from_manifest())
    status = EXIT_OK
    for path in args.images:
        record = passive_record(checker, path)
        if record["error"] is not None:
            status = max(status, EXIT_DATAERR)
        elif not record["live"]:
            status = max(status, EXIT_FAIL)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return status


def _run_active(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.capture.decode import decode_image
    from ekyc.liveness.active import evaluate
    from ekyc.liveness.frames import read_sequence
    from ekyc.liveness.landmarks import FaceMeshTracker
    from ekyc.liveness.results import Challenge
    from ekyc.match import FaceMatcher
    from ekyc.registry import Registry

    try:
        with open(args.challenge, encoding="utf-8") as fh:
            challenge = Challenge.from_dict(json.load(fh))
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except (OSError, ValueError) as exc:
        return _usage(str(exc))
    if now.tzinfo is None:
        return _usage("--now needs a time zone")
    record: dict[str, Any] = {"nonce": challenge.nonce, "live": False, "error": None}
    try:
        frames = read_sequence(args.frames, nonce=args.nonce)
        selfie = decode_image(args.selfie).image if args.selfie else None
    except InputError as exc:
        out.write(json.dumps(record | {"error": exc.to_dict()}) + "\n")
        return EXIT_DATAERR
    registry = Registry.from_manifest()
    result = evaluate(
        challenge,
        frames,
        now,
        tracker=FaceMeshTracker(registry),
        matcher=FaceMatcher.from_registry(registry),
        selfie=selfie,
    )
    record |= result.to_dict()
    out.write(json.dumps(record, ensure_ascii=False) + "\n")  # --json: the one object
    return EXIT_OK if result.live else EXIT_FAIL
