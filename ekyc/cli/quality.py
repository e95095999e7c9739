"""``ekyc quality``: decode images and judge their capture quality."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from ekyc.cli._common import EXIT_DATAERR, EXIT_FAIL, EXIT_OK
from ekyc.errors import EkycError

if TYPE_CHECKING:
    from ekyc.types import QualityReport

__all__ = ["checks_json", "quality_record", "register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    quality = sub.add_parser("quality", help="decode images and judge their capture quality")
    quality.add_argument("images", nargs="+", metavar="IMAGE")
    quality.add_argument("--json", action="store_true", help="one JSON object per image and line")
    quality.set_defaults(handler=_run_quality)


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
        "checks": checks_json(report),
        "metadata": {
            "taken_at": meta.taken_at.isoformat() if meta.taken_at else None,
            "camera_make": meta.camera_make,
            "camera_model": meta.camera_model,
            "focal_length_35mm": meta.focal_length_35mm,
            "exif_orientation": meta.exif_orientation,
        },
        "error": None,
    }


def checks_json(report: QualityReport) -> dict[str, dict[str, Any]]:
    """Each check as ``{value, threshold, rule, passed}``, by name."""
    return {
        name: {
            "value": round(c.value, 6),
            "threshold": c.threshold,
            "rule": c.rule,
            "passed": c.passed,
        }
        for name, c in report.checks.items()
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
