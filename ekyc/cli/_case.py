"""One verification case as files: what ``ekyc verify`` takes and ``ekyc review`` re-runs.

A case folder holds ``front.*``, ``tilt.*``, ``back.*`` (not for the My Number card),
``selfie.*``, optionally ``applicant.json``, ``challenge.json`` with a ``frames/`` folder,
and the stored ``verdict.json`` (its ``document`` field names the document type).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Case", "CaseError", "case_from_folder", "load_case"]

_SHOTS = ("front", "tilt", "back", "selfie")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".pdf")


class CaseError(Exception):
    """A case whose files cannot be used as given (a usage error, exit 64)."""


@dataclass(frozen=True, slots=True)
class Case:
    """Everything ``Verifier.verify`` needs for one case, loaded."""

    document: str
    shots: dict[str, str]
    kwargs: dict[str, Any] = field(default_factory=dict)


def load_case(document: str, shots: dict[str, str], *, applicant: str | None = None,
              challenge: str | None = None, frames: str | None = None) -> Case:  # fmt: skip
    """Read the optional files; a challenge is judged as of the time it was recorded."""
    kwargs: dict[str, Any] = {}
    if bool(challenge) != bool(frames):
        raise CaseError("--challenge and --frames go together")
    if challenge and frames:
        from ekyc.liveness import Challenge, read_sequence

        try:
            raw = json.loads(Path(challenge).read_text(encoding="utf-8"))
            kwargs["challenge"] = Challenge.from_dict(raw)
        except (OSError, ValueError) as exc:
            raise CaseError(f"bad challenge {challenge}: {exc}") from exc
        sequence = read_sequence(frames)
        kwargs["frames"] = sequence
        last_ms = max((f.t_ms for f in sequence.frames), default=0.0)
        kwargs["now"] = sequence.started_at + dt.timedelta(milliseconds=last_ms + 1)
    if applicant:
        from ekyc.read import Applicant

        try:
            kwargs["applicant"] = Applicant.from_json(Path(applicant).read_bytes())
        except OSError as exc:
            raise CaseError(f"cannot read {applicant}: {exc.strerror}") from exc
    return Case(document, shots, kwargs)


def case_from_folder(folder: Path) -> tuple[Case, dict[str, Any] | None]:
    """The case stored in ``folder`` and its stored verdict (None when there is none)."""
    stored_path = folder / "verdict.json"
    stored = None
    if stored_path.is_file():
        stored = json.loads(stored_path.read_text(encoding="utf-8"))
    document = (stored or {}).get("document")
    if not document:
        raise CaseError(f"{folder}: no verdict.json with a 'document' field")
    shots = {}
    for shot in _SHOTS:
        found = [p for p in sorted(folder.glob(f"{shot}.*")) if p.suffix.lower() in _IMAGE_SUFFIXES]
        if found:
            shots[shot] = str(found[0])
    optional = {name: folder / f"{name}.json" for name in ("applicant", "challenge")}
    frames = folder / "frames"
    case = load_case(
        document, shots,
        applicant=str(optional["applicant"]) if optional["applicant"].is_file() else None,
        challenge=str(optional["challenge"]) if optional["challenge"].is_file() else None,
        frames=str(frames) if frames.is_dir() else None,
    )  # fmt: skip
    return case, stored
