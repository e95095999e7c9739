"""``benchmarks.verify_rates --screened``: shots retaken as the daemon asks on arrival."""

from __future__ import annotations

import pytest

from benchmarks.synth.applicant import make_applicant
from benchmarks.verify_rates import _DaemonScreen
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.types import DocumentType
from ekyc.verdict import Decision
from loanflow.ekyc_session import JUDGED_RETAKES

pytestmark = [pytest.mark.models, pytest.mark.slow]


def test_a_flat_copy_is_asked_again_at_most_the_daemons_judged_retakes():
    # The photocopy never shows thickness: its tilted step is asked again JUDGED_RETAKES
    # times, then kept, and the verification still rejects it. The genuine steps are kept.
    doc = DocumentType.DRIVERS_LICENSE
    # Its own verifier: the shared one keeps screened shots, which verify then reuses (an
    # evidence test of applicant 7000 expects its own front.detect timing).
    verifier = Verifier.from_registry(Registry.from_manifest())
    screen = _DaemonScreen(verifier, doc)
    person = make_applicant(7000, doc, impostor="flat_copy", screen=screen)
    assert screen.judged["tilt"] == JUDGED_RETAKES
    assert screen.judged["front"] <= JUDGED_RETAKES
    assert sum(screen.retakes[c] for c in ("TILT_NOT_SHOWN", "FLAT_REPRODUCTION")) >= 1
    assert screen.gave_up(person.shots) == 0
    assert "selfie" in screen.kept  # the selfie went through the daemon's screen too
    verdict = verifier.verify(doc, person.shots)
    assert verdict.decision is Decision.REJECT


def test_without_a_screen_the_shots_are_the_same_bytes():
    # The hook changes nothing for the unscreened benchmark: same renders, same order.
    doc = DocumentType.RESIDENCE_CARD
    plain = make_applicant(7001, doc, challenge=False)
    keep_all = make_applicant(7001, doc, challenge=False, screen=lambda step, data: True)
    assert plain.shots == keep_all.shots


def test_a_challenge_retake_is_a_new_challenge_performed_by_the_same_face():
    # What verify_rates --screened renders when the daemon asks for the challenge again: a
    # new challenge and recording (the astronaut: one photo, so the same rest pose), its
    # first frame the new selfie; the card shots are the same bytes.
    from benchmarks.synth.applicant import retake_challenge
    from tests.ekyc.test_pipeline import applicant

    person = applicant(7000, DocumentType.DRIVERS_LICENSE)
    again = retake_challenge(person, 7000, 1)
    assert person.challenge is not None
    assert again.challenge is not None
    assert again.frames is not None
    assert again.challenge.nonce != person.challenge.nonce
    assert again.frames.nonce == again.challenge.nonce
    assert again.now is not None
    assert person.now is not None
    assert again.now > person.now
    assert again.shots["selfie"] != person.shots["selfie"]
    assert {k: v for k, v in again.shots.items() if k != "selfie"} == {
        k: v for k, v in person.shots.items() if k != "selfie"
    }
