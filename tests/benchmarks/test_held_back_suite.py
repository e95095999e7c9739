"""``ekyc bench held_back``: My Number backs held up in selfies, and selfies without one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.bench import main as bench_main
from benchmarks.held_back import _card, _hide
from benchmarks.synth.held_card import hide_code
from ekyc.types import DocumentType, Side
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


def test_the_stress_renders_hide_the_code_and_nothing_else():
    # A card 428 px wide (5 px/mm) held square at (100, 100): its code's modules span
    # 70.5 +- 8.2 mm across, 26.5 +- 8.2 mm down.
    frame = np.zeros((500, 600, 3), np.uint8)
    corners = np.array([[100, 100], [528, 100], [528, 369.9], [100, 369.9]], np.float64)
    centre, right, far = (452, 232), (487, 232), (200, 300)
    glared = hide_code(frame, corners, "glare", 1.4)
    assert glared[centre[1], centre[0]].min() >= 245  # white over the code
    assert glared[far[1], far[0]].max() == 0  # the rest of the frame as it was
    thumb = hide_code(frame, corners, "thumb", 0.5)
    assert thumb[right[1], right[0]].min() > 100  # skin over the code's right half
    assert thumb[232, 420].max() == 0  # its left half shows
    assert thumb[far[1], far[0]].max() == 0
    assert _hide("thumb:0.5") == ("thumb", 0.5)
    assert _hide(None) is None
    with pytest.raises(ValueError, match="--hide must be"):
        _hide("finger:1")


def test_another_card_can_be_held_to_count_false_refusals():
    assert _card("my_number_card:back") == (DocumentType.MY_NUMBER_CARD, Side.BACK)
    assert _card("drivers_license:front") == (DocumentType.DRIVERS_LICENSE, Side.FRONT)
    with pytest.raises(ValueError, match="--card must be"):
        _card("licence:front")
