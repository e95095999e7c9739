"""OCR cross-check: read a rectified card's key fields and compare them with the application.

Steps: ``read_fields`` (crop the regions of ``FIELD_REGIONS``, OCR them with Tesseract
``jpn``, normalise) -> ``cross_check`` (against the ``Applicant``, with the expiry date).
The My Number card's individual number is never read: no region for it exists.
"""

from ekyc.read.applicant import Applicant
from ekyc.read.crosscheck import CrossCheck, FieldCheck, Outcome, cross_check
from ekyc.read.fields import FIELD_REGIONS, FieldName, FieldRegion, field_regions
from ekyc.read.ocr import FieldRead, FieldReads, default_reader, read_fields
from ekyc.read.tesseract import LineRead, LineReader, OcrUnavailable, TesseractCli

__all__ = [
    "FIELD_REGIONS",
    "Applicant",
    "CrossCheck",
    "FieldCheck",
    "FieldName",
    "FieldRead",
    "FieldReads",
    "FieldRegion",
    "LineRead",
    "LineReader",
    "OcrUnavailable",
    "Outcome",
    "TesseractCli",
    "cross_check",
    "default_reader",
    "field_regions",
    "read_fields",
]
