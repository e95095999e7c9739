"""Capture sessions: what binds a camera page to one eKYC session for a short window.

The mailed URL's token opens a loanflow eKYC session (``loanflow.ekyc_session``); the page
then gets a *capture token* (256 bits, sent back as ``X-Capture-Token``) that is valid for
``capture_window_s`` and only for that session. Every preview frame, shot and recording
must carry it: an image picked from the gallery by some other client, or sent after the
window, has no live capture token and is refused.

Two stores:

* ``CaptureStore`` (memory): capture token digest -> ``CaptureState`` (the URL token,
  the recent preview-frame guidance for the hold rule). A restart loses only these
  tokens; the page opens a new one with the same URL.
* ``LivenessFiles`` (disk, under ``state_dir``): the issued challenge and the recorded
  frames per eKYC session, with the recording's evaluation on arrival and how many were
  evaluated, so a restart loses nothing submitted; deleted once the verdict is recorded
  (the record keeps hashes, not faces).

A header, not a cookie: a cross-site page cannot set it without a CORS preflight, so no
CSRF token is needed, and the eKYC page works without an applicant login.
"""

from __future__ import annotations

import collections
import hashlib
import json
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ekyc.capture import FrameGuidance
from ekyc.liveness import Challenge

__all__ = ["CAPTURE_HEADER", "CaptureState", "CaptureStore", "LivenessFiles"]

CAPTURE_HEADER = "X-Capture-Token"
_HISTORY = 24  # preview frames kept for the hold rule (~5 s at 5 fps)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass
class CaptureState:
    """One open capture window.

    Attributes:
        url_token: The mailed URL's token: loanflow's key to the session (memory only).
        session_id: The loanflow eKYC session id.
        expires_at: End of the window; nothing is accepted after it.
        guidance: Recent preview-frame guidance with arrival times (ms), oldest first.
    """

    url_token: str
    session_id: str
    opened_at: datetime
    expires_at: datetime
    guidance: collections.deque[tuple[float, FrameGuidance]] = field(
        default_factory=lambda: collections.deque(maxlen=_HISTORY)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)


class CaptureStore:
    """Capture tokens in memory (their digests only); thread-safe."""

    def __init__(self, window: timedelta) -> None:
        self._window = window
        self._states: dict[str, CaptureState] = {}
        self._lock = threading.Lock()

    def open(
        self, url_token: str, session_id: str, *, now: datetime, until: datetime
    ) -> tuple[str, CaptureState]:
        """A new capture token for the session, valid for the window (not past ``until``)."""
        token = secrets.token_urlsafe(32)
        state = CaptureState(url_token, session_id, now, min(now + self._window, until))
        with self._lock:
            for key in [k for k, s in self._states.items() if s.expires_at < now]:
                del self._states[key]
            self._states[_digest(token)] = state
        return token, state

    def get(self, token: str, *, now: datetime) -> CaptureState | None:
        """The live state of ``token``, or ``None`` (unknown, or its window is over)."""
        with self._lock:
            state = self._states.get(_digest(token))
        if state is None or now > state.expires_at:
            return None
        return state

    def close_session(self, session_id: str) -> None:
        """Drop every capture token of a finished session."""
        with self._lock:
            for key in [k for k, s in self._states.items() if s.session_id == session_id]:
                del self._states[key]


class LivenessFiles:
    """The challenge and the recorded frames of each eKYC session, as JSON files.

    ``root/<session id>/challenge.json`` and ``frames.json`` (the request as received, the
    frames still JPEG in base64, plus the server's arrival time); ``arrival.json``: the
    recording's evaluation on arrival (the challenge's nonce, the sha256 of the selfie it
    was judged with, the ``LivenessResult``), which ``finish`` reuses; ``judged.json``:
    how many recordings of the session were evaluated on arrival (never reset: it bounds
    that work per session).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, session_id: str) -> Path:
        if not session_id.replace("-", "").isalnum():  # a uuid; never a path
            raise ValueError(f"bad session id {session_id!r}")
        return self.root / session_id

    def _write(self, session_id: str, name: str, value: dict[str, Any]) -> None:
        folder = self._dir(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{name}.tmp"
        partial.write_text(json.dumps(value), encoding="utf-8")
        partial.replace(folder / name)  # atomic: a crash leaves the old file or the new

    def _read(self, session_id: str, name: str) -> dict[str, Any] | None:
        path = self._dir(session_id) / name
        if not path.is_file():
            return None
        value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return value

    def save_challenge(self, session_id: str, challenge: Challenge) -> None:
        """Keep the issued challenge; a new one replaces it and drops older frames (and
        their evaluation)."""
        self._write(session_id, "challenge.json", challenge.to_dict())
        for name in ("frames.json", "arrival.json"):
            (self._dir(session_id) / name).unlink(missing_ok=True)

    def challenge(self, session_id: str) -> Challenge | None:
        """The challenge issued to the session, if any."""
        raw = self._read(session_id, "challenge.json")
        return Challenge.from_dict(raw) if raw is not None else None

    def save_frames(self, session_id: str, recording: dict[str, Any]) -> None:
        """Keep the recording (``nonce``, ``started_at``, ``received_at``, ``frames``); an
        earlier recording's evaluation goes with it."""
        (self._dir(session_id) / "arrival.json").unlink(missing_ok=True)
        self._write(session_id, "frames.json", recording)

    def frames(self, session_id: str) -> dict[str, Any] | None:
        """The stored recording, if any."""
        return self._read(session_id, "frames.json")

    def save_arrival(self, session_id: str, arrival: dict[str, Any]) -> None:
        """Keep the stored recording's evaluation on arrival (``service.verification.Arrival``);
        after ``save_frames``, and dropped with the frames by a new challenge."""
        self._write(session_id, "arrival.json", arrival)

    def arrival(self, session_id: str) -> dict[str, Any] | None:
        """The stored recording's evaluation on arrival, if it had one."""
        return self._read(session_id, "arrival.json")

    def judged(self, session_id: str) -> int:
        """How many recordings of the session were evaluated on arrival."""
        raw = self._read(session_id, "judged.json")
        return int(raw["count"]) if raw is not None else 0

    def add_judged(self, session_id: str) -> int:
        """Count one more recording evaluated on arrival; returns the new count."""
        count = self.judged(session_id) + 1
        self._write(session_id, "judged.json", {"count": count})
        return count

    def delete(self, session_id: str) -> None:
        """Forget the session's challenge and frames."""
        shutil.rmtree(self._dir(session_id), ignore_errors=True)
