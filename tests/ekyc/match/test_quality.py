from __future__ import annotations

import numpy as np
import pytest

from ekyc.match.align import TEMPLATES
from ekyc.match.quality import FaceIssue, assess_face
from ekyc.types import FaceDetection


def _face(scale=2.0, shift=(100.0, 80.0), nose_dx=0.0, roll=0.0, score=0.9):
    pts = TEMPLATES["arcface-5pt-112"].points.astype(np.float64) * scale
    c, s = np.cos(np.radians(roll)), np.sin(np.radians(roll))
    pts = pts @ np.array([[c, -s], [s, c]]).T + shift
    pts[2, 0] += nose_dx * scale
    box = np.array([shift[0], shift[1], 112 * scale, 112 * scale], np.float32)
    return FaceDetection(box=box, landmarks=pts.astype(np.float32), score=score)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (480, 480, 3), dtype=np.uint8)  # plenty of high frequencies


@pytest.mark.parametrize(
    ("faces", "issues"),
    [
        ([], (FaceIssue.NO_FACE,)),
        ([_face()], ()),
        ([_face(), _face(shift=(300.0, 300.0), score=0.7)], (FaceIssue.MULTIPLE_FACES,)),
        ([_face(scale=0.5)], (FaceIssue.FACE_TOO_SMALL,)),
        ([_face(nose_dx=20.0)], (FaceIssue.FACE_TURNED,)),
        ([_face(roll=35.0)], (FaceIssue.FACE_TILTED,)),
    ],
)
def test_issues(image, faces, issues):
    gate = assess_face(image, faces)
    assert gate.issues == issues
    assert gate.passed is (not issues)


def test_blur_is_refused(image):
    flat = np.full_like(image, 128)
    assert assess_face(flat, [_face()]).issues == (FaceIssue.FACE_BLURRED,)


def test_judges_the_best_face(image):
    best = _face(score=0.95)
    gate = assess_face(image, [_face(shift=(300.0, 300.0), score=0.7), best])
    assert gate.face is best
    assert gate.checks["face_count"].value == 2


def _dark_glasses(image, scale=2.0, shift=(100.0, 80.0)):
    """``image`` with both eye regions of ``_face(scale, shift)`` dark (grey ~10-30)."""
    out = image.copy()
    rng = np.random.default_rng(1)
    for x0, x1 in ((24, 53), (59, 88)):  # the template's eyes, a little wider than the patches
        ys = slice(int(shift[1] + 42 * scale), int(shift[1] + 62 * scale))
        xs = slice(int(shift[0] + x0 * scale), int(shift[0] + x1 * scale))
        out[ys, xs] = rng.integers(10, 30, out[ys, xs].shape, dtype=np.uint8)
    return out


def test_dark_glasses_are_advice_on_arrival_not_a_refusal(image):
    """Sunglasses: asked again on arrival (SELFIE_QUALITY, eyes_hidden), never refused by
    verify for them (the face match decides): issue #7, held-out seed 25045's selfie."""
    from ekyc.screening import selfie_problems
    from ekyc.verdict import ReasonCode

    plain = assess_face(image, [_face()])
    assert plain.advice == ()
    assert plain.checks["eye_to_cheek"].value > 0.5
    gate = assess_face(_dark_glasses(image), [_face()])
    assert gate.passed
    assert gate.issues == ()
    assert gate.advice == (FaceIssue.EYES_HIDDEN,)
    assert gate.checks["eye_to_cheek"].value < 0.2
    assert selfie_problems(1, gate) == ()
    (problem,) = selfie_problems(1, gate, arrival=True)
    assert problem.code is ReasonCode.SELFIE_QUALITY
    assert problem.detail == "eyes_hidden"
    assert "sunglasses" in problem.retake_message
    assert selfie_problems(1, plain, arrival=True) == ()
