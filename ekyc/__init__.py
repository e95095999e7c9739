"""ekyc: online identity verification for Japanese rokin smartphone loan applications.

The whole public surface is listed in ``__all__``. Importing ``ekyc`` loads no model and no
model runtime (onnxruntime, mediapipe, dlib): models load lazily through ``Registry``.

Example:
    >>> import ekyc
    >>> frame = ekyc.decode_image("card.jpg")  # doctest: +SKIP
    >>> ekyc.assess_quality(frame).failures  # doctest: +SKIP
    ()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ekyc.config import PipelineConfig
from ekyc.errors import EkycError
from ekyc.types import CardQuad, DocumentType, Frame, QualityReport, Shot

if TYPE_CHECKING:
    from ekyc.capture.decode import decode_image
    from ekyc.capture.quality import assess_quality
    from ekyc.registry import Registry

__all__ = [
    "CardQuad",
    "DocumentType",
    "EkycError",
    "Frame",
    "PipelineConfig",
    "QualityReport",
    "Registry",
    "Shot",
    "assess_quality",
    "decode_image",
]

__version__ = "0.1.0"

_LAZY = {
    "decode_image": ("ekyc.capture.decode", "decode_image"),
    "assess_quality": ("ekyc.capture.quality", "assess_quality"),
    "Registry": ("ekyc.registry", "Registry"),
}


def __getattr__(name: str) -> Any:
    # PEP 562: image libraries (PIL, OpenCV) load on first use, keeping `import ekyc` cheap.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ekyc' has no attribute {name!r}")
