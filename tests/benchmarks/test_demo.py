"""The README's main job: a genuine applicant and an impostor, both verified."""

from __future__ import annotations

import json

import pytest

from benchmarks.demo import main


@pytest.mark.models
def test_demo_verifies_a_genuine_applicant_and_an_impostor(capsys, tmp_path):
    assert main(["--json", "--data", str(tmp_path / "no-data"), "--out", str(tmp_path)]) == 0
    genuine, impostor = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert genuine["applicant"] == "applicant-genuine"
    assert impostor["applicant"] == "applicant-impostor"
    # Without shared data both faces are the astronaut: the impostor shows another card.
    # (The card portrait and the selfie are then the same photo, SFace cosine ~0.90, over
    # portrait_reused's 0.85; the challenge passed and the passive check read no print, so
    # the similarity alone does not call it SELFIE_IS_CARD_PORTRAIT: issue #7.)
    assert impostor["decision"] == "reject"
    assert impostor["reasons"]
    assert "FACE_MISMATCH" not in [r["code"] for r in genuine["reasons"]]
    assert "SELFIE_IS_CARD_PORTRAIT" not in [r["code"] for r in genuine["reasons"]]
    assert genuine["checks"]["liveness"]["card_portrait_shown_live"] is True
    assert (tmp_path / "applicant-genuine" / "evidence" / "verdict.json").is_file()
