"""Injection hints: an image fed to the pipeline instead of captured by the session's camera.

Two signals that need no model: capture metadata that jumps between the shots of one
session (another time, another phone), and an image (near-)identical to one already seen
in another session, found by a perceptual hash that survives re-encoding and resizing.
They are hints for review, not proof: metadata can be stripped or forged by either side.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ekyc.liveness.results import Reason
from ekyc.types import CaptureMetadata, RGBImage

__all__ = [
    "HashStore",
    "InMemoryHashStore",
    "SeenImage",
    "check_metadata",
    "dhash",
    "hamming",
    "phash",
]


def _grey(image: RGBImage) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = image.astype(np.float32) @ np.array(
        [0.299, 0.587, 0.114], np.float32
    )
    return out


def dhash(image: RGBImage, size: int = 8) -> int:
    """Difference hash: signs of horizontal brightness steps on a ``size+1 x size`` thumbnail.

    Example:
        >>> img = np.zeros((32, 32, 3), np.uint8); img[:, 16:] = 255
        >>> hamming(dhash(img), dhash(img[::2, ::2].repeat(2, 0).repeat(2, 1)))
        0
    """
    import cv2

    small = cv2.resize(_grey(image), (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).reshape(-1)
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def phash(image: RGBImage, size: int = 8) -> int:
    """DCT hash: low-frequency DCT terms of a 32x32 thumbnail above their median."""
    import cv2

    small = cv2.resize(_grey(image), (4 * size, 4 * size), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:size, :size].reshape(-1)
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


@dataclass(frozen=True, slots=True)
class SeenImage:
    """A previously stored hash and the session it came from."""

    session_id: str
    dhash: int
    phash: int


class HashStore(Protocol):
    """Where hashes of accepted images are kept across sessions (a database in the service)."""

    def add(self, session_id: str, image: RGBImage) -> SeenImage:
        """Remember an image of ``session_id``."""
        ...

    def find_similar(
        self, image: RGBImage, *, exclude_session: str, max_distance: int = 6
    ) -> tuple[SeenImage, ...]:
        """Images of other sessions within ``max_distance`` bits on both hashes."""
        ...


class InMemoryHashStore:
    """A process-local ``HashStore``: tests, the CLI and single-worker deployments.

    ``max_distance`` 6 of 64 bits: JPEG re-encoding and 0.5-2x rescaling of the same image
    stay within 4 bits in tests; two different selfies of one person differ by 15+.
    """

    def __init__(self) -> None:
        self._items: list[SeenImage] = []
        self._lock = threading.Lock()

    def add(self, session_id: str, image: RGBImage) -> SeenImage:
        """Remember an image of ``session_id``."""
        seen = SeenImage(session_id=session_id, dhash=dhash(image), phash=phash(image))
        with self._lock:
            self._items.append(seen)
        return seen

    def find_similar(
        self, image: RGBImage, *, exclude_session: str, max_distance: int = 6
    ) -> tuple[SeenImage, ...]:
        """Images of other sessions within ``max_distance`` bits on both hashes."""
        d, p = dhash(image), phash(image)
        with self._lock:
            items = list(self._items)
        return tuple(
            s
            for s in items
            if s.session_id != exclude_session
            and hamming(s.dhash, d) <= max_distance
            and hamming(s.phash, p) <= max_distance
        )


def check_metadata(
    shots: Sequence[CaptureMetadata], *, max_span: timedelta = timedelta(minutes=30)
) -> tuple[Reason, ...]:
    """``METADATA_INCONSISTENT`` when a session's shots disagree on device or time.

    Why: one applicant takes every shot of one session on one phone within minutes; a
    change of camera make/model, or EXIF times further apart than ``max_span`` (30 min:
    the session's own lifetime), means some image came from elsewhere. Missing fields are
    not evidence (many apps strip EXIF) and are skipped.
    """
    devices = {(m.camera_make, m.camera_model) for m in shots if m.camera_model is not None}
    times = [m.taken_at for m in shots if m.taken_at is not None]
    span_exceeded = bool(times) and max(times) - min(times) > max_span
    return (Reason.METADATA_INCONSISTENT,) if len(devices) > 1 or span_exceeded else ()
