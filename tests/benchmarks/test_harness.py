"""The benchmark harness: timing statistics, the report files, the suite dispatcher."""

from __future__ import annotations

import json

import pytest

from benchmarks.bench import main as bench_main
from benchmarks.machine import machine_info
from benchmarks.report import Report
from benchmarks.timing import summarise, time_call
from ekyc.cli import main as ekyc_main


def test_summarise_known_values():
    timing = summarise([10.0] * 19 + [1000.0])  # one outlier beyond 3 sigma is dropped
    assert timing.mean_ms == 10.0
    assert timing.std_ms == 0.0
    assert timing.p50_ms == 10.0
    assert timing.p95_ms == 10.0
    assert timing.runs == 20
    with pytest.raises(ValueError, match="no samples"):
        summarise([])


def test_time_call_counts_runs():
    calls = []
    timing = time_call(lambda: calls.append(1), warmup=2, runs=5)
    assert len(calls) == 7
    assert timing.runs == 5


def test_report_files(tmp_path):
    report = Report("test report")
    report.section("numbers", "what they are")
    report.table(["name", "value"], [["a", 1.23456], ["b", "x"]])
    report.results["figures"] = {"a": 1.23456}
    md, js = report.write(tmp_path)
    text = md.read_text()
    assert text.startswith("# test report\n")
    assert "- machine: " in text
    assert "| a | 1.235 |" in text
    payload = json.loads(js.read_text())
    assert payload["results"] == {"figures": {"a": 1.23456}}
    assert set(payload["machine"]) >= {"cpu", "cores", "providers", "packages", "git_revision"}


def test_machine_info_names_the_providers():
    assert "CPUExecutionProvider" in machine_info()["providers"]


def test_unknown_suite_is_a_usage_error(capsys):
    assert bench_main(["nonsense"]) == 64
    assert "usage: ekyc bench" in capsys.readouterr().err


@pytest.mark.models
def test_throughput_suite_writes_a_report_and_lists_failures_as_rows(tmp_path, capsys, monkeypatch):
    from ekyc.blas import blas_threads, set_blas_threads

    out = tmp_path / "tp"
    models = "face-embed/dlib-resnet-v1@1,face-embed/sface-2021dec-int8bq@1"
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = blas_threads()
    try:
        assert (
            bench_main(["throughput", "--batches", "1", "--models", models, "--out", str(out)]) == 0
        )
    finally:
        if before is not None:
            set_blas_threads(before)
    written = json.loads((out / "results.json").read_text())
    if before is not None:  # timed as the ekyc command and the daemon run: one OpenBLAS thread
        assert written["machine"]["blas_threads"] == 1
    results = written["results"]["throughput"]
    ok = results["face-embed/dlib-resnet-v1@1 on CPUExecutionProvider"]
    assert ok["1"] > 0
    assert results["face-embed/dlib-resnet-v1@1 on CPUExecutionProvider cpu"]["1"] > 0
    # The shipped int8bq SFace is refused by onnxruntime: a row with its error, no crash.
    assert "error" in results["face-embed/sface-2021dec-int8bq@1 on CPUExecutionProvider"]


def test_ekyc_bench_is_listed(capsys):
    with pytest.raises(SystemExit):
        ekyc_main(["bench", "--help"])
    assert "pipeline" in capsys.readouterr().out
