"""The application journey over HTTP: forms, consents, a document, submission."""

from __future__ import annotations

from typing import Any

import httpx

from loanflow.consents import APPLICATION_CONSENTS
from loanflow.forms import ApplicationKind, to_json
from tests.loanflow.factories import basic_info, detailed_info, image_bytes
from tests.service.journey import CSRF

BASE = "/v1/applications"


class Applicant:
    """A logged-in browser and its CSRF token; state changes carry the token."""

    def __init__(self, client: httpx.AsyncClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(BASE + path)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {CSRF: self.csrf} | kwargs.pop("headers", {})
        return await self.client.post(BASE + path, headers=headers, **kwargs)

    async def put(self, path: str, json: Any) -> httpx.Response:
        return await self.client.put(BASE + path, json=json, headers={CSRF: self.csrf})

    async def create(self, kind: ApplicationKind = ApplicationKind.FULL) -> str:
        response = await self.post("", json={"kind": kind.value, "product": "car"})
        assert response.status_code == 201, response.text
        return str(response.json()["application_id"])

    async def fill(self, application_id: str, kind: ApplicationKind) -> None:
        for path, form in (("basic", basic_info()), ("detailed", detailed_info(kind))):
            response = await self.put(f"/{application_id}/{path}", to_json(form))
            assert response.status_code == 200, response.text

    async def upload(self, application_id: str, data: bytes | None = None) -> httpx.Response:
        return await self.post(
            f"/{application_id}/files",
            params={"filename": "源泉徴収票.jpg"},
            content=image_bytes() if data is None else data,
            headers={"Content-Type": "image/jpeg"},
        )

    async def consent_all(self, application_id: str, kind: ApplicationKind) -> None:
        for document in APPLICATION_CONSENTS[kind]:
            opened = await self.post(f"/{application_id}/documents/{document.slug}/opened")
            assert opened.status_code == 201, opened.text
            accept = {"document": document.slug, "open_id": opened.json()["open_id"]}
            response = await self.post(f"/{application_id}/consents", json=accept)
            assert response.status_code == 204, response.text

    async def ready(self, kind: ApplicationKind = ApplicationKind.FULL) -> str:
        """A confirmed application with every consent (and a document when full)."""
        application_id = await self.create(kind)
        await self.fill(application_id, kind)
        if kind is ApplicationKind.FULL:
            assert (await self.upload(application_id)).status_code == 201
        confirmed = await self.post(f"/{application_id}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        await self.consent_all(application_id, kind)
        return application_id

    async def submitted(self, kind: ApplicationKind = ApplicationKind.FULL) -> str:
        application_id = await self.ready(kind)
        response = await self.post(f"/{application_id}/submit")
        assert response.status_code == 200, response.text
        return application_id
