"""Refuse files over 1 MB: model weights and evaluation data never enter git.

Usage: python scripts/check_large_files.py FILE...   (no FILE: every file git tracks)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LIMIT_BYTES = 1_000_000
WEIGHT_SUFFIXES = {".onnx", ".dat", ".tflite", ".pt", ".pth", ".bin", ".safetensors"}


def offenders(paths: list[str]) -> list[str]:
    found = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            continue
        if path.stat().st_size > LIMIT_BYTES:
            found.append(f"{name}: {path.stat().st_size} bytes (limit {LIMIT_BYTES})")
        elif path.suffix in WEIGHT_SUFFIXES:
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
