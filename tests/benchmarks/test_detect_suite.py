"""``ekyc bench detect``: the summary and confusion matrices agree with the per-scene records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import detect
from benchmarks.bench import main as bench_main


def _scene(kind="front", genuine=True, in_frame=True, **figures):
    base = {
        "kind": kind,
        "genuine": genuine,
        "in_frame": in_frame,
        "tilt_true_deg": 40.0,
        "truth": "drivers_license/front",
        "ms_find_quad": 10.0,
        "detected": True,
    }
    return base | figures


SCENES = [
    _scene(
        iou=1.0,
        corner_err_pct=0.1,
        cut_by_border=False,
        tilt_passed=False,
        predicted="drivers_license/front",
        predicted_true_corners="drivers_license/front",
    ),
    _scene(
        kind="tilt",
        iou=0.8,
        corner_err_pct=0.3,
        cut_by_border=False,
        tilt_deg=43.0,
        tilt_deg_true_corners=41.0,
        thick=True,
        thick_true_corners=True,
        tilt_passed=True,
        predicted="unknown",
        predicted_true_corners="drivers_license/front",
    ),
    _scene(
        detected=False,
        truth="residence_card/back",
        tilt_passed=False,
        predicted="not found",
        predicted_true_corners="residence_card/back",
    ),
    _scene(
        kind="screen",
        genuine=False,
        iou=0.9,
        corner_err_pct=1.0,
        cut_by_border=False,
        thick_true_corners=False,
        tilt_passed=False,
    ),
    _scene(in_frame=False, iou=0.5, corner_err_pct=9.0, cut_by_border=True),
]


def test_summary_known_values():
    s = detect.summarise(SCENES)
    assert s["genuine_detection_rate"] == pytest.approx(2 / 3)
    assert s["genuine_mean_iou"] == pytest.approx(0.9)
    assert s["genuine_median_corner_err_pct"] == pytest.approx(0.2)
    assert s["tilt_mae_deg"] == pytest.approx(3.0)
    assert s["tilt_mae_deg_true_corners"] == pytest.approx(1.0)
    assert s["flat_rejected"] == 1.0
    assert s["cut_flagged_or_none"] == 1.0
    assert s["type_side_accuracy"] == pytest.approx(1 / 3)
    assert s["type_side_accuracy_true_corners"] == 1.0
    assert s["counts"] == {
        "scenes": 5,
        "in_frame_genuine": 3,
        "in_frame_attack": 1,
        "cut": 1,
        "tilt": 1,
    }


def test_seeded_ceiling_summary_known_values():
    ceiling = [(20.0, True, 5.0, False), (30.0, False, 9.0, True), (40.0, True, 7.0, False)]
    seeded = [
        SCENES[0]
        | {
            "cpu_ms_seeded": a,
            "seeded_confident": b,
            "cpu_ms_seeded_fast": c,
            "seeded_fast_kept": d,
        }
        for a, b, c, d in ceiling
    ]
    s = detect.summarise(SCENES + seeded)
    assert s["seeded_cpu_ms_median"] == 30.0
    assert s["seeded_confident_rate"] == pytest.approx(2 / 3)
    assert s["seeded_fast_cpu_ms_median"] == 7.0
    assert s["seeded_fast_kept_rate"] == pytest.approx(1 / 3)
    assert detect.summarise(SCENES)["seeded_cpu_ms_median"] is None


def test_confusion_counts_every_genuine_in_frame_scene_once():
    m = detect.confusion(SCENES, "predicted")
    assert m["rows"] == ["drivers_license/front", "residence_card/back"]
    assert m["columns"][-2:] == ["unknown", "not found"]
    counts = np.array(m["counts"])
    assert counts.sum() == 3
    assert counts[0, m["columns"].index("drivers_license/front")] == 1
    assert counts[0, m["columns"].index("unknown")] == 1
    assert counts[1, m["columns"].index("not found")] == 1


def _pair(same_card, same_detected, same_true, agree=True, read=True, doc="drivers_license"):
    pair = {
        "document_type": doc,
        "same_card": same_card,
        "same_detected": same_detected,
        "same_true_corners": same_true,
        "types_agree_detected": agree,
    }
    return pair | ({"similarity_detected": 0.5} if read else {})


def test_same_card_summary_known_values():
    pairs = [
        _pair(True, True, True),
        _pair(True, False, True, agree=False),
        _pair(True, False, True, agree=False, read=False),
        _pair(False, False, False),
        _pair(False, False, True),
        _pair(False, True, False),
        _pair(True, False, False, doc="health_insurance_card"),
        _pair(False, True, True, doc="health_insurance_card"),
    ]
    s = detect.summarise_same_card(pairs)
    # A health-insurance card (refused before any comparison) counts only in the first rows.
    assert s["same_card_accepted_method"] == pytest.approx(0.5)
    assert s["other_card_rejected_method"] == pytest.approx(2 / 3)
    pairs = pairs[:-2]
    s = detect.summarise_same_card(pairs)
    assert s["same_card_accepted"] == pytest.approx(0.5)
    assert s["other_card_rejected"] == pytest.approx(2 / 3)
    assert s["same_card_accepted_true_corners"] == 1.0
    assert s["other_card_rejected_true_corners"] == pytest.approx(2 / 3)
    assert s["same_card_unread"] == pytest.approx(1 / 3)
    assert s["same_card_types_disagree"] == pytest.approx(0.5)
    assert s["pairs"] == {"same_card": 3, "other_person": 3}
    assert detect.summarise_same_card([])["same_card_accepted"] is None


@pytest.mark.models
def test_detect_suite_figures_agree_with_its_scenes(tmp_path, capsys):
    out = tmp_path / "detect"
    argv = [
        "detect",
        "--synth",
        "10",
        "--seed",
        "777",
        "--same-card",
        "12",
        "--workers",
        "1",
        "--data",
        str(tmp_path / "no-data"),
        "--out",
        str(out),
    ]
    assert bench_main(argv) == 0
    result = json.loads((out / "results.json").read_text())["results"]["detect"]
    scenes, summary = result["scenes"], result["summary"]
    assert len(scenes) == 10
    assert summary == detect.summarise(scenes)  # recomputed from the per-scene records
    genuine = [s for s in scenes if s["in_frame"] and s["genuine"]]
    for key, matrix in result["confusion_type_side"].items():
        counts = np.array(matrix["counts"])
        assert counts.sum() == len(genuine) == summary["counts"]["in_frame_genuine"], key
        hits = sum(counts[i, matrix["columns"].index(t)] for i, t in enumerate(matrix["rows"]))
        acc_key = "type_side_accuracy" + ("_true_corners" if "true" in key else "")
        assert hits / counts.sum() == pytest.approx(summary[acc_key])
    for key, value in summary.items():
        if key.endswith(("rate", "accuracy", "corners", "rejected", "passing", "iou")) and value:
            assert 0.0 <= value <= 1.0, key
    assert result["smartdoc"] is None
    assert result["midv500"] == []
    same_card = result["same_card"]
    assert same_card["summary"] == detect.summarise_same_card(same_card["pairs"])
    text = (out / "report.md").read_text()
    assert text.startswith("# ekyc bench detect\n")
    assert "- machine: " in text
    assert "skipped: no metadata.csv" in text
    assert "skipped: no midv500_sample" in text
    assert "![type/side confusion](confusion_type_side.png)" in text


@pytest.mark.dataset
@pytest.mark.models
def test_midv500_rows_score_the_detected_quads(shared_data):
    """The real-data part: each MIDV-500 frame's quads scored against its ground truth."""
    if not (shared_data / "midv500_sample").is_dir():
        pytest.skip(f"MIDV-500 sample not found at {shared_data / 'midv500_sample'}")
    rows = detect.run_midv(shared_data)
    assert [r["frame"] for r in rows] == list(detect.MIDV_FRAMES)
    (row,) = rows
    assert row["size"] == [1080, 1920]  # portrait phone frame, as decoded for an upload
    for name in ("find_quad", "find_card"):
        scored = row[name]
        assert 0.0 <= scored["iou"] <= 1.0
        assert (scored["corner_error_pct"] is None) == (not scored["detected"])
        # The card on a cluttered desk, not a quad of desk lines around it (IoU 0.252 before
        # rank.claimable_area; 0.996 with it).
        assert scored["iou"] >= 0.95
        assert not scored["cut_by_border"]


def test_flats_by_kind_and_verdict_flips():
    read = {
        "predicted": "drivers_license/front",
        "predicted_true_corners": "drivers_license/front",
        "tilt_deg_true_corners": 40.0,
        "thick_true_corners": True,
    }
    scenes = [
        _scene(kind="screen", genuine=False, tilt_passed=False),
        _scene(kind="photocopy", genuine=False, tilt_passed=True),
        _scene(kind="photocopy", genuine=False, tilt_passed=False),
        _scene(
            kind="tilt", tilt_passed=True, **read, **{"thick_flips_0.05": 1, "thick_flips_0.3": 2}
        ),
        _scene(
            kind="tilt", tilt_passed=True, **read, **{"thick_flips_0.05": 0, "thick_flips_0.3": 0}
        ),
    ]
    s = detect.summarise(scenes)
    assert s["screen_rejected"] == 1.0
    assert s["photocopy_rejected"] == 0.5
    assert s["thickness_flip_scenes_0.05"] == 0.5
    assert s["thickness_flip_scenes_0.3"] == 0.5
