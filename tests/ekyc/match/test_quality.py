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
