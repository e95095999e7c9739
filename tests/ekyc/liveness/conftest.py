from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from benchmarks.synth.challenge import challenge_frames
from benchmarks.synth.selfie import astronaut_face
from ekyc.liveness import Action, Challenge, FrameSequence, TimedFrame
from ekyc.match import DEFAULT_DETECTOR, DEFAULT_EMBEDDER
from ekyc.registry import Registry

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NONCE = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def registry():
    registry = Registry.from_manifest(threads=1)
    for model_id in (DEFAULT_DETECTOR, DEFAULT_EMBEDDER):
        if not registry.locate(model_id).exists():
            pytest.skip(f"{registry.locate(model_id)} is not built (python -m models.prepare)")
    return registry


@pytest.fixture(scope="session")
def tracker(registry):
    from ekyc.liveness import FaceMeshTracker

    return FaceMeshTracker(registry)


@pytest.fixture(scope="session")
def matcher(registry):
    from ekyc.match import FaceMatcher

    return FaceMatcher.from_registry(registry)


def make_challenge(*actions: Action, issued=NOW, ttl_s=60.0) -> Challenge:
    return Challenge(
        actions=actions,
        nonce=NONCE,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=ttl_s),
    )


def make_sequence(actions: tuple[Action, ...], seed: int = 0, nonce: str = NONCE) -> FrameSequence:
    frames = challenge_frames(
        astronaut_face(),
        tuple(a.value for a in actions),
        np.random.default_rng(seed),
        frames_per_action=7,
    )
    return FrameSequence(
        nonce=nonce,
        started_at=NOW + timedelta(seconds=2),
        frames=tuple(TimedFrame(t, img) for img, t in frames),
    )


@pytest.fixture(scope="session")
def left_blink():
    """A genuine synthetic recording: turn left, then blink."""
    return make_sequence((Action.TURN_LEFT, Action.BLINK), seed=1)
