"""POST /v1/capture/quality: bounded uploads, the CPU pool, and ekyc's errors as problems."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest

from service.errors import ServerBusy
from service.uploads import MULTIPART_SLACK
from service.workers import CpuPool
from tests.factories import encode, scene
from tests.loanflow.conftest import Mailbox
from tests.service.journey import CSRF, assert_problem, logged_in

pytestmark = pytest.mark.anyio

LIMIT = 256 * 1024  # the test settings' max_upload_bytes
URL = "/v1/capture/quality"


@pytest.fixture
async def csrf(client: httpx.AsyncClient, mailbox: Mailbox) -> str:
    return await logged_in(client, mailbox, "hanako@example.jp")


def jpeg(width: int = 1280, height: int = 720) -> bytes:
    return encode(scene(width, height), "JPEG", quality=90)


class TestQuality:
    async def test_raw_body(self, client: httpx.AsyncClient, csrf: str):
        response = await client.post(
            URL, content=jpeg(), headers={CSRF: csrf, "Content-Type": "image/jpeg"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["width"], body["height"], body["format"]) == (1280, 720, "JPEG")
        assert set(body["checks"]) >= {"sharpness", "glare", "noise", "resolution"}
        assert body["passed"] == (not body["failures"])
        check = body["checks"]["resolution"]
        assert check == {"value": 720.0, "threshold": 720.0, "rule": "min", "passed": True}

    async def test_multipart_file(self, client: httpx.AsyncClient, csrf: str):
        small = jpeg(640, 360)
        files = {"file": ("shot.jpg", small, "image/jpeg")}
        response = await client.post(URL, files=files, headers={CSRF: csrf})
        assert response.status_code == 200, response.text
        assert response.json()["failures"] == ["resolution"]

    async def test_multipart_without_file(self, client: httpx.AsyncClient, csrf: str):
        boundary = "b0undary"
        part = 'Content-Disposition: form-data; name="note"\r\n\r\nx'
        body = f"--{boundary}\r\n{part}\r\n--{boundary}--\r\n"
        headers = {CSRF: csrf, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        response = await client.post(URL, content=body.encode(), headers=headers)
        problem = assert_problem(response, 422, "validation_failed")
        assert problem["errors"][0]["field"] == "file"

    async def test_needs_a_logged_in_applicant(self, client: httpx.AsyncClient):
        assert_problem(await client.post(URL, content=jpeg()), 401, "not_authenticated")

    async def test_needs_the_csrf_token(self, client: httpx.AsyncClient, csrf: str):
        assert_problem(await client.post(URL, content=jpeg()), 403, "csrf_failed")


class TestUploadLimits:
    async def test_declared_length_refused_before_reading(
        self, client: httpx.AsyncClient, csrf: str
    ):
        chunks_read = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal chunks_read
            for _ in range(64):
                chunks_read += 1
                yield b"\xff" * 65536

        headers = {CSRF: csrf, "Content-Length": str(64 * 65536)}
        response = await client.post(URL, content=body(), headers=headers)
        problem = assert_problem(response, 413, "image_too_large")
        assert problem["max_bytes"] == LIMIT
        assert problem["size_bytes"] == 64 * 65536
        assert chunks_read == 0

    async def test_streamed_body_cut_off_at_the_limit(self, client: httpx.AsyncClient, csrf: str):
        chunks_read = 0

        async def body() -> AsyncIterator[bytes]:  # chunked: no Content-Length
            nonlocal chunks_read
            for _ in range(1000):
                chunks_read += 1
                yield b"\xff" * 16384

        response = await client.post(URL, content=body(), headers={CSRF: csrf})
        assert_problem(response, 413, "image_too_large")
        cap = LIMIT + MULTIPART_SLACK  # room for multipart framing
        assert chunks_read == cap // 16384 + 1  # the first chunk past the cap, not one more

    async def test_file_over_the_limit_inside_multipart(self, client: httpx.AsyncClient, csrf: str):
        just_over = jpeg()[:100] + b"\0" * LIMIT  # the body still fits the multipart slack
        files = {"file": ("big.jpg", just_over, "image/jpeg")}
        response = await client.post(URL, files=files, headers={CSRF: csrf})
        problem = assert_problem(response, 413, "image_too_large")
        assert problem["size_bytes"] == LIMIT + 1  # read no further than one byte past


class TestRefusedImages:
    async def test_wrong_format(self, client: httpx.AsyncClient, csrf: str):
        gif = encode(scene(64, 48), "GIF")
        response = await client.post(URL, content=gif, headers={CSRF: csrf})
        problem = assert_problem(response, 415, "unsupported_format")
        assert problem["detected"] == "GIF"

    async def test_corrupt_image(self, client: httpx.AsyncClient, csrf: str):
        truncated = jpeg()[:2000]
        response = await client.post(URL, content=truncated, headers={CSRF: csrf})
        assert_problem(response, 422, "corrupt_image")

    async def test_decompression_bomb(self, make_settings, make_client, mailbox: Mailbox):
        async with make_client(make_settings(max_pixels=1000)) as client:
            csrf = await logged_in(client, mailbox, "hanako@example.jp")
            response = await client.post(URL, content=jpeg(), headers={CSRF: csrf})
        assert_problem(response, 413, "decompression_bomb")


class TestCpuPool:
    async def test_full_queue_is_refused_at_once(self):
        release = threading.Event()
        pool = CpuPool(1, queue_per_worker=1)
        try:
            running = [asyncio.ensure_future(pool.run(release.wait, 10)) for _ in range(2)]
            await asyncio.sleep(0)
            with pytest.raises(ServerBusy):
                await pool.run(release.wait, 10)
            release.set()
            assert await asyncio.gather(*running) == [True, True]
            assert pool.pending == 0
        finally:
            release.set()
            pool.shutdown()
