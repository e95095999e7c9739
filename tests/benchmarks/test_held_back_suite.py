"""``ekyc bench held_back``: My Number backs held up in selfies, and selfies without one."""

from __future__ import annotations

import json

import pytest

from benchmarks.bench import main as bench_main
from tests.ekyc.test_pipeline import HELD_BACK_SEEDS


@pytest.mark.models
@pytest.mark.slow
def test_held_back_suite_counts_refusals_per_placement(tmp_path):
    out = tmp_path / "held_back"
    # One seed where the whole frame misses the card held at the chest: the windows find it.
    argv = ["held_back", "--n", "1", "--seed", str(HELD_BACK_SEEDS[0]), "--out", str(out)]
    assert bench_main(argv) == 0
    result = json.loads((out / "results.json").read_text())["results"]["held_back"]
    assert set(result) == {"chest", "beside_face", "no_card", "cpu_ms_no_card"}
    chest = result["chest"]
    assert chest["n"] == 1
    assert chest["whole_frame_refused"] == 0.0
    assert chest["refused"] == 1.0
    assert result["no_card"] == {"n": 1, "whole_frame_refused": 0.0, "refused": 0.0}
    assert result["cpu_ms_no_card"]["windows"] > 0.0
    assert "refused, with windows" in (out / "report.md").read_text()
