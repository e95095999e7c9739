"""Capture: decoding untrusted uploads into Frames, and judging their quality.

Steps, in the order a shot meets them: ``assess_frame`` on each preview frame ->
``should_capture`` on their history -> ``decode_image`` -> ``assess_quality``.
"""

from ekyc.capture.autocapture import assess_frame, hold_guidance, should_capture
from ekyc.capture.decode import decode_image, sniff_format
from ekyc.capture.guidance import CaptureConfig, FrameGuidance, GuidanceCode, Guide
from ekyc.capture.quality import assess_quality

__all__ = [
    "CaptureConfig",
    "FrameGuidance",
    "GuidanceCode",
    "Guide",
    "assess_frame",
    "assess_quality",
    "decode_image",
    "hold_guidance",
    "should_capture",
    "sniff_format",
]
