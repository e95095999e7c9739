"""What every model build writes, and how: atomically, with its sha256 (models.prepare reads it)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Conversion", "write_output"]


@dataclass(frozen=True, slots=True)
class Conversion:
    """What a conversion wrote: where, its sha256 and size, and how long it took."""

    path: Path
    sha256: str
    size_bytes: int
    elapsed_s: float


def write_output(out_path: Path, data: bytes, started: float) -> Conversion:
    """Write ``data`` via a temporary file and a rename, so a half-written model never exists.

    Args:
        out_path: The model file (parents are created).
        data: Its bytes.
        started: ``time.perf_counter()`` when the build began.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out_path)
    digest = hashlib.sha256(data).hexdigest()
    return Conversion(out_path, digest, len(data), time.perf_counter() - started)
