"""``ekyc bench soak``: RSS sampled along the verifications, its slope per 1,000."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.bench import SUITES
from benchmarks.bench import main as bench_main
from benchmarks.soak import slope_per_1000
from ekyc.cli import bench as cli_bench


def test_ekyc_bench_offers_every_suite():
    # `ekyc bench soak` is in the README: the CLI's list once lacked it.
    assert cli_bench.SUITES == SUITES


def test_slope_is_megabytes_per_thousand_verifications():
    runs = [0, 10, 20, 30]
    assert slope_per_1000(runs, [100.0, 100.5, 101.0, 101.5]) == pytest.approx(50.0)
    assert slope_per_1000(runs, [100.0] * 4) == pytest.approx(0.0)
    assert math.isnan(slope_per_1000([0], [100.0]))


@pytest.mark.models
@pytest.mark.slow
def test_soak_suite_samples_every_n_runs(tmp_path):
    out = tmp_path / "soak"
    argv = ["soak", "--runs", "4", "--every", "2", "--applicants", "1", "--size", "960x720",
            "--out", str(out)]  # fmt: skip
    assert bench_main(argv) == 0
    result = json.loads((out / "results.json").read_text())["results"]["soak"]
    assert result["runs_done"] == [0, 2, 4]
    assert len(result["rss_mb"]) == 3
    assert all(mb > 0 for mb in result["rss_mb"])
    assert sum(result["decisions"].values()) == 4
    assert math.isfinite(result["slope_mb_per_1000"])
    assert (out / "soak_rss.png").is_file()
