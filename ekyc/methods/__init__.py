"""Verification methods: how the reference face and the document's data are obtained.

The image-based method (``ImageMethod``) reads them off photographed cards: front, a
tilted shot, the back. From 2027-04-01 Japanese rules keep only "IC-chip data + selfie"
for loans; such a method implements the same ``DocumentMethod`` protocol with the chip's
portrait and fields, and every selfie stage (quality, liveness, face match) stays as it is.
"""

from ekyc.methods.base import DocumentFindings, DocumentMethod, Evidence
from ekyc.methods.image import ImageMethod

__all__ = ["DocumentFindings", "DocumentMethod", "Evidence", "ImageMethod"]
