"""Selfie liveness: active challenges, passive presentation-attack detection, injection hints.

The steps: ``new_challenge`` (issue), ``read_sequence`` (frames from a folder or video),
``evaluate`` (active: actions in order, in time, same face, selfie among the frames),
``PassiveChecker.check`` (one frame: print / screen replay), ``portrait_reused`` (the selfie
is the card's photo), ``check_metadata`` and ``InMemoryHashStore`` (injection hints).
Results are ``LivenessResult`` with stable ``Reason`` codes. Importing this package loads
no model runtime: MediaPipe and onnxruntime load when a tracker or checker is built.
"""

from ekyc.liveness.active import ActiveConfig, detect_events, evaluate, measure_frames
from ekyc.liveness.challenge import new_challenge, secure_rng
from ekyc.liveness.frames import FrameSequence, TimedFrame, read_sequence
from ekyc.liveness.injection import InMemoryHashStore, check_metadata, dhash, hamming, phash
from ekyc.liveness.landmarks import FaceMeshTracker
from ekyc.liveness.passive import PassiveChecker, pad_features, portrait_reused
from ekyc.liveness.results import Action, AttackType, Challenge, LivenessResult, Reason

__all__ = [
    "Action",
    "ActiveConfig",
    "AttackType",
    "Challenge",
    "FaceMeshTracker",
    "FrameSequence",
    "InMemoryHashStore",
    "LivenessResult",
    "PassiveChecker",
    "Reason",
    "TimedFrame",
    "check_metadata",
    "detect_events",
    "dhash",
    "evaluate",
    "hamming",
    "measure_frames",
    "new_challenge",
    "pad_features",
    "phash",
    "portrait_reused",
    "read_sequence",
    "secure_rng",
]
