"""Evidence a reviewer can look at: the shots with the found card and faces drawn on them.

Written only from shots that passed the document rules: ``verify`` refuses a My Number
card's back before it is decoded, so its pixels can never reach this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ekyc.detect.rectify import rectify
from ekyc.types import CardQuad, Frame, RGBImage
from ekyc.verdict import Verdict

__all__ = ["annotate_shot", "write_evidence"]

_GREEN, _RED, _BLUE = (40, 200, 60), (230, 40, 40), (40, 120, 230)


def annotate_shot(image: RGBImage, stage_checks: Mapping[str, Any]) -> RGBImage:
    """The shot with the card's quad (TL corner marked) and its verdict in the corner."""
    out = np.ascontiguousarray(image.copy())
    corners = stage_checks.get("corners")
    if corners:
        pts = np.round(np.asarray(corners, np.float64)).astype(np.int32)
        colour = _GREEN if not stage_checks.get("cut_by_border") else _RED
        cv2.polylines(out, [pts.reshape(-1, 1, 2)], True, colour, 3, cv2.LINE_AA)
        cv2.circle(out, (int(pts[0][0]), int(pts[0][1])), 9, _BLUE, -1, cv2.LINE_AA)
    label = f"{stage_checks.get('document_type')} {stage_checks.get('side', '')}"
    cv2.putText(
        out, label, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 4, cv2.LINE_AA
    )
    cv2.putText(out, label, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2, cv2.LINE_AA)
    return out


def _portrait_view(front: Frame, checks: Mapping[str, Any]) -> RGBImage | None:
    corners = checks.get("front", {}).get("corners")
    if not corners:
        return None
    card = rectify(front, CardQuad(np.asarray(corners, np.float32), 1.0), px_per_mm=10.0)
    out = np.ascontiguousarray(card.image.copy())
    box = checks.get("portrait", {}).get("box")
    if box:
        x, y, w, h = (round(float(v)) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), _GREEN, 2, cv2.LINE_AA)
    return out


def write_evidence(folder: Path, verdict: Verdict, frames: Mapping[str, Frame]) -> list[Path]:
    """Write ``verdict.json`` and ``annotated_*.jpg`` views of the card shots; returns paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "verdict.json"]
    written[0].write_text(
        json.dumps(verdict.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    views: dict[str, RGBImage | None] = {
        name: annotate_shot(frames[name].image, verdict.checks.get(name, {}))
        for name in ("front", "tilt", "back") if name in frames
    }  # fmt: skip
    if "front" in frames:
        views["card"] = _portrait_view(frames["front"], verdict.checks)
    for name, image in views.items():
        if image is None:
            continue
        path = folder / f"annotated_{name}.jpg"
        cv2.imwrite(
            str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88]
        )
        written.append(path)
    return written
