"""Frozen result objects that flow through the pipeline, and the one statement of conventions.

Convention:
    * Images are RGB, ``uint8``, shape ``(H, W, 3)``, C-contiguous. Grey, alpha, palette,
      CMYK and 16-bit inputs are normalised to this at decode time; nothing downstream
      handles other layouts.
    * Points are ``(x, y)`` ``float32`` pixel coordinates, origin at the top-left corner of
      the top-left pixel, x to the right, y down. A pixel's centre is at ``(i + 0.5, j + 0.5)``.
    * Card corners are ordered TL, TR, BR, BL *of the upright card* (as one reads it), not of
      the image, so a card photographed upside down has its TL corner near the image's BR.
    * Units go in names: ``tilt_deg``, ``elapsed_ms``, ``glare_fraction``, ``focal_length_35mm``.

Every type validates itself in ``__post_init__`` and raises ``ValueError`` naming the expected
and the actual value, so a malformed object never travels further than where it was made.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CaptureMetadata",
    "CardQuad",
    "Check",
    "DocumentType",
    "Frame",
    "ModelRef",
    "QualityReport",
    "RGBImage",
    "Shot",
    "Side",
]

RGBImage = npt.NDArray[np.uint8]
"""An ``(H, W, 3)`` RGB ``uint8`` image (see the module's Convention)."""


class DocumentType(enum.Enum):
    """Photo IDs the applicant may pick, and the two the regulation refuses for loans."""

    DRIVERS_LICENSE = "drivers_license"
    MY_NUMBER_CARD = "my_number_card"
    RESIDENCE_CARD = "residence_card"
    HEALTH_INSURANCE_CARD = "health_insurance_card"
    PASSPORT = "passport"

    @property
    def accepted(self) -> bool:
        """Health-insurance cards carry no photo; passports from 2020-02-04 no address."""
        return self not in (DocumentType.HEALTH_INSURANCE_CARD, DocumentType.PASSPORT)

    @property
    def has_back(self) -> bool:
        """The My Number card's back carries the individual number: never captured."""
        return self in (DocumentType.DRIVERS_LICENSE, DocumentType.RESIDENCE_CARD)


class Side(enum.Enum):
    """Which printed face of a card an image shows."""

    FRONT = "front"
    BACK = "back"
    UNKNOWN = "unknown"


class Shot(enum.Enum):
    """The shots of the image-based method, in the order the guide asks for them."""

    FRONT = "front"
    TILT = "tilt"
    BACK = "back"
    SELFIE = "selfie"


@dataclass(frozen=True, slots=True)
class CaptureMetadata:
    """What the capture device said about a shot; later checks compare shots by it.

    Attributes:
        source_format: Decoder-level format name: ``JPEG``, ``PNG``, ``WEBP``, ``HEIF``,
            ``TIFF`` or ``PDF``.
        taken_at: EXIF DateTimeOriginal (camera local time, no zone), if present.
        camera_make: EXIF Make, stripped.
        camera_model: EXIF Model, stripped.
        focal_length_35mm: EXIF FocalLengthIn35mmFilm in millimetres; the tilt estimate
            turns it into a field of view.
        exif_orientation: The EXIF orientation tag that was applied (1 = none).
        original_size: ``(width, height)`` as stored, before orientation was applied.
    """

    source_format: str
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    focal_length_35mm: float | None = None
    exif_orientation: int = 1
    original_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if not 1 <= self.exif_orientation <= 8:
            raise ValueError(f"exif_orientation must be in 1..8, got {self.exif_orientation}")
        if self.focal_length_35mm is not None and not self.focal_length_35mm > 0:
            raise ValueError(f"focal_length_35mm must be > 0, got {self.focal_length_35mm}")


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """A decoded image with its capture metadata and the sha256 of the bytes it came from.

    ``eq=False``: frames compare by identity; compare ``source_sha256`` for content.
    """

    image: RGBImage
    metadata: CaptureMetadata
    source_sha256: str

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise ValueError(
                f"image must be a uint8 ndarray, got {type(img).__name__}"
                f"{'' if not isinstance(img, np.ndarray) else ' of ' + str(img.dtype)}"
            )
        if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"image must have shape (H, W, 3), got {img.shape}")
        if len(self.source_sha256) != 64:
            raise ValueError(f"source_sha256 must be 64 hex digits, got {self.source_sha256!r}")

    @property
    def width(self) -> int:
        """Width in pixels after EXIF orientation."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels after EXIF orientation."""
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class CardQuad:
    """Card corners in image pixels, ``(x, y)``, ordered TL, TR, BR, BL of the upright card."""

    corners: npt.NDArray[np.float32]
    score: float

    def __post_init__(self) -> None:
        c = self.corners
        if not isinstance(c, np.ndarray) or c.shape != (4, 2) or c.dtype != np.float32:
            actual = (c.shape, c.dtype) if isinstance(c, np.ndarray) else type(c).__name__
            raise ValueError(f"corners must be a (4, 2) float32 array, got {actual}")
        if not np.all(np.isfinite(c)):
            raise ValueError("corners must be finite")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")


@dataclass(frozen=True, slots=True)
class Check:
    """One measured value judged against one threshold.

    ``rule="min"`` passes when ``value >= threshold``; ``rule="max"`` when ``value <= threshold``.
    """

    value: float
    threshold: float
    rule: Literal["min", "max"]
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.rule not in ("min", "max"):
            raise ValueError(f"rule must be 'min' or 'max', got {self.rule!r}")
        if not (np.isfinite(self.value) and np.isfinite(self.threshold)):
            raise ValueError(
                f"value and threshold must be finite, got {self.value}, {self.threshold}"
            )
        ok = self.value >= self.threshold if self.rule == "min" else self.value <= self.threshold
        object.__setattr__(self, "passed", bool(ok))


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Capture quality of one image, each aspect with the threshold that judged it.

    Attributes:
        sharpness: Scale-invariant focus measure; ``min`` rule.
        underexposure: Fraction of near-black pixels; ``max`` rule.
        overexposure: Fraction of near-white pixels; ``max`` rule.
        glare: Fraction of the image covered by specular highlights; ``max`` rule.
        glare_in_region: Same, inside the region given to ``assess_quality`` (e.g. the card).
        noise: Estimated sensor-noise sigma in 8-bit grey levels; ``max`` rule.
        resolution: Shorter image side in pixels; ``min`` rule.
    """

    sharpness: Check
    underexposure: Check
    overexposure: Check
    glare: Check
    noise: Check
    resolution: Check
    glare_in_region: Check | None = None

    @property
    def checks(self) -> dict[str, Check]:
        """The checks that were run, by name."""
        named = {
            "sharpness": self.sharpness,
            "underexposure": self.underexposure,
            "overexposure": self.overexposure,
            "glare": self.glare,
            "noise": self.noise,
            "resolution": self.resolution,
        }
        if self.glare_in_region is not None:
            named["glare_in_region"] = self.glare_in_region
        return named

    @property
    def failures(self) -> tuple[str, ...]:
        """Names of the failed checks, in a stable order."""
        return tuple(name for name, check in self.checks.items() if not check.passed)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Which model produced a result: the manifest id and the sha256 of the file loaded."""

    id: str
    sha256: str

    def __post_init__(self) -> None:
        if "@" not in self.id:
            raise ValueError(f"model id must look like 'task/name@version', got {self.id!r}")
        if len(self.sha256) != 64:
            raise ValueError(f"sha256 must be 64 hex digits, got {self.sha256!r}")
