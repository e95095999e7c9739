"""Selfie liveness: random active challenges and passive presentation-attack detection.

Filled by the liveness issue; nothing lives here yet.
"""

__all__: list[str] = []
