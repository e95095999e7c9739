"""Build every ``build:`` model of the manifest and check it against its sha256.

Files committed beside the manifest (a plain path: the fitted fusion files, the trained
card-corner model) are only checked; ``models/train_corners.py`` retrains the latter.

Run by ``scripts/setup.sh``. A model whose file already matches is left alone; one that is
missing or differs is rebuilt by the conversion module its entry names (``convert = ...``,
a module with a ``convert(src, out, **options)`` function), and setup fails loudly if the
rebuilt file still differs from the manifest. The source file is the entry's ``from``
(``package:resource`` or a path beside the manifest) or else the module's
``default_dat_path()``; ``convert_options`` (a table) become keyword arguments. A module
whose source data is absent returns None and the model is reported as skipped, not built.

    python -m models.prepare [--manifest models/manifest.toml]

When a run builds every model from nothing (a fresh clone: CI's setup) at a commit with a
clean working tree, it leaves ``build/fresh-build.json`` naming that commit: the test that
rebuilds everything into a temporary folder then has nothing to add at that commit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from ekyc.errors import ChecksumMismatch, ModelNotFound
from ekyc.registry import Registry, default_manifest_path, resolve_location


def _source_path(location: str, manifest_dir: Path) -> Path:
    """``package:resource`` inside an installed package (not imported), or a local path."""
    path = resolve_location(location, manifest_dir, manifest_dir / "build")
    if not path.is_file():
        raise SystemExit(f"{location} is not there ({path}): is its package installed?")
    return path


def prepare(registry: Registry, manifest_dir: Path | None = None) -> list[str]:
    """Build what is missing; returns one status line per built model."""
    manifest_dir = manifest_dir or default_manifest_path().parent
    lines = []
    for spec in registry.specs:
        if ":" not in spec.file:  # committed beside the manifest: checked, never rebuilt
            registry.path(spec.id)  # raises ChecksumMismatch / ModelNotFound
            lines.append(f"checked  {spec.id} ({spec.sha256[:12]})")
            continue
        if not spec.file.startswith("build:"):
            continue
        try:
            registry.path(spec.id)
            lines.append(f"ok       {spec.id} ({spec.sha256[:12]})")
            continue
        except (ModelNotFound, ChecksumMismatch):
            pass
        module_name = spec.extra.get("convert")
        if not module_name:
            raise SystemExit(f"{spec.id}: no 'convert' module named in the manifest")
        module = importlib.import_module(str(module_name))
        source = spec.extra.get("from")
        src = _source_path(str(source), manifest_dir) if source else module.default_dat_path()
        options = dict(spec.extra.get("convert_options", {}))
        result = module.convert(src, registry.locate(spec.id), **options)
        if result is None:  # its source data is absent (e.g. models.train_pad without data)
            lines.append(f"skipped  {spec.id} (source absent: loading it raises ModelNotFound)")
            continue
        registry.path(spec.id)  # raises ChecksumMismatch if the build is not reproducible
        lines.append(f"built    {spec.id} ({result.sha256[:12]}, {result.elapsed_s:.1f} s)")
    return lines


FRESH_STAMP = "fresh-build.json"


def git_state(repo: Path) -> tuple[str, bool] | None:
    """(HEAD commit, working tree clean) of the checkout holding ``repo``; None outside git."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        head, status = (
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [git, "-C", str(repo), *args], capture_output=True, text=True, check=True
            ).stdout.strip()
            for args in (["rev-parse", "HEAD"], ["status", "--porcelain"])
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return head, not status


def record_fresh_build(lines: list[str], manifest_dir: Path, build_dir: Path) -> bool:
    """Leave the stamp when nothing was already there and the tree is a clean commit."""
    state = git_state(manifest_dir)
    fresh = any(line.startswith("built") for line in lines) and not any(
        line.startswith("ok") for line in lines
    )
    if state is None or not state[1] or not fresh:
        return False
    stamp = {"commit": state[0], "lines": lines}
    (build_dir / FRESH_STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.prepare", description=__doc__)
    parser.add_argument("--manifest", type=Path, default=default_manifest_path())
    args = parser.parse_args(argv)
    try:
        lines = prepare(Registry.from_manifest(args.manifest), args.manifest.parent)
    except ChecksumMismatch as exc:
        print(f"models: {exc.message}: {exc.context}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"models: {line}", file=sys.stderr)
    record_fresh_build(lines, args.manifest.parent, args.manifest.parent / "build")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
