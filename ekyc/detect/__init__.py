"""Card detection: corners, rectification, document type and side, tilt and thickness.

Filled by the card-detection issue; nothing lives here yet.
"""

__all__: list[str] = []
