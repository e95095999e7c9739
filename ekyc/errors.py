"""Typed errors of the ekyc library.

An exception means "the check could not run". A check that ran and said no is a result
(a failed ``QualityReport`` check, a ``Verdict`` with reasons), never an exception.

Every class carries a stable ``code`` slug that the CLI maps to exit statuses and the
service maps to RFC 9457 problem details. Context travels as keyword-only attributes::

    EkycError                      ekyc_error      (code; meaning)
    ├── InputError                 invalid_input   the caller's bytes cannot be used
    │   ├── UnsupportedFormat      unsupported_format
    │   ├── ImageTooLarge          image_too_large       file bytes over the limit
    │   ├── DecompressionBomb      decompression_bomb    declared pixels over the cap
    │   ├── CorruptImage           corrupt_image         truncated, damaged or empty
    │   └── NoFaceFound            no_face               no face where one must be
    ├── StepNotAllowed             step_not_allowed      e.g. a My Number card back
    └── ModelError                 model_error
        ├── ModelNotFound          model_not_found
        ├── ChecksumMismatch       checksum_mismatch
        ├── ProviderUnavailable    provider_unavailable  e.g. CUDA asked for, not present
        └── OcrUnavailable         ocr_unavailable       no tesseract / jpn data, or it hung
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ChecksumMismatch",
    "CorruptImage",
    "DecompressionBomb",
    "EkycError",
    "ImageTooLarge",
    "InputError",
    "ModelError",
    "ModelNotFound",
    "NoFaceFound",
    "OcrUnavailable",
    "ProviderUnavailable",
    "StepNotAllowed",
    "UnsupportedFormat",
]


class EkycError(Exception):
    """Root of every error the library raises on purpose.

    Args:
        message: A sentence for a person; never contains image bytes or personal numbers.
        **context: Machine-readable details (limits, sizes, ids), kept in ``context``.
    """

    code: ClassVar[str] = "ekyc_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def to_dict(self) -> dict[str, str]:
        """The ``{"code", "message"}`` pair that the CLI contracts print."""
        return {"code": self.code, "message": self.message}


class InputError(EkycError):
    """The input cannot be used as given; the caller should send something else."""

    code = "invalid_input"


class UnsupportedFormat(InputError):
    """A format the pipeline does not decode (GIF, BMP, text, executables...)."""

    code = "unsupported_format"


class ImageTooLarge(InputError):
    """The file is larger than the configured byte limit (5 MB by default, the guide's)."""

    code = "image_too_large"


class DecompressionBomb(InputError):
    """The header declares more pixels than the cap; refused before the full decode."""

    code = "decompression_bomb"


class CorruptImage(InputError):
    """The bytes look like a supported format but do not decode (truncated, damaged, empty)."""

    code = "corrupt_image"


class NoFaceFound(InputError):
    """The image shows no face the detector can find (a selfie or a card's portrait)."""

    code = "no_face"


class StepNotAllowed(EkycError):
    """A step the document rules forbid, or one out of order (e.g. a My Number card back)."""

    code = "step_not_allowed"


class ModelError(EkycError):
    """A model cannot be provided; the pipeline cannot run without it."""

    code = "model_error"


class ModelNotFound(ModelError):
    """The id is not in the manifest, or its file is not where the manifest says."""

    code = "model_not_found"


class ChecksumMismatch(ModelError):
    """The model file differs from the manifest's size or sha256; it is never loaded."""

    code = "checksum_mismatch"


class ProviderUnavailable(ModelError):
    """An onnxruntime execution provider was requested but is not installed here."""

    code = "provider_unavailable"


class OcrUnavailable(ModelError):
    """The OCR engine cannot run: no ``tesseract``, no ``jpn`` traineddata, or it timed out."""

    code = "ocr_unavailable"
