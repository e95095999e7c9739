from __future__ import annotations

import pytest

from benchmarks import shake
from benchmarks.synth.geometry import tilt_deg
from ekyc.types import TiltCheck


@pytest.mark.parametrize("kind", ["screen", "photocopy"])
def test_the_flats_are_drawn_inside_the_accepted_tilt(kind):
    # The band is judged only in 30-60 degrees: a flat under 30 would say nothing.
    for index in range(3):
        assert tilt_deg(shake.scene_spec(kind, 39600, index).pose) >= 30.0


def _check(tilt, thick, blurred):
    return TiltCheck(tilt, 30.0, 60.0, thick, 3.0 if thick else 0.0, "exif", blurred)


def test_outcomes_and_their_table():
    rows = [
        {"length": 6.0, "direction": "across", "true": shake.outcome(_check(33, True, False))},
        {"length": 6.0, "direction": "across", "true": shake.outcome(_check(33, False, True))},
        {"length": 6.0, "direction": "across", "true": shake.outcome(_check(33, False, False))},
        {"length": 6.0, "direction": "along", "true": shake.outcome(_check(25, False, True))},
    ]
    assert [r["true"] for r in rows] == ["pass", "hold still", "flat", "out of band"]
    assert shake.tabulate(rows, "true") == [
        [6.0, "across", 3, 1, 1, 1, 0],
        [6.0, "along", 1, 0, 0, 0, 1],
    ]
    assert shake.tabulate(rows, "detected") == []
