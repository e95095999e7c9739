"""Card detection: corners, rectification, document type and side, tilt and thickness.

Steps, in the order a shot meets them: ``find_quad`` -> ``find_card`` (layout, upright
corners) -> ``refuse_my_number_back`` -> ``rectify`` -> ``estimate_tilt`` (tilted shot) and
``compare_cards`` (tilted shot against the front).
"""

from ekyc.detect.back import (
    find_held_my_number_back,
    refuse_my_number_back,
    shows_my_number_back,
)
from ekyc.detect.card import find_card, recognise
from ekyc.detect.classify import LayoutMatch, classify_layout
from ekyc.detect.config import DetectConfig
from ekyc.detect.layouts import DEFAULT_LAYOUT_MODEL, CardLayouts
from ekyc.detect.quad import find_quad, order_corners
from ekyc.detect.rectify import rectify
from ekyc.detect.same_card import compare_cards
from ekyc.detect.thickness import measure_edge_band
from ekyc.detect.tilt import estimate_tilt

__all__ = [
    "DEFAULT_LAYOUT_MODEL",
    "CardLayouts",
    "DetectConfig",
    "LayoutMatch",
    "classify_layout",
    "compare_cards",
    "estimate_tilt",
    "find_card",
    "find_held_my_number_back",
    "find_quad",
    "measure_edge_band",
    "order_corners",
    "recognise",
    "rectify",
    "refuse_my_number_back",
    "shows_my_number_back",
]
