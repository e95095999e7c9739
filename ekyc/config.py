"""Pipeline configuration: every limit and threshold, each with where its value came from.

``ekyc`` never reads the environment; callers build a ``PipelineConfig`` (or take the
defaults) and pass it down. All objects are frozen so a config can be shared between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DecodeLimits", "PipelineConfig", "QualityThresholds"]


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What ``decode_image`` accepts before it spends memory on a file."""

    # The bank's guide caps each uploaded image at 5 MB.
    max_bytes: int = 5 * 1024 * 1024
    # 50 MP admits the 48 MP main cameras of current phones; a decoded 50 MP RGB image is
    # 150 MB, the most one request may hold. Checked from the header, before the decode.
    max_pixels: int = 50_000_000
    # Longest side after rendering a PDF page; ~2000 px is 240 dpi on an A4 page.
    pdf_render_max_side: int = 2000
    # Formats by decoder name. GIF/BMP are refused: no phone camera produces them.
    allowed_formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "HEIF", "TIFF", "PDF"})
    # Longest side of the decoded image, or None for full resolution. JPEGs are decoded
    # with DCT scaling (1/2, 1/4, 1/8) and anything still larger is area-resampled.
    max_side: int | None = None

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.pdf_render_max_side <= 0:
            raise ValueError("decode limits must be positive")
        if self.max_side is not None and self.max_side < 64:
            raise ValueError(f"max_side must be >= 64, got {self.max_side}")


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Thresholds of ``assess_quality``.

    The values were set on the images in ``tests/ekyc/capture/test_quality.py`` (camera-like
    renders of scikit-image's public-domain photos: sharp vs. Gaussian blur sigma 2 px at the
    640 px working size, under/over-exposure by gain, Gaussian noise by sigma). They are a
    starting point to be recalibrated on the synthetic scenes and SmartDoc frames by the
    card-detection benchmark.
    """

    # Images are measured at this longer side so the figures do not depend on resolution.
    working_side_px: int = 640
    # Laplacian energy over intensity variance at 640 px. Sharp photos and rendered scenes
    # measured 0.55-7.0 (at 640 to 4032 px wide alike), a 1 px Gaussian blur 0.12-0.36, a
    # 2 px blur 0.024-0.039: 0.05 refuses the 2 px blur and keeps the 1 px one.
    min_sharpness: float = 0.05
    # Grey level (0-255) under which a pixel counts as black / over which as white.
    dark_level: int = 20
    bright_level: int = 245
    # More than 40 % black pixels: the card's text and portrait cannot be read.
    max_underexposed_fraction: float = 0.40
    # More than 25 % white pixels: washed out (a white card on a white table is ~15 %).
    max_overexposed_fraction: float = 0.25
    # Specular glare: near-saturated (>= 250 in every channel), low-saturation blobs of at
    # least min_glare_blob_fraction of the working image. Over 1 % of the card region hides
    # a field; over 2 % of the frame usually means a lamp reflection on a glossy surface.
    glare_level: int = 250
    min_glare_blob_fraction: float = 0.0002
    max_glare_fraction: float = 0.02
    max_glare_in_region_fraction: float = 0.01
    # Sharpness of the card itself (the region, warped to an ID-1 card at 5 px/mm): the
    # frame's figure is dominated by the background and let cards through that OCR cannot
    # read. On 120 generated 1280x720 front scenes (seeds 6000-6039 per type, disjoint from
    # the OCR benchmark's 5000s and verify_rates' 20000s), of the 66 that passed the other
    # checks those below 6.0 had 36 % of their key fields read exactly, those above 94.5 %
    # (21 scenes; none fell between 5.9 and 8.6). Sharp renders measure 10-26. It also
    # refuses a card too small in the frame, whose 5 px/mm copy is upsampled.
    min_sharpness_in_region: float = 6.0
    # Robust Immerkaer noise sigma of the grey image at the working size. Clean photos
    # measured 0.5-1.7; per-channel Gaussian noise of sigma 8 measured 5.4-6.4, sigma 12
    # 7.7-8.9 (grey averages the channels: x0.67). 6 refuses sigma-12 colour noise.
    max_noise_sigma: float = 6.0
    # The guide captures at 1280x720; 720 px on the short side leaves the card ~600 px wide,
    # enough for OCR of the 8-pt fields.
    min_short_side_px: int = 720


# onnxruntime intra-op threads per model session when verifying (``Registry(threads=)``):
# the pipeline already spreads a verification over PipelineConfig.threads, and onnxruntime's
# own pool beside them spins for the same two cores. Quiet 2-core machine, ekyc bench pipeline
# (6 applicants x 3 rounds, 12 MP, same run each): pipeline 2 threads + onnxruntime default
# p50 1,225 ms (CPU 2,115), pipeline 1 thread 1,090 ms; 2 threads + onnxruntime 1 thread
# 985 ms (CPU 1,604), same decisions.
VERIFY_MODEL_THREADS = 1


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything the pipeline's stages need to know besides the images and the models."""

    # Verification works on shots of at most 2048 px: a 12 MP phone JPEG decodes at half
    # size (DCT scaling) in ~1/4 of the time, and an ID-1 card filling half the frame is
    # still ~1000 px wide, more than the 856 px the 10 px/mm rectification needs.
    decode: DecodeLimits = field(default_factory=lambda: DecodeLimits(max_side=2048))
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # Threads one verification may use, the calling thread included: the shots are decoded
    # and examined at once (front, tilt, back, selfie), then the OCR runs beside the face
    # match and liveness. 2 fits the 2-core target machine; 1 runs everything in the caller.
    threads: int = 2

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
