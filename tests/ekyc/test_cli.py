from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ekyc.cli import EXIT_DATAERR, EXIT_FAIL, EXIT_OK, EXIT_USAGE, main
from tests.conftest import REPO


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory) -> tuple[int, str, Path]:
    """One ``ekyc demo --json --out DIR`` run: (exit status, its stdout, DIR). The samples it
    writes are ``write_samples``' (the demo's first step; ~3 s, most of it the HEIC encode),
    so the quality tests below read them instead of writing a second set."""
    folder = tmp_path_factory.mktemp("samples")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["demo", "--json", "--out", str(folder)])
    return status, out.getvalue(), folder


@pytest.fixture(scope="module")
def samples(demo_json):
    folder = demo_json[2]
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 9, names  # the demo's samples and nothing else
    return {name: folder / name for name in names}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ekyc.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_help_lists_the_subcommands():
    out = _run("--help")
    assert out.returncode == 0
    for command in ("quality", "demo", "match", "detect"):
        assert command in out.stdout


def test_usage_error_exit_status():
    assert _run().returncode == EXIT_USAGE
    assert _run("no-such-command").returncode == EXIT_USAGE


def test_quality_json_contract(samples):
    out = _run("quality", str(samples["front.jpg"]), "--json")
    assert out.returncode == EXIT_OK, out.stderr
    record = json.loads(out.stdout)
    assert record["path"] == str(samples["front.jpg"])
    assert record["passed"] is True
    assert record["error"] is None
    assert record["metadata"]["exif_orientation"] == 6
    assert record["metadata"]["focal_length_35mm"] == 26.0
    assert (record["width"], record["height"]) == (1280, 720)  # upright after EXIF rotation
    assert set(record["checks"]) >= {
        "sharpness",
        "underexposure",
        "overexposure",
        "glare",
        "noise",
        "resolution",
    }
    for check in record["checks"].values():
        assert set(check) == {"value", "threshold", "rule", "passed"}


@pytest.mark.parametrize(
    ("names", "status", "expect"),
    [
        (["front.jpg", "front.heic", "document.pdf"], EXIT_OK, [None, None, None]),
        (["blurred.jpg"], EXIT_FAIL, ["sharpness"]),
        (["dark.jpg"], EXIT_FAIL, ["underexposure"]),
        (["glare.jpg"], EXIT_FAIL, ["glare"]),
        (["truncated.jpg"], EXIT_DATAERR, ["corrupt_image"]),
        (["bomb.png"], EXIT_DATAERR, ["decompression_bomb"]),
        (["animation.gif"], EXIT_DATAERR, ["unsupported_format"]),
        (
            ["front.jpg", "bomb.png", "dark.jpg"],
            EXIT_DATAERR,
            [None, "decompression_bomb", "underexposure"],
        ),
    ],
)
def test_quality_outcomes(samples, capsys, names, status, expect):
    assert main(["quality", "--json", *(str(samples[n]) for n in names)]) == status
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == len(names)
    for record, expected in zip(records, expect, strict=True):
        if expected is None:
            assert record["passed"], record
        elif record["error"] is not None:
            assert record["error"]["code"] == expected
        else:
            assert expected in record["failures"]


def test_quality_text_output(samples, capsys):
    assert main(["quality", str(samples["dark.jpg"])]) == EXIT_FAIL
    text = capsys.readouterr().out
    assert "FAIL underexposure" in text


def test_demo_shows_every_sample(capsys):
    assert main(["demo"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    body = "\n".join(lines)
    assert "quality ok" in body
    for code in ("corrupt_image", "decompression_bomb", "unsupported_format"):
        assert code in body
    for failure in ("sharpness", "underexposure", "glare"):
        assert f"FAIL: {failure}" in body


def test_demo_json_lines(demo_json):
    status, stdout, folder = demo_json
    assert status == EXIT_OK
    records = [json.loads(line) for line in stdout.splitlines()]
    assert len(records) == 9
    assert all("sample" in r and "error" in r for r in records)
    assert (folder / "front.heic").is_file()


@pytest.fixture(scope="module")
def card_shots(tmp_path_factory):
    from PIL import Image

    from ekyc.types import DocumentType
    from tests.ekyc.detect.cards import card_scene, corners, rgb

    folder = tmp_path_factory.mktemp("cards")
    shots = {}
    for name, kind, doc in [
        ("licence.jpg", "front", DocumentType.DRIVERS_LICENSE),
        ("mynumber_back.jpg", "back", DocumentType.MY_NUMBER_CARD),
    ]:
        sc = card_scene(kind, doc, 3)
        Image.fromarray(rgb(sc)).save(folder / name, quality=92)
        shots[name] = (folder / name, corners(sc))
    return shots


DETECT_FIELDS = {
    "path",
    "found",
    "corners",
    "score",
    "document_type",
    "side",
    "tilt_deg",
    "thickness_visible",
    "quality",
    "error",
}


def test_detect_jsonl_contract(card_shots, samples, capsys):
    licence, truth = card_shots["licence.jpg"]
    status = main(["detect", "--jsonl", str(licence), str(samples["bomb.png"])])
    assert status == EXIT_DATAERR  # the bomb
    found, bomb = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert set(found) >= DETECT_FIELDS
    assert set(bomb) >= DETECT_FIELDS
    assert found["found"] is True
    assert found["error"] is None
    assert (found["document_type"], found["side"]) == ("drivers_license", "front")
    assert abs(np.array(found["corners"]) - truth).max() < 3.0  # upright order, pixels
    assert isinstance(found["tilt_deg"], float)
    assert isinstance(found["thickness_visible"], bool)
    assert "glare_in_region" in found["quality"]
    assert bomb["found"] is False
    assert bomb["error"]["code"] == "decompression_bomb"


def test_detect_refuses_a_my_number_back(card_shots, capsys):
    path, _ = card_shots["mynumber_back.jpg"]
    assert main(["detect", str(path)]) == EXIT_DATAERR
    record = json.loads(capsys.readouterr().out)
    assert (record["document_type"], record["side"]) == ("my_number_card", "back")
    assert record["error"]["code"] == "step_not_allowed"


def test_detect_aspect_flag(samples, capsys):
    assert main(["detect", "--aspect", "a4", str(samples["document.pdf"])]) in (EXIT_OK, EXIT_FAIL)
    record = json.loads(capsys.readouterr().out)
    assert record["document_type"] == "unknown"
    assert _run("detect", "--aspect", "letter", "x.jpg").returncode == EXIT_USAGE
