"""``Verifier.screen_shot`` keeps the last few decoded shots for ``verify`` (``_Frames``)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from benchmarks.synth.applicant import make_applicant
from ekyc.config import DecodeLimits
from ekyc.errors import StepNotAllowed
from ekyc.pipeline import Verifier, _Frames
from ekyc.registry import Registry
from ekyc.types import CaptureMetadata, DocumentType, Frame
from tests.ekyc.detect.cards import card_scene, rgb


def _frame(i: int) -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), CaptureMetadata("PNG"), f"{i:064x}")


class TestFrames:
    def test_the_most_recent_few_are_kept_read_only(self):
        kept, limits = _Frames(2), DecodeLimits(max_side=2048)
        frames = [_frame(i) for i in range(3)]
        for frame in frames:
            kept.put(frame, limits)
        assert len(kept) == 2
        key = kept._key(frames[0].source_sha256, limits)
        assert key not in kept._frames
        assert kept._frames[kept._key(frames[2].source_sha256, limits)] is frames[2]
        with pytest.raises(ValueError, match="read-only"):
            frames[2].image[0, 0, 0] = 1

    def test_a_frame_is_found_by_its_bytes_under_the_same_pixel_limits_only(self):
        import hashlib

        data = b"the bytes of a shot"
        frame = Frame(np.zeros((4, 4, 3), np.uint8), CaptureMetadata("JPEG"),
                      hashlib.sha256(data).hexdigest())  # fmt: skip
        kept, limits = _Frames(2), DecodeLimits(max_side=2048)
        kept.put(frame, limits)
        assert kept.get(data, limits) is frame
        # Fewer formats decode the same pixels; another size does not.
        assert kept.get(data, DecodeLimits(max_side=2048, allowed_formats=frozenset({"JPEG"})))
        assert kept.get(data, DecodeLimits(max_side=1024)) is None
        assert kept.get(data + b"!", limits) is None

    def test_none_kept_with_size_zero(self):
        kept, limits = _Frames(0), DecodeLimits()
        kept.put(_frame(1), limits)
        assert len(kept) == 0


@functools.cache
def _verifier() -> Verifier:
    return Verifier.from_registry(Registry.from_manifest())


def _fresh() -> Verifier:
    of = _verifier()
    return Verifier(of.matcher, of.method, of.layouts, of.config, of.match_config,
                    reader=of.reader, passive=of.passive, proposer=of.proposer)  # fmt: skip


@pytest.mark.models
def test_screened_shots_are_not_decoded_again_and_give_the_same_verdict():
    person = make_applicant(7002, DocumentType.MY_NUMBER_CARD, challenge=False)
    plain_verdict, plain_frames = _fresh().verify_with_frames(person.document_type,
                                                              person.shots)  # fmt: skip
    pipeline = _fresh()
    seen = {name: pipeline.screen_shot(data, selfie=name == "selfie").frame
            for name, data in person.shots.items()}  # fmt: skip
    verdict, frames = pipeline.verify_with_frames(person.document_type, person.shots)
    assert all(frames[name] is seen[name] for name in person.shots)
    for name, frame in plain_frames.items():
        assert np.array_equal(frame.image, frames[name].image)
    verdicts = [plain_verdict.to_json(), verdict.to_json()]
    for one in verdicts:
        one.pop("timings_ms")
    assert verdicts[0] == verdicts[1]


@pytest.mark.models
def test_a_refused_my_number_back_is_not_kept():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb(card_scene("back", DocumentType.MY_NUMBER_CARD, 3))).save(buf, "JPEG")
    pipeline = _fresh()
    with pytest.raises(StepNotAllowed):
        pipeline.screen_shot(buf.getvalue())
    assert len(pipeline._frames) == 0
