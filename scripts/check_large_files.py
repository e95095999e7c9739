"""Refuse files over 1 MB, and model weights: they and evaluation data never enter git.

One exception: a small model the project trained itself on hardware that setup does not have
(``card-corners/cornernet-s@1``: 4 minutes on a GPU, and its any-size graph), which
``models/manifest.toml`` lists with a plain path beside it, its training script as ``source``
and its sha256 (``models.prepare`` checks it and never rebuilds it). It is still refused over
1 MB.

Usage: python scripts/check_large_files.py FILE...   (no FILE: every file git tracks)
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

LIMIT_BYTES = 1_000_000
WEIGHT_SUFFIXES = {".onnx", ".dat", ".tflite", ".pt", ".pth", ".bin", ".safetensors"}


MANIFEST = Path("models/manifest.toml")


def trained_here(manifest: Path = MANIFEST) -> set[Path]:
    """Model files committed beside the manifest and made by one of the project's scripts."""
    if not manifest.is_file():
        return set()
    entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("model", [])
    return {
        (manifest.parent / entry["file"]).resolve()
        for entry in entries
        if ":" not in entry.get("file", ":")
        and str(entry.get("source", "")).startswith("models/")
        and entry.get("sha256")
    }


def offenders(paths: list[str]) -> list[str]:
    found = []
    allowed = trained_here()
    for name in paths:
        path = Path(name)
        if not path.is_file():
            continue
        if path.stat().st_size > LIMIT_BYTES:
            found.append(f"{name}: {path.stat().st_size} bytes (limit {LIMIT_BYTES})")
        elif path.suffix in WEIGHT_SUFFIXES and path.resolve() not in allowed:
            found.append(f"{name}: model weights belong in models/build/, not git")
    return found


def main(argv: list[str]) -> int:
    if not argv:
        git = ["git", "ls-files"]
        argv = subprocess.run(git, capture_output=True, text=True, check=True).stdout.split("\n")
    bad = offenders([p for p in argv if p])
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
