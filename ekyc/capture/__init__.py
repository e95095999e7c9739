"""Capture: decoding untrusted uploads into Frames, and judging their quality.

Steps, in the order a shot meets them: ``decode_image`` -> ``assess_quality``.
"""

from ekyc.capture.decode import decode_image, sniff_format
from ekyc.capture.quality import assess_quality

__all__ = ["assess_quality", "decode_image", "sniff_format"]
