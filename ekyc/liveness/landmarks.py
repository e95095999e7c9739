"""Dense face landmarks (MediaPipe FaceMesh with iris) and the measures actions are read from.

Why FaceMesh: it is the only shipped model with eyelid, lip and 3-D face-surface points
(``docs: MODELS.md``), which blink, mouth and head-pose actions need; YuNet's five points
give a rough yaw only (``five_point_yaw_deg``, the fallback when FaceMesh loses the face).

Convention: ``points`` are ``(x, y, z)`` float32 in image pixels (see ``ekyc.types``); z is
FaceMesh's relative depth scaled by the image width like x, smaller = nearer the camera.
Angles: ``yaw_deg`` > 0 when the face turns towards the image's right edge, ``pitch_deg``
> 0 when it tilts up. Both are relative readings: callers compare them with the same
face's neutral pose, because FaceMesh's absolute angles carry a per-face offset.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.registry import Registry
from ekyc.types import ModelRef, RGBImage

__all__ = [
    "FACEMESH_ID",
    "FaceMeshTracker",
    "eye_aspect_ratio",
    "five_point_yaw_deg",
    "head_pose_deg",
    "mouth_opening",
]

FACEMESH_ID = "face-landmarks/mediapipe-facemesh-attention@0.10.21"
Points = npt.NDArray[np.float32]

# FaceMesh topology indices (MediaPipe's canonical face model).
_EYES = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))  # p1..p6 per eye
_LIPS_INNER = (13, 14)  # upper, lower inner lip midpoints
_MOUTH_CORNERS = (61, 291)
_CHEEKS = (234, 454)  # face outline, image-left and image-right
_FOREHEAD_CHIN = (10, 152)


def eye_aspect_ratio(points: Points) -> float:
    """Mean eye aspect ratio of both eyes (Soukupova & Cech 2016): ~0.3 open, < 0.15 shut.

    Why a ratio: it is independent of face size and of in-plane rotation.
    """
    ratios = []
    for p1, p2, p3, p4, p5, p6 in _EYES:
        p = points[:, :2]
        vertical = np.linalg.norm(p[p2] - p[p6]) + np.linalg.norm(p[p3] - p[p5])
        ratios.append(vertical / (2.0 * np.linalg.norm(p[p1] - p[p4]) + 1e-6))
    return float(np.mean(ratios))


def mouth_opening(points: Points) -> float:
    """Inner-lip gap over mouth width: ~0-0.2 closed or smiling, > 0.35 clearly open."""
    p = points[:, :2]
    gap = np.linalg.norm(p[_LIPS_INNER[0]] - p[_LIPS_INNER[1]])
    width = np.linalg.norm(p[_MOUTH_CORNERS[0]] - p[_MOUTH_CORNERS[1]])
    return float(gap / (width + 1e-6))


def head_pose_deg(points: Points) -> tuple[float, float]:
    """``(yaw_deg, pitch_deg)`` from the normal of the cheek-to-cheek x forehead-to-chin plane.

    Why four points and not PnP: no canonical 3-D model ships with the solutions API, and
    FaceMesh's own depth already encodes the pose; the plane normal reads it in two lines.
    Yaw is the normal's azimuth about the vertical axis, pitch its elevation: a turn (a
    rotation about the vertical axis) moves the azimuth by its angle and leaves the
    elevation alone, where ``atan2(ny, nz)`` grows by 1/cos(yaw) and read part of a turn
    on a bowed face as pitch (dev seeds 21000+/23000+ and bench LFW, 92 challenges: the
    pitch change through turns p90 4.6 -> 3.5 degrees, max 13.2 -> 10.4; look-ups read
    p50 14.2 -> 13.9).
    """
    across = points[_CHEEKS[1]] - points[_CHEEKS[0]]
    down = points[_FOREHEAD_CHIN[1]] - points[_FOREHEAD_CHIN[0]]
    normal = np.cross(across.astype(np.float64), down.astype(np.float64))
    normal /= np.linalg.norm(normal) + 1e-12
    yaw = math.degrees(math.atan2(-normal[0], normal[2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, float(normal[1])))))
    return yaw, pitch


def five_point_yaw_deg(landmarks: npt.NDArray[np.float32]) -> float:
    """Rough yaw from YuNet's five points: the nose's offset from the eye midline.

    A real nose tip sits ~0.7 eye distances in front of the eye plane, so the offset over
    the eye distance is about 0.7 sin(yaw) (``MatchConfig.max_yaw_ratio``: 0.35 ~ 30 deg).
    """
    eye_l, eye_r, nose = landmarks[0], landmarks[1], landmarks[2]
    dist = float(np.linalg.norm(eye_r - eye_l)) + 1e-6
    ratio = float(nose[0] - (eye_l[0] + eye_r[0]) / 2.0) / dist
    return math.degrees(math.asin(max(-1.0, min(1.0, ratio / 0.7))))


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's C++ (glog/TFLite) start-up lines, which bypass Python logging.

    Only around graph construction and the first inference, where they are printed; the
    redirect is process-wide, so it is kept that short.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class FaceMeshTracker:
    """MediaPipe FaceMesh (478 points with iris), checked through the registry first.

    The solutions API loads its ``.tflite`` from the mediapipe package itself; the registry
    entry names that same file, so ``Registry.path`` verifies its sha256 before the graph
    is built. ``static=True`` (detect in every frame) gave steadier angles than tracking
    mode on the synthetic sequences, at ~6 ms per 640x480 frame either way.

    Example:
        >>> tracker = FaceMeshTracker(Registry.from_manifest())  # doctest: +SKIP
        >>> tracker.landmarks(frame.image).shape  # doctest: +SKIP
        (478, 3)
    """

    def __init__(self, registry: Registry, model_id: str = FACEMESH_ID, *, static: bool = True):
        registry.path(model_id)  # raises ModelNotFound / ChecksumMismatch
        self._ref = registry.spec(model_id).ref
        self._lock = threading.Lock()  # the solutions graph is not re-entrant
        self._sizes: set[tuple[int, int]] = set()
        with _quiet_native_stderr(), warnings.catch_warnings():
            # protobuf/absl deprecation notices on import are theirs, not actionable here.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            from mediapipe.python.solutions import face_mesh

            self._mesh: Any = face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=0.5,
            )
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))

    @property
    def model(self) -> ModelRef:
        """The FaceMesh file's manifest id + sha256."""
        return self._ref

    def landmarks(self, image: RGBImage) -> Points | None:
        """``(478, 3)`` points of the most prominent face, or None when there is none."""
        h, w = image.shape[:2]
        # The graph logs a projection notice natively on the first frame of each size.
        first = (h, w) not in self._sizes
        quiet = _quiet_native_stderr() if first else contextlib.nullcontext()
        with self._lock, quiet, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # protobuf's SymbolDatabase notice
            found = self._mesh.process(np.ascontiguousarray(image))
            self._sizes.add((h, w))
        faces = found.multi_face_landmarks
        if not faces:
            return None
        raw = np.array([(p.x, p.y, p.z) for p in faces[0].landmark], np.float32)
        return (raw * np.array([w, h, w], np.float32)).astype(np.float32)

    def close(self) -> None:
        """Release the graph (also done by the garbage collector)."""
        self._mesh.close()
