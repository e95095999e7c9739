"""Capture guidance: the quality of one frame or shot, answered fast.

``POST /v1/capture/quality`` takes one image (raw body or multipart ``file``), limited in
size before it is read (``service.uploads``), decodes and judges it in the CPU pool, and
returns ``ekyc.assess_quality``'s report. The preview-frame and shot endpoints of the eKYC
session reuse the same three steps: rate limit, bounded read, pool.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ekyc.capture import assess_quality, decode_image
from ekyc.config import DecodeLimits
from ekyc.types import Frame, QualityReport
from service.deps import CurrentApplicant, RuntimeDep, rate_limit
from service.schemas import QualityOut
from service.settings import Settings
from service.uploads import MULTIPART_SLACK, body_cap, read_image_upload

__all__ = ["IMAGE_BODY", "body_limits", "router"]

router = APIRouter(prefix="/v1/capture", tags=["capture"])


def _assess(data: bytes, limits: DecodeLimits) -> tuple[Frame, QualityReport]:
    frame = decode_image(data, limits)
    return frame, assess_quality(frame)


def body_limits(settings: Settings) -> dict[str, int]:
    """Body limits of the upload routes: above the upload reader's, which answers first
    with the library's ``image_too_large``."""
    return {"/v1/capture/quality": body_cap(settings.max_upload_bytes) + MULTIPART_SLACK}


_BINARY = {"type": "string", "format": "binary"}
IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/*": {"schema": _BINARY},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": _BINARY},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post("/quality", dependencies=[Depends(rate_limit("frames"))], openapi_extra=IMAGE_BODY)
async def quality(
    request: Request,
    applicant_id: CurrentApplicant,  # logged-in applicants only
    runtime: RuntimeDep,
) -> QualityOut:
    """Judge one image's capture quality (sharpness, exposure, glare, noise, size)."""
    data = await read_image_upload(request, runtime.limits.max_bytes)
    frame, report = await runtime.pool.run(_assess, data, runtime.limits)
    return QualityOut.of(frame, report)
