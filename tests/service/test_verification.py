"""service.verification: ekyc's pipeline as loanflow's Verifier, and stored recordings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ekyc.config import DecodeLimits
from ekyc.errors import CorruptImage, InputError, StepNotAllowed
from ekyc.types import DocumentType, ModelRef, Shot
from loanflow.verifier import Decision
from service.verification import PipelineVerifier, decode_recording
from tests.service.ekyc_journey import jpeg

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
SHOTS = {Shot.FRONT: b"f", Shot.TILT: b"t", Shot.SELFIE: b"s"}


class FakePipeline:
    """Records its call; answers a fixed verdict or raises."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls: list[tuple[Any, dict[str, bytes], dict[str, Any]]] = []

    def verify(self, document: Any, shots: dict[str, bytes], **kwargs: Any) -> Any:
        self.calls.append((document, shots, kwargs))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def verdict() -> SimpleNamespace:
    model = ModelRef("face-embed/x@1", "ab" * 32)
    return SimpleNamespace(
        decision=SimpleNamespace(value="review"),
        reasons=(SimpleNamespace(code=SimpleNamespace(value="LIVENESS_NOT_PROVEN")),),
        models=(model,),
        inputs_sha256={"front": "1" * 64, "selfie": "2" * 64},
        to_json=lambda: {"decision": "review"},
    )


class TestPipelineVerifier:
    def test_known_values(self):
        pipeline = FakePipeline(verdict())
        verifier = PipelineVerifier(pipeline, challenge=None, frames=None, now=NOW)  # type: ignore[arg-type]
        outcome = verifier.verify(DocumentType.MY_NUMBER_CARD, SHOTS)
        assert outcome.decision is Decision.REVIEW
        assert outcome.reasons == ("LIVENESS_NOT_PROVEN",)
        assert outcome.image_sha256 == {Shot.FRONT: "1" * 64, Shot.SELFIE: "2" * 64}
        assert verifier.verdict_json() == {"decision": "review"}
        document, shots, kwargs = pipeline.calls[0]
        assert document is DocumentType.MY_NUMBER_CARD
        assert set(shots) == {"front", "tilt", "selfie"}
        assert kwargs == {"challenge": None, "frames": None, "now": NOW}

    @pytest.mark.parametrize(
        "error", [CorruptImage("bad"), StepNotAllowed("no", reason="my_number_back")]
    )
    def test_exception(self, error: InputError):
        verifier = PipelineVerifier(FakePipeline(error), challenge=None, frames=None, now=NOW)  # type: ignore[arg-type]
        outcome = verifier.verify(DocumentType.MY_NUMBER_CARD, SHOTS)
        assert outcome.decision is Decision.REJECT
        assert outcome.reasons == (error.code,)
        assert verifier.verdict_json() is None


class TestDecodeRecording:
    def test_shapes(self):
        image = base64.b64encode(jpeg(320, 240)).decode("ascii")
        recording = {
            "nonce": "ab" * 16,
            "started_at": NOW.isoformat(),
            "frames": [{"t_ms": 0, "image": image}, {"t_ms": 120, "image": image}],
        }
        sequence = decode_recording(recording, DecodeLimits())
        assert sequence.nonce == "ab" * 16
        assert [f.t_ms for f in sequence.frames] == [0.0, 120.0]
        assert sequence.frames[0].image.shape == (240, 320, 3)

    def test_exception(self):
        recording = {"nonce": "ab" * 16, "started_at": NOW.isoformat(),
                     "frames": [{"t_ms": 0, "image": "not base64!"}]}  # fmt: skip
        with pytest.raises(InputError):
            decode_recording(recording, DecodeLimits())
