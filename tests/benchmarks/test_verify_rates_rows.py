"""``benchmarks.verify_rates``' per-applicant rows: what each decision was made on."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np

from benchmarks.synth.applicant import SyntheticApplicant
from benchmarks.synth.identity import make_identity
from benchmarks.verify_rates import _digests
from ekyc.liveness import TimedFrame
from ekyc.liveness.frames import FrameSequence
from ekyc.types import DocumentType


def _person(pixel: int) -> SyntheticApplicant:
    doc = DocumentType.MY_NUMBER_CARD
    frames = tuple(
        TimedFrame(40.0 * i, np.full((4, 6, 3), pixel if i == 2 else i, np.uint8)) for i in range(4)
    )
    started = dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)
    return SyntheticApplicant(
        document_type=doc,
        identity=make_identity(7000, doc),
        shots={"front": b"front", "tilt": b"tilt", "selfie": b"selfie"},
        impostor=None,
        frames=FrameSequence(nonce="n", started_at=started, frames=frames),
    )


def test_a_row_names_every_shot_and_the_recording_it_was_decided_on():
    # Two runs that disagree are compared applicant by applicant: the same digests mean
    # the same inputs (the difference is in the judging), others a changed render. Seen in
    # session 13: two trees' runs, an hour apart, taken for one tree's irreproducibility.
    row = _digests(_person(2))
    assert set(row) == {"front", "tilt", "selfie", "frames"}
    assert row == _digests(_person(2))
    assert row["tilt"] == hashlib.sha256(b"tilt").hexdigest()[:16]
    other = _digests(_person(3))  # one pixel value of one frame
    assert other["frames"] != row["frames"]
    assert {k: v for k, v in other.items() if k != "frames"} == {
        k: v for k, v in row.items() if k != "frames"
    }
