"""The active check's "same face throughout": one batched embedding call, the same verdict.

Stub detector, embedder and comparison (no model): each frame is a flat 112 px image whose
grey level stands for the person, its face at the ArcFace template's own points, so the
aligned crop is the frame itself and the stub descriptor is that grey level.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ekyc.liveness import ActiveConfig
from ekyc.liveness.active import _same_face
from ekyc.match import TEMPLATES
from ekyc.types import Embedding, FaceDetection, ModelRef

_REF = ModelRef("face-embed/stub@1", "0" * 64)
_POINTS = TEMPLATES["arcface-5pt-112"].points.astype(np.float32)


class _Detector:
    def detect(self, image: np.ndarray) -> tuple[FaceDetection, ...]:
        if not image.any():
            return ()  # a black frame: no face
        box = np.array([20, 20, 72, 80], np.float32)
        return (FaceDetection(box, _POINTS.copy(), 0.9),)


@dataclass
class _Embedder:
    template: str = "arcface-5pt-112"
    metric: str = "cosine"
    model: ModelRef = _REF

    def __post_init__(self) -> None:
        self.calls: list[list[float]] = []  # per call, the grey level of each crop

    def embed(self, crops):
        self.calls.append([float(c.mean()) for c in crops])
        return tuple(Embedding(np.array([c.mean()], np.float32), _REF) for c in crops)


class _Matcher:
    def __init__(self) -> None:
        self.detector = _Detector()
        self.embedder = _Embedder()

    def compare(self, a: Embedding, b: Embedding) -> SimpleNamespace:
        return SimpleNamespace(match=abs(float(a.vector[0] - b.vector[0])) < 2.0)


def _frames(*levels: int) -> list[np.ndarray]:
    return [np.full((112, 112, 3), level, np.uint8) for level in levels]


CFG = ActiveConfig(embed_every=1, max_embeddings=6)


def test_one_person_one_batch():
    matcher = _Matcher()
    assert _same_face(_frames(100, 100, 101, 100, 99, 100), matcher, CFG)
    assert matcher.embedder.calls == [[100, 100, 101, 100, 99, 100]]  # one call, every face


def test_a_second_person_is_caught():
    matcher = _Matcher()
    assert not _same_face(_frames(100, 100, 100, 180, 180, 180), matcher, CFG)
    assert matcher.embedder.calls == [[100, 100, 100, 180, 180, 180]]


def test_frames_without_a_face_are_skipped():
    matcher = _Matcher()
    assert not _same_face(_frames(100, 0, 0, 180), matcher, CFG)
    assert matcher.embedder.calls == [[100, 180]]
    one = _Matcher()
    assert _same_face(_frames(100, 0, 0, 0), one, CFG)  # too few faces: NO_FACE judges
    assert one.embedder.calls == []


def test_frames_are_sampled_as_before():
    matcher = _Matcher()
    # 12 frames, every 3rd (embed_every; max_embeddings 6 would allow every 2nd): 0, 3, 6, 9
    assert not _same_face(_frames(*range(100, 112)), matcher, ActiveConfig())
    assert matcher.embedder.calls == [[100, 103, 106, 109]]
