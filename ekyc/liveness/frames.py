"""Timestamped frames of an active challenge, and how they are read from files.

Why timestamps travel with the frames: the time limits of a challenge are checked on them,
and a folder listing or a video container is the only place a client can put them.

On disk (what ``ekyc liveness --challenge`` reads):
    * A folder of ``frame_<ms>.jpg`` (or ``.png``): ``<ms>`` is the capture time in
      milliseconds since the recording started, e.g. ``frame_000066.jpg``.
    * A video file (anything OpenCV decodes, e.g. MP4): timestamps from the container.
    * Either way, a sidecar ``sequence.json`` in the folder (or ``<video>.json`` beside the
      video) binds the frames to a challenge: ``{"nonce": "<hex>", "started_at":
      "<ISO 8601 with zone>"}``. It may also list ``"frames": [{"file": "a.jpg", "t_ms":
      0}, ...]``, which then replaces the file-name timestamps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ekyc.errors import CorruptImage, InputError
from ekyc.types import RGBImage

__all__ = ["FrameSequence", "TimedFrame", "read_sequence"]

_FRAME_NAME = re.compile(r"^frame_(\d+)\.(jpe?g|png)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, eq=False)
class TimedFrame:
    """One video frame and its capture time in ms since the recording started."""

    t_ms: float
    image: RGBImage

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3:
            raise ValueError("image must be an (H, W, 3) uint8 array")
        if not np.isfinite(self.t_ms):
            raise ValueError(f"t_ms must be finite, got {self.t_ms}")


@dataclass(frozen=True, slots=True, eq=False)
class FrameSequence:
    """The frames a client recorded for one challenge, bound to it by the nonce.

    Attributes:
        nonce: The challenge nonce the client echoed.
        started_at: When the recording started (timezone-aware, client clock).
        frames: In capture order.
    """

    nonce: str
    started_at: datetime
    frames: tuple[TimedFrame, ...]

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")


def _sidecar(path: Path) -> dict[str, object]:
    side = path / "sequence.json" if path.is_dir() else path.with_name(path.name + ".json")
    if not side.is_file():
        return {}
    try:
        raw = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable sidecar {side.name}: {exc}") from exc
    if not isinstance(raw, dict):
        raise InputError(f"sidecar {side.name} must hold a JSON object")
    return raw


def _read_image(path: Path) -> RGBImage:
    from ekyc.capture.decode import decode_image

    return decode_image(str(path)).image


def _folder_frames(folder: Path, listed: object) -> list[TimedFrame]:
    if isinstance(listed, list):
        return [TimedFrame(float(e["t_ms"]), _read_image(folder / str(e["file"]))) for e in listed]
    named = [(_FRAME_NAME.match(p.name), p) for p in folder.iterdir()]
    frames = sorted((int(m.group(1)), p) for m, p in named if m is not None)
    return [TimedFrame(float(ms), _read_image(p)) for ms, p in frames]


def _video_frames(path: Path, max_frames: int = 900) -> list[TimedFrame]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise CorruptImage(f"{path.name} is not a video OpenCV can decode")
    frames: list[TimedFrame] = []
    try:
        while len(frames) < max_frames:  # 60 s at 15 fps: a challenge is far shorter
            ok, bgr = cap.read()
            if not ok:
                break
            t_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
            frames.append(TimedFrame(t_ms, np.ascontiguousarray(bgr[:, :, ::-1])))
    finally:
        cap.release()
    return frames


def read_sequence(
    path: str | Path, *, nonce: str | None = None, started_at: datetime | None = None
) -> FrameSequence:
    """Read a frame folder or a video (see the module docstring) into a ``FrameSequence``.

    ``nonce`` and ``started_at`` override the sidecar's values.

    Raises:
        InputError: no frames, or no nonce / start time from either source.
    """
    path = Path(path)
    side = _sidecar(path)
    frames = _folder_frames(path, side.get("frames")) if path.is_dir() else _video_frames(path)
    if not frames:
        raise InputError(f"no frames found in {path}")
    nonce = nonce or (str(side["nonce"]) if "nonce" in side else None)
    start_raw = side.get("started_at")
    if started_at is None and start_raw is not None:
        try:
            started_at = datetime.fromisoformat(str(start_raw))
        except ValueError as exc:
            raise InputError(f"started_at is not ISO 8601: {start_raw!r}") from exc
    if nonce is None or started_at is None or started_at.tzinfo is None:
        raise InputError("the frames need a nonce and a timezone-aware started_at (sidecar)")
    return FrameSequence(nonce=nonce, started_at=started_at, frames=tuple(frames))
