"""Selfie face gate: exactly one usable face, large enough, frontal, level and sharp.

Why geometric checks only: they come free from YuNet's landmarks and cost no model. Eyes
open needs a landmark mesh (MediaPipe FaceMesh: the challenge judges it). One occlusion is
read from the aligned crop's grey levels: dark glasses over the eyes (``EYES_HIDDEN``),
advice for a retake on arrival rather than a refusal (``FaceGate.advice``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ekyc.match.align import align_face
from ekyc.match.config import MatchConfig
from ekyc.types import Check, FaceDetection, RGBImage

__all__ = ["FaceGate", "FaceIssue", "assess_face"]


class FaceIssue(enum.Enum):
    """Stable reason codes for a refused selfie face."""

    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_TURNED = "face_turned"
    FACE_TILTED = "face_tilted"
    FACE_BLURRED = "face_blurred"
    EYES_HIDDEN = "eyes_hidden"


@dataclass(frozen=True, slots=True)
class FaceGate:
    """The gate's judgement: the face it judged (if one), each check, and the reasons.

    ``advice``: what the applicant can fix and is asked to on arrival (sunglasses), but
    that does not refuse the selfie: a face behind them may still match, and the face
    match decides (``ekyc.screening.selfie_problems``).
    """

    face: FaceDetection | None
    checks: dict[str, Check]
    issues: tuple[FaceIssue, ...]
    advice: tuple[FaceIssue, ...] = ()

    @property
    def passed(self) -> bool:
        """True when no issue was found."""
        return not self.issues


def _yaw_ratio(lm: npt.NDArray[np.float32]) -> float:
    """Nose offset from the eyes' perpendicular bisector, over eye distance (0 = frontal)."""
    eye_l, eye_r, nose = lm[0].astype(np.float64), lm[1].astype(np.float64), lm[2]
    axis = eye_r - eye_l
    dist = float(np.linalg.norm(axis))
    if dist == 0:
        return 1e9  # degenerate landmarks: as turned as it gets
    mid = (eye_l + eye_r) / 2
    return abs(float((nose - mid) @ axis)) / dist**2


# The aligned crop's (ArcFace 112 px template) eye and cheek patches, rows then columns.
_EYE_PATCHES = ((slice(45, 59), slice(27, 50)), (slice(45, 59), slice(62, 85)))
_CHEEK_PATCHES = ((slice(68, 80), slice(28, 44)), (slice(68, 80), slice(68, 84)))


def _eye_to_cheek(grey: npt.NDArray[np.uint8]) -> float:
    """Median grey of the eye patches over the cheeks' (dark glasses: ~0.04-0.2).

    The cheeks make it a ratio to the face's own skin and light, not to a fixed level.
    """
    eyes = np.concatenate([grey[p].ravel() for p in _EYE_PATCHES])
    cheeks = np.concatenate([grey[p].ravel() for p in _CHEEK_PATCHES])
    return float(np.median(eyes)) / max(float(np.median(cheeks)), 1.0)


def _roll_deg(lm: npt.NDArray[np.float32]) -> float:
    dx, dy = (lm[1] - lm[0]).astype(np.float64)
    return abs(math.degrees(math.atan2(dy, dx)))


def assess_face(
    image: RGBImage, faces: Sequence[FaceDetection], config: MatchConfig | None = None
) -> FaceGate:
    """Judge a selfie's detections: one face only, then size, pose and blur of that face."""
    import cv2

    from ekyc.capture.quality import sharpness  # the capture gate's measure, on the face

    cfg = config or MatchConfig()
    if not faces:
        return FaceGate(None, {}, (FaceIssue.NO_FACE,))
    face = max(faces, key=lambda f: f.score)
    lm = face.landmarks
    crop = align_face(image, lm, "arcface-5pt-112")
    grey = np.asarray(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    checks = {
        "face_count": Check(float(len(faces)), 1.0, "max"),
        "face_size_px": Check(face.face_size_px, cfg.min_face_px, "min"),
        "yaw_ratio": Check(_yaw_ratio(lm), cfg.max_yaw_ratio, "max"),
        "roll_deg": Check(_roll_deg(lm), cfg.max_roll_deg, "max"),
        "sharpness": Check(sharpness(grey), cfg.min_face_sharpness, "min"),
    }
    issue_of = {
        "face_count": FaceIssue.MULTIPLE_FACES,
        "face_size_px": FaceIssue.FACE_TOO_SMALL,
        "yaw_ratio": FaceIssue.FACE_TURNED,
        "roll_deg": FaceIssue.FACE_TILTED,
        "sharpness": FaceIssue.FACE_BLURRED,
    }
    issues = tuple(issue_of[name] for name, check in checks.items() if not check.passed)
    checks["eye_to_cheek"] = Check(_eye_to_cheek(grey), cfg.min_eye_to_cheek, "min")
    advice = () if checks["eye_to_cheek"].passed else (FaceIssue.EYES_HIDDEN,)
    return FaceGate(face, checks, issues, advice)
