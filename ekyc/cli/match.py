"""``ekyc match``: compare the most prominent face of two images, or of pairs in a CSV."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ekyc.cli._common import EXIT_DATAERR, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from ekyc.errors import InputError

__all__ = ["match_record", "register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    match = sub.add_parser(
        "match",
        help="compare the most prominent face of two images, or of each pair in a CSV",
        description="Exit 0 match, 1 no match, 65 unusable input (no face, bad image).",
    )
    match.add_argument("images", nargs="*", metavar="IMAGE", help="IMAGE_A IMAGE_B")
    match.add_argument("--pairs", metavar="FILE.csv", help="header with img1,img2 at least")
    match.add_argument("--root", metavar="DIR", default=".", help="--pairs paths are under it")
    match.add_argument("--model", metavar="ID", help="embedder id (default: best measured)")
    match.add_argument("--fmr", type=float, default=1e-3, help="1e-3 default, 1e-4 strict")
    match.add_argument("--json", action="store_true", help="one JSON object")
    match.add_argument("--jsonl", action="store_true", help="one JSON object per pair and line")
    match.set_defaults(handler=_run_match)


def match_record(matcher: Any, img1: str, img2: str, path1: str, path2: str) -> dict[str, Any]:
    """Match two image files as the ``ekyc match --json`` object (errors as ``error``)."""
    from ekyc.capture.decode import decode_image

    record: dict[str, Any] = {
        "img1": img1,
        "img2": img2,
        "similarity": None,
        "threshold": matcher.threshold,
        "match": False,
        "model": matcher.model.id,
        "fmr": matcher.fmr,
        "model_sha256": matcher.model.sha256,
        "error": None,
    }
    try:
        score = matcher.match(decode_image(path1).image, decode_image(path2).image)
    except InputError as exc:
        return record | {"error": exc.to_dict()}
    # the score's threshold: a cascade's screen decides against its own bounds
    return record | {"similarity": round(score.similarity, 6), "threshold": score.threshold,
                     "match": score.match}  # fmt: skip


def _match_jobs(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    import csv
    from pathlib import Path

    if args.pairs:
        if args.images:
            raise _UsageError("give IMAGE_A IMAGE_B or --pairs, not both")
        root = Path(args.root)
        with open(args.pairs, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not {"img1", "img2"} <= set(reader.fieldnames or ()):
                raise _UsageError(f"{args.pairs} needs a header with img1,img2")
            return [
                (r["img1"], r["img2"], str(root / r["img1"]), str(root / r["img2"])) for r in reader
            ]
    if len(args.images) != 2:
        raise _UsageError("give exactly two images, or --pairs FILE.csv")
    a, b = args.images
    return [(a, b, a, b)]


class _UsageError(Exception):
    """Arguments that argparse alone cannot check."""


def _run_match(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.match import DEFAULT_EMBEDDER, FaceMatcher, MatchConfig
    from ekyc.registry import Registry

    try:
        jobs = _match_jobs(args)
    except (_UsageError, OSError) as exc:
        print(f"ekyc match: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    try:
        config = MatchConfig(fmr=args.fmr)
    except ValueError as exc:
        print(f"ekyc match: error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    matcher = FaceMatcher.from_registry(
        Registry.from_manifest(), args.model or DEFAULT_EMBEDDER, config
    )
    status = EXIT_OK
    for img1, img2, path1, path2 in jobs:
        record = match_record(matcher, img1, img2, path1, path2)
        if record["error"] is not None:
            status = max(status, EXIT_DATAERR)
        elif not record["match"]:
            status = max(status, EXIT_FAIL)
        as_json = args.json or args.jsonl
        out.write(json.dumps(record, ensure_ascii=False) + "\n" if as_json else _match_text(record))
    return status


def _match_text(record: dict[str, Any]) -> str:
    head = f"{record['img1']} vs {record['img2']}: "
    if record["error"] is not None:
        return head + f"{record['error']['code']}: {record['error']['message']}\n"
    verdict = "MATCH" if record["match"] else "NO MATCH"
    return (
        head + f"{verdict} similarity {record['similarity']:.4f} (threshold "
        f"{record['threshold']:.4f} at FMR {record['fmr']:g}, {record['model']})\n"
    )
