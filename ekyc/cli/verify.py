"""``ekyc verify``: run a full verification on one applicant's shots (the reviewer's re-run)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from ekyc.cli._case import CaseError, load_case
from ekyc.cli._common import EXIT_FAIL, EXIT_OK, EXIT_REVIEW, EXIT_USAGE
from ekyc.config import VERIFY_MODEL_THREADS

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
    from ekyc.registry import Registry

    shots = {"front": args.front, "tilt": args.tilt, "selfie": args.selfie}
    if args.back:
        shots["back"] = args.back
    try:
        case = load_case(args.document, shots, applicant=args.applicant,
                         challenge=args.challenge, frames=args.frames)  # fmt: skip
    except CaseError as exc:
        sys.stderr.write(f"ekyc verify: {exc}\n")
        return EXIT_USAGE
    verifier = Verifier.from_registry(Registry.from_manifest(threads=VERIFY_MODEL_THREADS))
    verdict, frames = verifier.verify_with_frames(case.document, case.shots, **case.kwargs)
    if args.evidence:
        _write_case(Path(args.evidence), args, verdict, frames)
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


def _write_case(folder: Path, args: argparse.Namespace, verdict: Any, frames: Any) -> None:
    """Evidence images + verdict.json + copies of the inputs: a case ``ekyc review`` re-runs."""
    from ekyc.evidence import write_evidence

    write_evidence(folder, verdict, frames)
    for shot in ("front", "tilt", "back", "selfie"):
        source = getattr(args, shot)
        if source:
            shutil.copyfile(source, folder / f"{shot}{Path(source).suffix.lower()}")
    for name in ("applicant", "challenge"):
        if getattr(args, name):
            shutil.copyfile(getattr(args, name), folder / f"{name}.json")
    if args.frames:
        shutil.copytree(args.frames, folder / "frames", dirs_exist_ok=True)
