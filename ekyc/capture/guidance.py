"""Auto-capture values: the guide frame, guidance codes with their UI messages, thresholds.

These are the frozen types that ``ekyc.capture.autocapture`` returns for each preview
frame. Coordinates follow ``ekyc.types``: ``(x, y)`` float32 preview-image pixels with the
origin at the top-left corner of the top-left pixel.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ekyc.config import QualityThresholds

__all__ = ["CaptureConfig", "FrameGuidance", "GuidanceCode", "Guide"]

ID1_ASPECT = 85.60 / 53.98
"""Width over height of an ISO/IEC 7810 ID-1 card (every accepted card but the passport)."""

_MESSAGES: dict[str, tuple[str, str]] = {
    "NO_CARD": ("カードを枠の中に置いてください", "Place your card inside the frame"),
    "MOVE_CLOSER": ("カードにもう少し近づけてください", "Move closer to the card"),
    "MOVE_AWAY": ("カードから少し離してください", "Move back from the card"),
    "FIT_FRAME": ("カードを枠に合わせてください", "Line the card up with the frame"),
    "HOLD_STILL": ("そのまま動かさないでください", "Hold still"),
    "TOO_DARK": ("明るい場所で撮影してください", "Find a brighter place"),
    "GLARE": ("光の反射が入らないように角度を変えてください", "Tilt the card to avoid glare"),
    "BLURRED": ("ピントが合っていません。カメラを固定してください", "Out of focus: hold steady"),
    "READY": ("撮影します", "Capturing"),
}


class GuidanceCode(enum.Enum):
    """What the capture page should tell the applicant about one preview frame.

    Listed in the order the checks run: geometry first (is a card in the guide at the
    right size), then photometry on the card region, so the applicant fixes one thing at
    a time.
    """

    NO_CARD = "no_card"
    MOVE_CLOSER = "move_closer"
    MOVE_AWAY = "move_away"
    FIT_FRAME = "fit_frame"
    HOLD_STILL = "hold_still"
    TOO_DARK = "too_dark"
    GLARE = "glare"
    BLURRED = "blurred"
    READY = "ready"

    @property
    def message_ja(self) -> str:
        """The Japanese UI text (the applicant's language by default)."""
        return _MESSAGES[self.name][0]

    @property
    def message_en(self) -> str:
        """The English UI text."""
        return _MESSAGES[self.name][1]

    @property
    def card_found(self) -> bool:
        """Whether the card sits in the guide, so corners and measurements exist."""
        return self in _CARD_FOUND


_CARD_FOUND = frozenset(
    {
        GuidanceCode.HOLD_STILL,
        GuidanceCode.GLARE,
        GuidanceCode.BLURRED,
        GuidanceCode.READY,
    }
)


@dataclass(frozen=True, slots=True)
class Guide:
    """The rectangle the capture page draws over the preview, in preview-image pixels.

    The front end owns the drawing; the server is told the same rectangle so both agree
    on where the card should be.

    Example:
        >>> round(Guide.centred(1280, 720).width, 1)  # 576 px tall: 80 % of 720
        913.4
    """

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.width, self.height)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"guide must be finite, got {values}")
        if self.x < 0 or self.y < 0:
            raise ValueError(f"guide origin must be >= 0, got ({self.x}, {self.y})")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"guide must be at least 16x16 px, got {self.width}x{self.height}")

    @classmethod
    def centred(
        cls, image_width: int, image_height: int, fraction: float = 0.8, aspect: float = ID1_ASPECT
    ) -> Guide:
        """An ``aspect``-shaped guide centred in the preview.

        It spans ``fraction`` of the preview's width unless that would make it taller than
        ``fraction`` of the height (a landscape 16:9 preview): the margin left around the
        guide is where a slightly too large card's edges are still seen.
        """
        if not 0.1 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0.1, 1], got {fraction}")
        if not aspect > 0:
            raise ValueError(f"aspect must be > 0, got {aspect}")
        width = min(fraction * image_width, fraction * image_height * aspect)
        height = width / aspect
        return cls((image_width - width) / 2, (image_height - height) / 2, width, height)

    @property
    def corners(self) -> npt.NDArray[np.float32]:
        """TL, TR, BR, BL as a ``(4, 2)`` float32 array."""
        x0, y0, x1, y1 = self.x, self.y, self.x + self.width, self.y + self.height
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


@dataclass(frozen=True, slots=True, eq=False)
class FrameGuidance:
    """The guidance for one preview frame, with what it was decided from.

    ``eq=False``: it holds an array; compare fields. No timing is kept here: the caller
    knows when the frame arrived and passes timestamps to ``should_capture``.

    Attributes:
        code: What to tell the applicant.
        guide: The guide the frame was judged against.
        corners: Card corners where the four side lines cross, ``(4, 2)`` float32 preview
            pixels ordered TL, TR, BR, BL *of the guide* (an upside-down card keeps the
            guide's order), or None when not all four sides were found.
        edge_strengths: Top, right, bottom, left: the fraction in [0, 1] of sample
            positions along each guide side whose edge lies on the found line (0 = none).
        side_offsets: Top, right, bottom, left: where each found edge crosses the middle of
            its guide side, outward positive, as a fraction of the guide's size across that
            side (-0.25: a quarter of the guide inside it); None where no edge was found.
        luminance: Mean grey level (0-255) of the card region when the card fits, else of
            the guide region; None only when the frame was not looked at.
        glare_fraction: Share of the card region under specular glare, when the card fits.
        sharpness: ``ekyc.capture.quality.sharpness`` of the card region, when it fits.
        directional_sharpness: The least, over four directions, of the region's second
            differences' energy over its variance: a streak of motion blur leaves the
            Laplacian high across it but this near 0. Inside the four found lines when
            they fit the guide or do not fit it ("fit the frame"); else None.
    """

    code: GuidanceCode
    guide: Guide
    corners: npt.NDArray[np.float32] | None = None
    edge_strengths: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    side_offsets: tuple[float | None, float | None, float | None, float | None] = (
        None,
        None,
        None,
        None,
    )
    luminance: float | None = None
    glare_fraction: float | None = None
    sharpness: float | None = None
    directional_sharpness: float | None = None

    def __post_init__(self) -> None:
        c = self.corners
        if c is not None:
            if not isinstance(c, np.ndarray) or c.shape != (4, 2) or c.dtype != np.float32:
                actual = (c.shape, c.dtype) if isinstance(c, np.ndarray) else type(c).__name__
                raise ValueError(f"corners must be a (4, 2) float32 array, got {actual}")
            if not np.all(np.isfinite(c)):
                raise ValueError("corners must be finite")
        if self.code.card_found and c is None:
            raise ValueError(f"code {self.code.name} needs corners, got None")
        if len(self.edge_strengths) != 4 or not all(0 <= s <= 1 for s in self.edge_strengths):
            raise ValueError(
                f"edge_strengths must be 4 values in [0, 1], got {self.edge_strengths}"
            )
        if len(self.side_offsets) != 4:
            raise ValueError(f"side_offsets must have 4 entries, got {len(self.side_offsets)}")
        _check_range("luminance", self.luminance, 0.0, 255.0)
        _check_range("glare_fraction", self.glare_fraction, 0.0, 1.0)
        _check_range("sharpness", self.sharpness, 0.0, math.inf)
        _check_range("directional_sharpness", self.directional_sharpness, 0.0, math.inf)


def _check_range(name: str, value: float | None, lo: float, hi: float) -> None:
    if value is not None and not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be finite and in [{lo}, {hi}], got {value}")


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """Thresholds of ``assess_frame`` and ``should_capture``.

    Set on the synthetic preview frames of ``benchmarks/autocapture.py`` (1280x720, guide
    ``Guide.centred``); offsets and motion are fractions of the guide so the figures hold
    for any preview size.
    """

    # Edges are searched on a copy with this longer side: a 1280x720 frame shrinks 4x, so
    # the four side searches cost well under a millisecond and thin printed rules inside
    # the card blur away while the card's outline stays a step.
    edge_side_px: int = 320
    # Sharpness is measured on a copy with this longer side: the 640 px working size of
    # ``assess_quality``, where defocus is still visible (at 320 px it mostly is not).
    sharpness_side_px: int = 640
    # Edge search band around each guide side, as a fraction of the guide's size across
    # that side: 0.15 outward finds a card up to 1.3x the guide; 0.3 inward one down to
    # 0.4x, so a small card gets "move closer" rather than "no card".
    band_outward: float = 0.15
    band_inward: float = 0.30
    # Sample only the middle of each side: the rounded corners and the neighbouring sides'
    # edges sit in the outer 15 %.
    side_margin: float = 0.15
    # Gradient smoothing along the side (working pixels): favours long straight edges over
    # text strokes.
    along_smooth_px: int = 5
    # ...and sampled every along_step_px: neighbours are alike after that smoothing, and the
    # vote's cost grows with the number of positions.
    along_step_px: int = 2
    # Colour Sobel response (max over channels, 3x3, halved to fit uint8) for an edge point:
    # 2x a step of 6 grey levels. A pale card on a light grey table steps by ~13 levels, and
    # the vote, not this threshold, rejects the texture of the table.
    min_edge_gradient: float = 12.0
    # Side lines are voted over this range of angles to the guide side, in coarse steps (the
    # line is then refitted to its points): 2 degrees drift 1.4 px at the ends of a 160 px
    # side, inside the vote's +-1.5 px window. A card turned further is "fit the frame".
    max_vote_angle_deg: float = 12.0
    vote_angle_step_deg: float = 2.0
    # Edge points within this distance (working pixels) of a line count for it.
    line_tolerance_px: float = 1.5
    # A side is found when this share of its sample positions lies on one line; a card at
    # half the guide's size still covers ~60 % of a side's middle.
    min_edge_support: float = 0.4
    # Of the steps (below) whose refitted support is within this ratio of the best, the
    # outermost is the card outline (the licence's printed frame inside it is as long).
    # Near 1: a background edge just outside the card (a shadow, an object) is a step too.
    outline_support_ratio: float = 0.95
    # The vote hands on the lines with this share of its best support for the refit and the
    # step test to choose from: the vote's coarse angles undercount a slightly turned
    # outline (seed 39000 in_guide #36: 75 of 79 positions), while on a card's fine print
    # every line inside it gathers all 79. (Choosing among the vote's own 0.95 lost that
    # card's READY; 0.9 of the vote's support lost another's to a line outside it.)
    vote_support_ratio: float = 0.8
    # A side line must be a step: the colours step_distance_px (working pixels) outside and
    # inside it differ by at least min_step_contrast grey levels on average along it. Wood
    # grain and fabric line up for the vote but step both ways (seed 39000's card-free
    # previews: <= 2.5), and thin printed rules or a table's grooves are the same colour on
    # both sides 3 px out; every card outline there stepped >= 7.7 (a white card on pale
    # paper included).
    step_distance_px: float = 3.0
    min_step_contrast: float = 5.0
    # A card "fits" when every side lies within this fraction of the guide's size of the
    # guide side (5 % of a 913 px guide: 46 px).
    fit_tolerance: float = 0.06
    # Four lines whose width over height differs from the guide's by more than this factor
    # are not all the card's edges: "fit the frame" rather than closer or away. A card
    # turned 30 degrees about an axis changes it by 1/cos(30) = 1.15; within the fit
    # tolerance by at most 1.13.
    max_shape_ratio: float = 1.25
    # A side more than this many degrees off its guide side means a rotated or strongly
    # tilted card: "fit the frame" (a tilt under ~15 degrees stays under it).
    max_side_angle_deg: float = 5.0
    # The card region for photometry leaves out this fraction of its size at each border.
    region_inset: float = 0.04
    # Mean grey level (of the card region, or of the guide's when no card is found) below
    # which text cannot be read: rendered cards under normal light measure 195-230, and
    # phones auto-expose, so under 70 the room is too dark for the camera.
    min_luminance: float = 70.0
    # Glare over 2 % of the card hides a field. Stricter than assess_quality's 1 %: the My
    # Number card's white badge clips in renders and covers 1.3 %.
    max_glare_fraction: float = 0.02
    # Sharpness of the card's inner box at 640 px. The verifier's capture gate refuses a
    # shot whose card measures under QualityThresholds.min_sharpness_in_region (6.0, where
    # OCR stops reading the key fields); on the same 1280x720 frame this preview figure and
    # the gate's agree within ~15 %, so the preview asks for the same 6.0. At 1.0 (until
    # 2026-11) 16 of the 41 READY previews among 60 sharp-or-blurred renders were cards the
    # gate would then refuse; at 6.0, on 150 other renders (seed 4321, blur sigma 0-5 px or
    # motion 0-24 px) the two agreed on 136 of the 138 cards read (2 passed here and failed
    # the gate, none the reverse). Sharp renders measure 10-35; a Gaussian blur of sigma
    # 1.2 px at 1280x720 brings a card to ~5, sigma 3 px to 0.2-0.6.
    min_sharpness: float = 6.0
    # ...and in every direction: the least over 0, 45, 90 and 135 degrees of the mean
    # squared [1, -2, 1] difference over the variance, same box and size. Motion blur
    # smears detail along its direction only, so the Laplacian (the sum across two
    # directions) can stay high: on dev seed 78200, 4 of 20 motion-blurred (14-24 px)
    # previews measured 7.7-16.5 there (READY) but 0.02-0.04 here, while the 40 sharp cards
    # in the guide measured >= 0.48. 0.1 lies below what an even blur reaching
    # min_sharpness leaves (~0.25), so it speaks only for a streak. Also measured inside
    # the four lines when they are found but do not fit: a blurred card's edge drifts to a
    # line printed inside it (12 such previews on seeds 78200 and 78600: <= 0.018), while
    # sharp ones there measured >= 0.185 (a small card on a plain table; the guide's own
    # box, which holds more of the table, measured down to 0.102).
    min_directional_sharpness: float = 0.1
    # should_capture: without timestamps the last hold_frames results must be READY; with
    # them, READY results spanning hold_ms (400 ms: long enough to be deliberate, short
    # enough not to feel slow).
    hold_frames: int = 5
    hold_ms: float = 400.0
    # Largest corner movement between consecutive frames, as a fraction of the guide width
    # (1 % of 913 px: 9 px), for the card to count as held still.
    max_motion: float = 0.01
    # Glare-mask parameters for ``glare_mask``. Only clipped pixels (>= 253) count: on the
    # card alone, white print reaches 250 in renders (the health-insurance card: 4 %).
    quality: QualityThresholds = field(default_factory=lambda: QualityThresholds(glare_level=253))

    def __post_init__(self) -> None:
        if self.edge_side_px < 64 or self.sharpness_side_px < self.edge_side_px:
            raise ValueError(
                "need 64 <= edge_side_px <= sharpness_side_px, got "
                f"{self.edge_side_px}, {self.sharpness_side_px}"
            )
        fractions = (
            self.band_outward,
            self.band_inward,
            self.side_margin,
            self.fit_tolerance,
            self.region_inset,
            self.max_motion,
        )
        if not all(0.0 < v < 0.5 for v in fractions):
            raise ValueError(f"bands, margins and tolerances must be in (0, 0.5), got {fractions}")
        for name in (
            "min_edge_support",
            "outline_support_ratio",
            "vote_support_ratio",
            "max_glare_fraction",
        ):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.max_shape_ratio <= 1.0:
            raise ValueError(f"max_shape_ratio must be > 1, got {self.max_shape_ratio}")
        if self.hold_frames < 1 or self.hold_ms < 0:
            raise ValueError(f"need hold_frames >= 1, hold_ms >= 0, got {self.hold_frames}")
        if not 0 < self.vote_angle_step_deg <= self.max_vote_angle_deg < 45:
            raise ValueError("need 0 < vote_angle_step_deg <= max_vote_angle_deg < 45")
        if min(self.along_smooth_px, self.along_step_px) < 1 or self.line_tolerance_px <= 0:
            raise ValueError("along_smooth_px, along_step_px >= 1 and line_tolerance_px > 0")
