"""The ``ekyc`` command: a thin client of the public API for reviewers and scripts.

Exit statuses (shared by every subcommand): 0 accept / pass, 1 reject / fail, 2 review,
64 usage error, 65 unusable input, 69 a model is unavailable, 70 an unexpected error.
JSON output fields are contracts other tools rely on: add fields, never rename them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from ekyc.errors import EkycError, InputError, ModelError, StepNotAllowed

__all__ = ["main"]

EXIT_OK, EXIT_FAIL, EXIT_REVIEW = 0, 1, 2
EXIT_USAGE, EXIT_DATAERR, EXIT_UNAVAILABLE, EXIT_SOFTWARE = 64, 65, 69, 70

_EXIT_BY_ERROR: tuple[tuple[type[EkycError], int], ...] = (
    (InputError, EXIT_DATAERR),
    (StepNotAllowed, EXIT_DATAERR),
    (ModelError, EXIT_UNAVAILABLE),
)


def exit_status_for(error: EkycError) -> int:
    """The exit status that stands for a library error class."""
    for cls, status in _EXIT_BY_ERROR:
        if isinstance(error, cls):
            return status
    return EXIT_SOFTWARE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand sets ``handler``."""
    parser = _Parser(prog="ekyc", description=__doc__.split("\n", 1)[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    quality = sub.add_parser("quality", help="decode images and judge their capture quality")
    quality.add_argument("images", nargs="+", metavar="IMAGE")
    quality.add_argument("--json", action="store_true", help="one JSON object per image and line")
    quality.set_defaults(handler=_run_quality)

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

    demo = sub.add_parser("demo", help="generate sample shots and run the pipeline on them")
    demo.add_argument("--out", metavar="DIR", help="keep the generated images here")
    demo.add_argument("--json", action="store_true", help="print JSON lines")
    demo.set_defaults(handler=_run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ekyc`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.handler(args, sys.stdout)
    except EkycError as exc:
        print(f"ekyc: {exc.code}: {exc.message}", file=sys.stderr)  # noqa: T201
        return exit_status_for(exc)
    except KeyboardInterrupt:
        return 130
    return status


def quality_record(path: str) -> dict[str, Any]:
    """Decode one image and report its quality as the ``ekyc quality --json`` object."""
    from ekyc.capture.decode import decode_image
    from ekyc.capture.quality import assess_quality

    record: dict[str, Any] = {"path": path}
    try:
        frame = decode_image(path)
    except EkycError as exc:
        return record | {"passed": False, "failures": [], "checks": {}, "error": exc.to_dict()}
    report = assess_quality(frame)
    meta = frame.metadata
    return record | {
        "width": frame.width,
        "height": frame.height,
        "format": meta.source_format,
        "sha256": frame.source_sha256,
        "passed": report.passed,
        "failures": list(report.failures),
        "checks": {
            name: {
                "value": round(c.value, 6),
                "threshold": c.threshold,
                "rule": c.rule,
                "passed": c.passed,
            }
            for name, c in report.checks.items()
        },
        "metadata": {
            "taken_at": meta.taken_at.isoformat() if meta.taken_at else None,
            "camera_make": meta.camera_make,
            "camera_model": meta.camera_model,
            "focal_length_35mm": meta.focal_length_35mm,
            "exif_orientation": meta.exif_orientation,
        },
        "error": None,
    }


def _run_quality(args: argparse.Namespace, out: TextIO) -> int:
    status = EXIT_OK
    for path in args.images:
        record = quality_record(path)
        if record["error"] is not None:
            status = max(status, EXIT_DATAERR)
        elif not record["passed"]:
            status = max(status, EXIT_FAIL)
        out.write(
            json.dumps(record, ensure_ascii=False) + "\n" if args.json else _quality_text(record)
        )
    return status


def _quality_text(record: dict[str, Any]) -> str:
    if record["error"] is not None:
        return f"{record['path']}: {record['error']['code']}: {record['error']['message']}\n"
    lines = [
        f"{record['path']}: {record['format']} {record['width']}x{record['height']} "
        f"{'PASS' if record['passed'] else 'FAIL ' + ', '.join(record['failures'])}"
    ]
    for name, check in record["checks"].items():
        sign = ">=" if check["rule"] == "min" else "<="
        mark = "ok  " if check["passed"] else "FAIL"
        lines.append(
            f"  {mark} {name:<16} {check['value']:>12.4f}  (needs {sign} {check['threshold']:g})"
        )
    return "\n".join(lines) + "\n"


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
    return record | {"similarity": round(score.similarity, 6), "match": score.match}


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


def _run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.demo import run_demo

    return run_demo(out_dir=args.out, as_json=args.json, out=out)


if __name__ == "__main__":
    sys.exit(main())
