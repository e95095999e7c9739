"""``ekyc verify``: run a full verification on one applicant's shots (the reviewer's re-run)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ekyc.cli._common import EXIT_FAIL, EXIT_OK, EXIT_REVIEW, EXIT_USAGE

__all__ = ["register"]

_EXIT_BY_DECISION = {"accept": EXIT_OK, "reject": EXIT_FAIL, "review": EXIT_REVIEW}


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    verify = sub.add_parser(
        "verify",
        help="verify one applicant: card shots + selfie -> accept / review / reject",
        description="Exit 0 accept, 1 reject, 2 review, >= 64 could not run.",
    )
    verify.add_argument(
        "--document", required=True, choices=["drivers_license", "my_number_card", "residence_card"]
    )
    verify.add_argument("--front", required=True, metavar="F")
    verify.add_argument("--tilt", required=True, metavar="T")
    verify.add_argument("--back", metavar="B", help="not for the My Number card, ever")
    verify.add_argument("--selfie", required=True, metavar="S")
    verify.add_argument("--challenge", metavar="C", help="challenge JSON (needs --frames)")
    verify.add_argument("--frames", metavar="DIR", help="challenge frames (needs --challenge)")
    verify.add_argument("--applicant", metavar="applicant.json", help="data to cross-check")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.add_argument("--evidence", metavar="DIR", help="write annotated shots + verdict")
    verify.set_defaults(handler=_run_verify)


def _run_verify(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.pipeline import Verifier
    from ekyc.read import Applicant
    from ekyc.registry import Registry

    liveness: dict[str, Any] = {}
    if bool(args.challenge) != bool(args.frames):
        sys.stderr.write("ekyc verify: --challenge and --frames go together\n")
        return EXIT_USAGE
    if args.challenge:
        from ekyc.liveness import Challenge, read_sequence

        try:
            raw = json.loads(Path(args.challenge).read_text(encoding="utf-8"))
            liveness["challenge"] = Challenge.from_dict(raw)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"ekyc verify: bad --challenge {args.challenge}: {exc}\n")
            return EXIT_USAGE
        liveness["frames"] = read_sequence(args.frames)
        # A reviewer re-runs a stored case: judge it at the time it was recorded.
        liveness["now"] = liveness["frames"].started_at + dt.timedelta(
            milliseconds=max((f.t_ms for f in liveness["frames"].frames), default=0) + 1
        )
    applicant = None
    if args.applicant:
        try:
            applicant = Applicant.from_json(Path(args.applicant).read_bytes())
        except OSError as exc:
            sys.stderr.write(f"ekyc verify: cannot read {args.applicant}: {exc.strerror}\n")
            return EXIT_USAGE
    shots = {"front": args.front, "tilt": args.tilt, "selfie": args.selfie}
    if args.back:
        shots["back"] = args.back
    verifier = Verifier.from_registry(Registry.from_manifest())
    verdict, frames = verifier.verify_with_frames(
        args.document, shots, applicant=applicant, **liveness
    )
    if args.evidence:
        from ekyc.evidence import write_evidence

        write_evidence(Path(args.evidence), verdict, frames)
    record = verdict.to_json()
    if args.json:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        out.write(f"{record['decision'].upper()}\n")
        for reason in record["reasons"]:
            out.write(f"  {reason['code']:<24} [{reason['stage']}] {reason['message']}\n")
        timing = sum(record["timings_ms"].values())
        out.write(f"  ({len(record['models'])} models, {timing:.0f} ms in stages)\n")
    return _EXIT_BY_DECISION[record["decision"]]
