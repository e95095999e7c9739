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
    "AspectPrior",
    "CaptureMetadata",
    "CardDetection",
    "CardQuad",
    "Check",
    "DocumentType",
    "Embedding",
    "FaceDetection",
    "Frame",
    "MatchScore",
    "ModelRef",
    "QuadDetection",
    "QualityReport",
    "RGBImage",
    "RectifiedCard",
    "SameCardCheck",
    "Shot",
    "Side",
    "TiltCheck",
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
        """Whether the image-based method accepts it (``ekyc.rules`` says why not)."""
        from ekyc.rules import rule_for

        return rule_for(self).accepted

    @property
    def has_back(self) -> bool:
        """Whether its back is shot; never the My Number card's (the individual number)."""
        from ekyc.rules import rule_for

        return rule_for(self).has_back


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

    @property
    def card_side(self) -> Side | None:
        """The card side this shot must show (the tilted shot: the front); None: selfie."""
        return {Shot.FRONT: Side.FRONT, Shot.TILT: Side.FRONT, Shot.BACK: Side.BACK}.get(self)


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
        sharpness_in_region: The sharpness of that region alone, warped to an ID-1 card at
            5 px/mm (``min`` rule): what OCR and the portrait need, whatever the background.
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
    sharpness_in_region: Check | None = None

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
        if self.sharpness_in_region is not None:
            named["sharpness_in_region"] = self.sharpness_in_region
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


@dataclass(frozen=True, slots=True, eq=False)
class FaceDetection:
    """One face found in an image, in that image's pixels (see the module's Convention).

    Attributes:
        box: ``(x, y, w, h)`` float32: top-left corner, width and height.
        landmarks: ``(5, 2)`` float32 ``(x, y)``: the eye on the image's left, the eye on its
            right, nose tip, mouth corner on the image's left, mouth corner on its right
            (YuNet's and ArcFace's order).
        score: detector confidence in [0, 1].
    """

    box: npt.NDArray[np.float32]
    landmarks: npt.NDArray[np.float32]
    score: float

    def __post_init__(self) -> None:
        for name, shape in (("box", (4,)), ("landmarks", (5, 2))):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.shape != shape:
                actual = value.shape if isinstance(value, np.ndarray) else type(value).__name__
                raise ValueError(f"{name} must have shape {shape}, got {actual}")
            if value.dtype != np.float32 or not np.all(np.isfinite(value)):
                raise ValueError(f"{name} must be finite float32, got {value.dtype}")
        if not (self.box[2] > 0 and self.box[3] > 0):
            raise ValueError(f"box width and height must be > 0, got {self.box.tolist()}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")

    @property
    def face_size_px(self) -> float:
        """The shorter side of the box, in pixels."""
        return float(min(self.box[2], self.box[3]))


@dataclass(frozen=True, slots=True, eq=False)
class Embedding:
    """A face descriptor and the model that produced it; compare only with the same model."""

    vector: npt.NDArray[np.float32]
    model: ModelRef

    def __post_init__(self) -> None:
        v = self.vector
        if not isinstance(v, np.ndarray) or v.ndim != 1 or v.dtype != np.float32:
            actual = (v.shape, v.dtype) if isinstance(v, np.ndarray) else type(v).__name__
            raise ValueError(f"vector must be a 1-D float32 array, got {actual}")
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError("vector must be non-empty and finite")


@dataclass(frozen=True, slots=True)
class MatchScore:
    """Two faces compared: higher similarity = more alike; ``match`` = similarity >= threshold.

    Attributes:
        similarity: cosine similarity, or minus the Euclidean distance, per the model.
        threshold: the calibrated decision threshold on the same scale.
        fmr: the false-match rate the threshold was calibrated for (e.g. 1e-3).
        model: the embedder both faces went through.
    """

    similarity: float
    threshold: float
    fmr: float
    model: ModelRef
    match: bool = field(init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.similarity) and np.isfinite(self.threshold)):
            raise ValueError(
                f"similarity and threshold must be finite, got {self.similarity}, {self.threshold}"
            )
        if not 0.0 < self.fmr < 1.0:
            raise ValueError(f"fmr must be in (0, 1), got {self.fmr}")
        object.__setattr__(self, "match", bool(self.similarity >= self.threshold))


ID1_ASPECT = 85.60 / 53.98
"""Width over height of an ID-1 card (ISO/IEC 7810): 1.586."""


class AspectPrior(enum.Enum):
    """The shape the card detector expects: an ID-1 card, an A4 sheet, or any quadrilateral."""

    ID1 = "id1"
    A4 = "a4"
    ANY = "any"

    @property
    def ratio(self) -> float | None:
        """Long side over short side, or None when any shape is accepted."""
        return {"id1": ID1_ASPECT, "a4": 297.0 / 210.0, "any": None}[self.value]


@dataclass(frozen=True, slots=True, eq=False)
class QuadDetection:
    """A card-shaped quadrilateral found in an image, before its layout says which way is up.

    ``quad.corners`` run clockwise in the image, starting so that the first edge (TL->TR) is
    one of the two long edges, namely the one whose outward normal points most towards the
    image top. An upright card therefore comes out in upright order; an upside-down one
    comes out rotated by 180 degrees, which ``find_card`` resolves from the layout.

    Attributes:
        quad: The corners and the detector's confidence.
        cut_by_border: A corner lies outside the image (or within a pixel of its border): the
            card is only partly in frame and its far corners are extrapolated, not seen.
    """

    quad: CardQuad
    cut_by_border: bool


@dataclass(frozen=True, slots=True, eq=False)
class CardDetection:
    """A card found and recognised: corners in upright order, document type and side.

    Attributes:
        quad: Corners TL, TR, BR, BL of the upright card, image pixels.
        cut_by_border: See ``QuadDetection``.
        document_type: The recognised layout, or None when no known layout matched.
        side: Which printed face is shown (``Side.UNKNOWN`` when not recognised).
        layout_score: Confidence of the layout match in [0, 1].
    """

    quad: CardQuad
    cut_by_border: bool
    document_type: DocumentType | None
    side: Side
    layout_score: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.layout_score <= 1.0:
            raise ValueError(f"layout_score must be in [0, 1], got {self.layout_score}")
        if self.document_type is None and self.side is not Side.UNKNOWN:
            raise ValueError("an unrecognised layout has side UNKNOWN")


@dataclass(frozen=True, slots=True, eq=False)
class RectifiedCard:
    """The card's printed face warped to a fixed, fronto-parallel resolution.

    Attributes:
        image: RGB uint8, ``round(85.60 * px_per_mm)`` by ``round(53.98 * px_per_mm)`` for ID-1.
        px_per_mm: Resolution of ``image``.
        homography: ``(3, 3)`` float64 mapping image pixels to ``image`` pixels.
        quad: The corners it was rectified from (upright order).
    """

    image: RGBImage
    px_per_mm: float
    homography: npt.NDArray[np.float64]
    quad: CardQuad

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"image must be (H, W, 3) uint8, got {self.image.shape} {self.image.dtype}"
            )
        if self.homography.shape != (3, 3):
            raise ValueError(f"homography must be (3, 3), got {self.homography.shape}")
        if not self.px_per_mm > 0:
            raise ValueError(f"px_per_mm must be > 0, got {self.px_per_mm}")


@dataclass(frozen=True, slots=True)
class TiltCheck:
    """Whether a shot shows the card tilted in the accepted band, with its thickness visible.

    A flat reproduction (a photocopy or a screen) can be tilted too, but it has no edge
    band: ``passed`` needs both.

    Attributes:
        tilt_deg: Angle between the card's normal and the camera's optical axis.
        min_tilt_deg: Lower end of the accepted band.
        max_tilt_deg: Upper end of the accepted band.
        thickness_visible: An edge band (the card's side face) was found along an edge.
        edge_band_px: Its measured width in pixels (0 when none).
        focal_length_source: ``"exif"`` when the EXIF 35 mm focal length set the camera
            model, ``"prior"`` when a phone-camera prior did.
        edge_blurred: The sides facing the camera are too blurred across (the phone moved,
            or out of focus) for a side face to show either way
            (``ekyc.detect.thickness.EdgeBand.blurred``; also when an edge band read
            under motion blur across it does not hold under that motion): ``thickness_visible``
            is False, and the shot should be taken again held still rather than called flat.
    """

    tilt_deg: float
    min_tilt_deg: float
    max_tilt_deg: float
    thickness_visible: bool
    edge_band_px: float
    focal_length_source: str
    edge_blurred: bool = False

    @property
    def in_band(self) -> bool:
        """The tilt lies in [min_tilt_deg, max_tilt_deg]."""
        return self.min_tilt_deg <= self.tilt_deg <= self.max_tilt_deg

    @property
    def passed(self) -> bool:
        """Tilted in band and thick: a physical card, not a flat copy."""
        return self.in_band and self.thickness_visible


@dataclass(frozen=True, slots=True)
class SameCardCheck:
    """Whether two shots show the same physical card (e.g. the tilted shot vs. the front).

    Attributes:
        similarity: Higher is more alike, in [-1, 1].
        threshold: Decision threshold on the same scale.
        same: ``similarity >= threshold`` and the document types agree.
        document_types_agree: The layouts of both shots were recognised as the same type.
    """

    similarity: float
    threshold: float
    same: bool
    document_types_agree: bool
