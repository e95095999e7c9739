"""Thresholds of face matching, each with the reason for its value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CALIBRATIONS", "DEFAULT_DETECTOR", "DEFAULT_EMBEDDER", "MatchConfig"]

DEFAULT_DETECTOR = "face-detect/yunet-2023mar-ort@1"
DEFAULT_EMBEDDER = "face-embed/fusion-sface-int8-dlib@3"
"""Fusion @2 (int8 SFace + int8 dlib-ONNX, z-score fusion) adapted to card portraits
(models/adapt.py): 4 nuisance directions of printed/photographed portraits and selfies
projected out of each member, and a quality term on SFace's descriptor norm. Leave one fold
out with everything refitted on the training folds (benchmarks/match_adapt.py): card
portrait vs selfie TAR at FAR 1e-3 95.11 % (@2 94.06 %), LFW 99.36 % / TAR 98.89 % (@2 99.44
/ 98.78 %); the same two networks, so the same CPU per face as @2 (bench throughput).
``face-embed/fusion-sface-int8-dlib@2`` is the unadapted fusion (its first member's part is
SFace's own descriptor; @3's is SFace's with the nuisance directions removed, which
``portrait_reused``'s cosine reads: card vs selfie pairs above its 0.85 0.33 % either way).
``face-embed/sface-2021dec-int8@2`` alone is the faster choice. ``face-embed/cascade-dlib-fusion@2``
(ekyc.match.cascade) decides as fusion @2 does except where int8 dlib alone is clear: with
its band on every pair of different people, held-out FAR 0.97e-3 on LFW and cards, TAR within
0.06 points of that fusion, but SFace still runs for ~98 % of genuine pairs (it mostly saves
impostors' CPU: ~0.68x the fusion's per face on 50/50 pairs, benchmarks/match_cascade.py);
not the default: the pipeline's portrait_reused reads SFace on every selfie/portrait pair."""
CALIBRATIONS: Mapping[str, str] = MappingProxyType(
    {"lfw": "thresholds_by_fmr", "card": "thresholds_by_fmr_card"}
)
"""Calibration budget -> the manifest table of thresholds by FMR it reads.

``lfw``: photo vs photo, LFW folds 1-6 (benchmarks/match.py). ``card``: a card's printed
portrait, photographed and rectified, vs a selfie: synthetic cards carrying LFW faces, the
same folds (benchmarks/match_cards.py).
"""


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Face detection, quality-gate and decision settings.

    Attributes:
        detect_score: YuNet's sqrt(cls * obj) floor. OpenCV's demo uses 0.9; a card portrait
            under glare scores lower; 0.6 let a coffee cup (skimage) through at 0.63.
        detect_nms_iou: boxes overlapping more than this are one face (OpenCV's 0.3).
        detect_max_side: images are shrunk so the longer side fits; YuNet finds faces from
            ~10 px up, so 640 keeps a card portrait large enough and detection ~20 ms.
        detect_margin: tight crops (a 112 px aligned face) get this fraction of their size
            as a black margin on every side, as far as it fits under ``detect_max_side``:
            YuNet misses faces that touch the border.
        fmr: the false-match rate the decision threshold stands for; the manifest holds one
            calibrated threshold per model and rate (1e-3 default, 1e-4 strict).
        review_fmr: the looser rate of a review band below ``fmr``'s threshold, or None for
            none (a score below ``fmr``'s threshold is a mismatch). With a band, a score at
            or above ``review_fmr``'s threshold (same budget) but below ``fmr``'s goes to a
            person (``FACE_MATCH_UNCERTAIN``) instead of being rejected. Why: at FMR 1e-3
            ~1 genuine applicant in 20-36 scores under the card threshold and was rejected
            outright for a face they own; a reviewer sees the card and the selfie. An
            impostor in the band is only ever reviewed, never accepted. Only the pipeline's
            selfie stage reads it; ``ekyc match`` decides at ``fmr`` alone.
        budget: which calibration the threshold comes from (a key of ``CALIBRATIONS``):
            ``"lfw"`` (photo vs photo) or ``"card"`` (printed card portrait vs selfie, the
            pairs the pipeline compares). The same FMR needs a different threshold on each.
        min_face_px: a selfie face narrower than this carries too little detail for the
            embedders' 112-150 px inputs.
        max_yaw_ratio: |nose offset from the eye midline| / eye distance; ~0.35 is ~30 deg.
        max_roll_deg: eye-line tilt; alignment undoes roll, but strong roll means a
            tilted phone or head, which the guide asks the applicant to fix.
        min_face_sharpness: ekyc.capture.quality's sharpness measured on the aligned crop.
        min_eye_to_cheek: the eye patches' median grey over the cheeks' on the aligned crop;
            under it the eyes are behind dark glasses (advice to retake, not a refusal).
            Rendered live selfies of LFW photos (the gate's own YuNet alignment): the 15
            darkest-eyed photos of LFW's 2,939 (people with 2+), all dark sunglasses,
            0.037-0.19 (plus one with tinted glasses at 0.185); 120 other photos drawn at
            random 0.306 and up (1 % 0.36, median 0.72). Lighter tints (0.21-0.35) pass.
    """

    detect_score: float = 0.7
    detect_nms_iou: float = 0.3
    detect_max_side: int = 640
    detect_margin: float = 0.25
    fmr: float = 1e-3
    review_fmr: float | None = None
    budget: str = "lfw"
    min_face_px: float = 80.0
    max_yaw_ratio: float = 0.35
    max_roll_deg: float = 20.0
    min_face_sharpness: float = 0.02
    min_eye_to_cheek: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.detect_score < 1.0:
            raise ValueError(f"detect_score must be in (0, 1), got {self.detect_score}")
        if not 0.0 < self.fmr < 1.0:
            raise ValueError(f"fmr must be in (0, 1), got {self.fmr}")
        if self.review_fmr is not None and not self.fmr < self.review_fmr < 1.0:
            raise ValueError(
                f"review_fmr must be in (fmr, 1) = ({self.fmr:g}, 1), got {self.review_fmr:g}"
            )
        if self.budget not in CALIBRATIONS:
            raise ValueError(f"budget must be one of {list(CALIBRATIONS)}, got {self.budget!r}")
        if self.detect_max_side < 32:
            raise ValueError(f"detect_max_side must be >= 32, got {self.detect_max_side}")
