"""A benchmark report: Markdown for people, JSON with every figure, PNG plots beside them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.machine import header_lines, machine_info
from ekyc.blas import prefer_one_blas_thread


@dataclass
class Report:
    """Sections of tables and text; ``write`` puts report.md and results.json in a folder."""

    title: str
    machine: dict[str, object] = field(default_factory=machine_info)
    lines: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)

    def section(self, heading: str, text: str = "") -> None:
        self.lines += ["", f"## {heading}", ""]
        if text:
            self.lines += [text, ""]

    def table(self, header: list[str], rows: list[list[object]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "---|" * len(header))
        for row in rows:
            self.lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
        self.lines.append("")

    def text(self, text: str) -> None:
        self.lines += [text, ""]

    def plot(self, path: Path, caption: str) -> None:
        self.plots.append(path)
        self.lines += [f"![{caption}]({path.name})", ""]

    def markdown(self) -> str:
        return "\n".join([f"# {self.title}", "", *header_lines(self.machine), *self.lines]) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        md, js = out_dir / "report.md", out_dir / "results.json"
        md.write_text(self.markdown(), encoding="utf-8")
        payload = {"title": self.title, "machine": self.machine, "results": self.results}
        js.write_text(
            json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        return md, js


def suite_main(prog: str, doc: str | None,
               add_arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace, Report], None], title: str,
               argv: list[str] | None) -> int:  # fmt: skip
    """``python -m benchmarks.SUITE``: parse, run, print the report, write it with --out."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    add_arguments(parser)
    args = parser.parse_args(argv)
    prefer_one_blas_thread()  # as the ekyc command and the daemon run (ekyc.blas)
    report = Report(title)
    run(args, report)
    if args.out:
        report.write(args.out)
    sys.stdout.write(report.markdown())
    return 0


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def histogram(path: Path, samples: dict[str, list[float]], xlabel: str) -> Path:
    """One PNG with a latency histogram per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for name, values in samples.items():
        ax.hist(values, bins=30, alpha=0.55, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def histograms(path: Path, samples: dict[str, list[float]], xlabel: str, cols: int = 3) -> Path:
    """One PNG, one latency histogram panel per series (each on its own x scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = max(1, -(-len(samples) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), dpi=100, squeeze=False)
    for ax, (name, values) in zip(axes.ravel(), samples.items(), strict=False):
        ax.hist(values, bins=20, color="tab:blue", alpha=0.8)
        p50, p95 = np.percentile(values, [50, 95])
        ax.axvline(p50, color="black", lw=1, label=f"p50 {p50:.0f}")
        ax.axvline(p95, color="red", lw=1, ls="--", label=f"p95 {p95:.0f}")
        ax.set_title(f"{name} (n={len(values)})", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(samples) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
