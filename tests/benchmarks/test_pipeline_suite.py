"""``ekyc bench pipeline``: per-stage figures agree with the samples they summarise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.bench import main as bench_main
from benchmarks.pipeline import PROFILE_PIECES


@pytest.mark.models
@pytest.mark.slow
def test_pipeline_suite_stage_figures_are_consistent(tmp_path, capsys):
    out = tmp_path / "pipeline"
    argv = ["pipeline", "--applicants", "1", "--rounds", "2", "--size", "1280x960",
            "--threads", "1,2", "--workers", "1", "--jobs", "1", "--profile", "1",
            "--out", str(out)]  # fmt: skip
    assert bench_main(argv) == 0
    result = json.loads((out / "results.json").read_text())["results"]["pipeline"]
    # --profile: each piece's CPU is part of the verification's (cumulative, one thread).
    profiled = result["profile_cpu_ms"]
    assert set(profiled) == set(PROFILE_PIECES)
    assert result["profile_runs"] == 1
    whole = profiled["verify"]
    for piece in ("decode", "find_card, every call", "selfie held-back windows",
                  "selfie gate screens (whole + windows)", "rough layout reads, every call",
                  "ranked candidate quads, every call", "working images, every call",
                  "three-sided quads, every call", "capture quality",
                  "face detection (selfie, portraits)"):  # fmt: skip
        assert 0 < profiled[piece] < whole, piece
    # The gate's screens hold the windows' (the whole frame's screen besides them).
    assert (
        profiled["selfie gate screens (whole + windows)"]
        > 0.5 * profiled["selfie held-back windows"]
    )
    assert all(0 <= ms <= whole for ms in profiled.values()), profiled
    totals = np.array(result["total_ms_samples"])
    assert len(totals) == 2  # applicants x rounds
    assert sum(result["decisions"].values()) == 2
    stages = result["stage_ms"]
    assert {"decode", "front"} <= set(stages), sorted(stages)
    for name, values in stages.items():
        assert len(values) == 2, name
        assert result["stage_mean_ms"][name] == pytest.approx(np.mean(values))
        assert result["stage_p50_ms"][name] <= result["stage_p95_ms"][name] <= max(values)
    # On one thread the stages are parts of one verification: per run they add up to at
    # most its total (on two they overlap).
    per_run = np.sum(list(stages.values()), axis=0)  # one applicant: same stages each run
    assert np.all(per_run <= totals * 1.01)
    assert result["throughput_per_s"]["1"] > 0
    assert len(result["cpu_ms_samples"]) == 2
    assert set(result["by_threads"]) == {"1", "2"}
    assert len(result["by_threads"]["2"]["cpu_ms_samples"]) == 2
    text = (out / "report.md").read_text()
    assert "![per-stage latency histograms](pipeline_stages.png)" in text
    assert "| stage | mean ms | p50 ms | p95 ms | share |" in text
    assert "| piece | CPU ms per verification | share of verify |" in text


@pytest.mark.models
@pytest.mark.slow
def test_pipeline_suite_screened_times_the_finish_with_the_same_decisions(tmp_path):
    # --screened: every shot goes through screen_shot first (untimed), as in the daemon;
    # verify then reuses the cards found and must decide exactly as without.
    results = {}
    for name, extra in (("plain", []), ("screened", ["--screened"])):
        out = tmp_path / name
        argv = ["pipeline", "--applicants", "2", "--rounds", "1", "--size", "1280x720",
                "--threads", "2", "--workers", "1", "--jobs", "1", "--out", str(out)]  # fmt: skip
        argv += extra
        assert bench_main(argv) == 0
        results[name] = json.loads((out / "results.json").read_text())["results"]["pipeline"]
    assert results["plain"]["screened"] is False
    assert results["screened"]["screened"] is True
    assert results["screened"]["decisions"] == results["plain"]["decisions"]
    assert sum(results["screened"]["decisions"].values()) == 2
