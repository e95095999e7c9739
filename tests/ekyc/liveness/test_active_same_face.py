"""The active check's face checks: "same face throughout" and "the selfie is in it".

Stub detector, embedder and comparison (no model): each frame is a 112 px image whose green
level stands for the person, its face at the ArcFace template's own points, so the aligned
crop is the frame itself and the stub descriptor is that level. A black image has no face.
Frames are flat; the selfie has a red ramp, so no frame is a near-copy of it (dhash).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ekyc.errors import NoFaceFound
from ekyc.liveness import ActiveConfig
from ekyc.liveness.active import _FrameFaces, _same_face, _selfie_in_sequence
from ekyc.match import TEMPLATES
from ekyc.types import Embedding, FaceDetection, ModelRef

_REF = ModelRef("face-embed/stub@1", "0" * 64)
_POINTS = TEMPLATES["arcface-5pt-112"].points.astype(np.float32)


class _Detector:
    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> tuple[FaceDetection, ...]:
        self.calls += 1
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
        self.calls.append([float(c[..., 1].mean()) for c in crops])
        return tuple(Embedding(np.array([c[..., 1].mean()], np.float32), _REF) for c in crops)


class _Matcher:
    def __init__(self) -> None:
        self.detector = _Detector()
        self.embedder = _Embedder()

    def embed_image(self, image: np.ndarray) -> Embedding:
        if not self.detector.detect(image):
            raise NoFaceFound("no face")
        return self.embedder.embed([image])[0]

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


def _selfie(level: int) -> np.ndarray:
    image = np.full((112, 112, 3), level, np.uint8)
    image[..., 0] = np.linspace(0, 255, 112, dtype=np.uint8)  # a ramp: unlike every frame
    return image


def test_the_selfie_check_reuses_the_frames_already_embedded():
    matcher = _Matcher()
    frames, cfg = _frames(*[100] * 12), ActiveConfig()
    faces = _FrameFaces(frames, matcher)
    assert _same_face(frames, matcher, cfg, faces)  # frames 0, 3, 6, 9
    assert _selfie_in_sequence(_selfie(100), frames, matcher, cfg, faces)
    # frame 0 was not found or embedded again: only the selfie was
    assert matcher.embedder.calls == [[100, 100, 100, 100], [100]]
    assert matcher.detector.calls == 4 + 1


def test_a_frame_without_a_face_is_passed_over():
    """It used to raise NoFaceFound out of the check (the daemon answered 422 no_face)."""
    frames = _frames(0, 0, 0, 100, 100, 100)
    cfg = ActiveConfig(embed_every=3)
    assert _selfie_in_sequence(_selfie(100), frames, _Matcher(), cfg)
    assert not _selfie_in_sequence(_selfie(180), frames, _Matcher(), cfg)
    assert not _selfie_in_sequence(_selfie(100), _frames(0, 0, 0), _Matcher(), cfg)


def test_frames_are_read_until_one_matches():
    matcher = _Matcher()
    frames = _frames(180, 0, 0, 100, 0, 0, 100)
    assert _selfie_in_sequence(_selfie(100), frames, matcher, ActiveConfig(embed_every=3))
    assert matcher.embedder.calls == [[100], [180], [100]]  # selfie, frame 0, frame 3; not 6
