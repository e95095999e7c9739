"""Image uploads, size-limited before they are read into memory.

An upload is the raw image as the body (``Content-Type: image/jpeg``, or anything but
multipart), or ``multipart/form-data`` with one ``file`` part. Either way:

1. a declared ``Content-Length`` over the limit is refused before one byte is read;
2. the body is streamed, counted, and refused the moment it passes the limit (a chunked
   upload without a length gets no further than that);
3. only then does anything parse it; the format is sniffed from the bytes later by
   ``ekyc.decode_image``, never taken from the name or the content type.

The refusal is ``ekyc.errors.ImageTooLarge`` (413, ``image_too_large``), the same error the
library raises for a file over ``DecodeLimits.max_bytes``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from ekyc.errors import ImageTooLarge

__all__ = ["MULTIPART_SLACK", "body_cap", "read_image_upload"]

# Boundaries and part headers around the file; a few small fields fit as well.
MULTIPART_SLACK = 16 * 1024
FILE_FIELD = "file"


def body_cap(max_bytes: int) -> int:
    """The most body bytes an upload of ``max_bytes`` may need."""
    return max_bytes + MULTIPART_SLACK


def _too_large(max_bytes: int, size_bytes: int | None = None) -> ImageTooLarge:
    shown = f"{size_bytes} bytes" if size_bytes is not None else "more bytes"
    return ImageTooLarge(
        f"the upload has {shown} than the limit of {max_bytes}",
        max_bytes=max_bytes,
        size_bytes=size_bytes,
    )


async def _capped(
    stream: AsyncIterator[bytes], cap: int, max_bytes: int
) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > cap:
            raise _too_large(max_bytes)
        yield chunk


async def read_image_upload(request: Request, max_bytes: int) -> bytes:
    """The uploaded file's bytes, at most ``max_bytes`` of them.

    Raises:
        ImageTooLarge: The body or the file is over the limit (read no further).
        RequestValidationError: A multipart body without a ``file`` part.
        HTTPException: 400 for a malformed multipart body or Content-Length.
    """
    cap = body_cap(max_bytes)
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > cap:
            raise _too_large(max_bytes, int(declared))
    stream = _capped(request.stream(), cap, max_bytes)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        data = await _multipart_file(request, stream, max_bytes)
    else:
        body = bytearray()
        async for chunk in stream:
            body += chunk
        data = bytes(body)
    if len(data) > max_bytes:
        raise _too_large(max_bytes, len(data))
    return data


async def _multipart_file(
    request: Request, stream: AsyncGenerator[bytes, None], max_bytes: int
) -> bytes:
    parser = MultiPartParser(request.headers, stream, max_files=1, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(400, exc.message) from exc
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise RequestValidationError(
                [
                    {
                        "type": "missing",
                        "loc": ("body", FILE_FIELD),
                        "msg": "an image file part named 'file' is required",
                        "input": None,
                    }
                ]
            )
        return await upload.read(max_bytes + 1)
    finally:
        await form.close()
