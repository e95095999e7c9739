"""What machine a benchmark ran on: every report starts with it (compare ratios within a run)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "opencv-contrib-python-headless", "onnxruntime", "pillow", "mediapipe")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def providers() -> list[str]:
    """onnxruntime execution providers installed here."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def git_revision() -> str:
    """Short HEAD, with ``+dirty`` when tracked files differ from it (figures may not be HEAD's)."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
                             capture_output=True, text=True, check=True, cwd=here)  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
                               capture_output=True, text=True, check=True, cwd=here)  # fmt: skip
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, object]:
    """CPU, cores, load, providers, OpenBLAS threads, package versions, git revision, date."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    from ekyc.blas import blas_threads

    return {
        "cpu": cpu_model(),
        "cores": cores(),
        "load_average_1m": round(load[0], 2),
        "providers": providers(),
        "python": platform.python_version(),
        "blas_threads": blas_threads(),
        "packages": versions,
        "git_revision": git_revision(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }


def header_lines(info: dict[str, object] | None = None) -> list[str]:
    """The machine as Markdown bullet lines."""
    info = info or machine_info()
    packages = ", ".join(f"{k} {v}" for k, v in dict(info["packages"]).items() if v)  # type: ignore[call-overload]
    return [
        f"- machine: {info['cpu']}, {info['cores']} cores, load {info['load_average_1m']} "
        f"when the run started",
        f"- providers: {', '.join(info['providers']) or 'none'}; Python {info['python']}; "  # type: ignore[arg-type]
        f"OpenBLAS threads {info.get('blas_threads')}",
        f"- packages: {packages}",
        f"- git {info['git_revision']}, {info['date']}",
    ]
