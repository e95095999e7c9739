"""Timing the way our benchmarks report it: warm-up, repeats, sigma clipping, mean +- std."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds per call after warm-up, outliers beyond 3 sigma dropped."""

    mean_ms: float
    std_ms: float
    p50_ms: float
    p95_ms: float
    runs: int

    def __str__(self) -> str:
        return f"{self.mean_ms:.1f}±{self.std_ms:.1f} ms"


def summarise(samples_ms: list[float], clip_sigma: float = 3.0) -> Timing:
    """Mean and spread of samples after dropping those beyond ``clip_sigma`` std once."""
    if not samples_ms:
        raise ValueError("no samples")
    kept = list(samples_ms)
    if len(kept) >= 5:
        mean, std = statistics.mean(kept), statistics.pstdev(kept)
        kept = [s for s in kept if abs(s - mean) <= clip_sigma * std] or kept
    ordered = sorted(samples_ms)
    return Timing(
        mean_ms=statistics.mean(kept),
        std_ms=statistics.pstdev(kept),
        p50_ms=ordered[len(ordered) // 2],
        p95_ms=ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        runs=len(samples_ms),
    )


def time_call(fn: Callable[[], object], *, warmup: int = 3, runs: int = 20,
              min_seconds: float = 0.0) -> Timing:  # fmt: skip
    """Time ``fn``: ``warmup`` untimed calls, then ``runs`` (or until ``min_seconds``)."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    start_all = time.perf_counter()
    while len(samples) < runs or time.perf_counter() - start_all < min_seconds:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return summarise(samples)
