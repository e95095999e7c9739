"""``ekyc detect``: find the card in each image (corners, type and side, tilt, quality)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from ekyc.cli._common import EXIT_DATAERR, EXIT_FAIL, EXIT_OK
from ekyc.cli.quality import checks_json
from ekyc.errors import EkycError, StepNotAllowed
from ekyc.types import AspectPrior

if TYPE_CHECKING:
    from ekyc.detect import CardLayouts

__all__ = ["detect_record", "register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    detect = sub.add_parser(
        "detect",
        help="find the card in each image: corners, document type and side, tilt, quality",
        description="One JSON object per image and line. Exit 0 all found, 1 some not found, "
        "65 unusable input (including a My Number card's back).",
    )
    detect.add_argument("images", nargs="+", metavar="IMAGE")
    detect.add_argument("--jsonl", action="store_true", help="JSON lines (the only format)")
    detect.add_argument(
        "--aspect",
        choices=[a.value for a in AspectPrior],
        default="id1",
        help="shape prior: id1 cards (default), a4 documents, any quad",
    )
    detect.set_defaults(handler=_run_detect)


def detect_record(path: str, layouts: CardLayouts, aspect: AspectPrior) -> dict[str, Any]:
    """Find and recognise the card in one image, as the ``ekyc detect`` JSON object.

    Corners are in the input image's pixels after EXIF orientation. A My Number card's back
    is reported with ``error.code == "step_not_allowed"``; its pixels go nowhere.
    """
    from ekyc.capture.decode import decode_image
    from ekyc.capture.quality import assess_quality
    from ekyc.detect import estimate_tilt, find_card, refuse_my_number_back

    record: dict[str, Any] = {
        "path": path, "found": False, "corners": None, "score": 0.0,
        "document_type": "unknown", "side": "unknown", "tilt_deg": None,
        "thickness_visible": None, "quality": {}, "error": None,
    }  # fmt: skip
    try:
        frame = decode_image(path)
    except EkycError as exc:
        return record | {"error": exc.to_dict()}
    detection = find_card(frame, layouts, aspect)
    if detection is None:
        return record | {"quality": checks_json(assess_quality(frame))}
    tilt = estimate_tilt(detection.quad, (frame.width, frame.height), frame.metadata,
                         image=frame.image)  # fmt: skip
    doc = detection.document_type
    record |= {
        "found": True,
        "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in detection.quad.corners],
        "score": round(detection.quad.score, 4),
        "document_type": "unknown"
        if doc is None
        else doc.value
        if doc.accepted
        else "not_accepted",
        "side": detection.side.value,
        "tilt_deg": round(tilt.tilt_deg, 2),
        "thickness_visible": tilt.thickness_visible,
        "cut_by_border": detection.cut_by_border,
        "quality": checks_json(assess_quality(frame, region=detection.quad)),
    }
    try:
        refuse_my_number_back(detection)
    except StepNotAllowed as exc:
        record["error"] = exc.to_dict()
    return record


def _run_detect(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.detect import CardLayouts
    from ekyc.registry import Registry

    layouts = CardLayouts.from_registry(Registry.from_manifest())  # once for every image
    status = EXIT_OK
    for path in args.images:
        record = detect_record(path, layouts, AspectPrior(args.aspect))
        if record["error"] is not None:
            status = max(status, EXIT_DATAERR)
        elif not record["found"]:
            status = max(status, EXIT_FAIL)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return status
