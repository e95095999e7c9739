"""Applicant and staff application routes: the whole workflow over HTTP, and isolation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from loanflow.consents import CONTRACT_DOCUMENTS
from loanflow.db import create_engine
from loanflow.forms import ApplicationKind, to_json
from service.settings import Settings
from tests.loanflow.conftest import Mailbox
from tests.loanflow.factories import basic_info
from tests.loanflow.test_esign import esign_code
from tests.service.applications_journey import Applicant
from tests.service.conftest import browser
from tests.service.journey import assert_problem, logged_in

pytestmark = pytest.mark.anyio

EMAIL = "hanako@example.jp"
OTHER_EMAIL = "taro@example.jp"
STAFF_TOKEN = "staff-token-" + "s" * 32
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
FULL = ApplicationKind.FULL


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    digest = hashlib.sha256(STAFF_TOKEN.encode()).hexdigest()
    return make_settings(staff_token_sha256={"reviewer-1": digest})


@pytest.fixture
async def hanako(client: httpx.AsyncClient, mailbox: Mailbox) -> Applicant:
    return Applicant(client, await logged_in(client, mailbox, EMAIL))


@pytest.fixture
async def taro(other_client: httpx.AsyncClient, mailbox: Mailbox) -> Applicant:
    return Applicant(other_client, await logged_in(other_client, mailbox, OTHER_EMAIL))


def mark_ekyc_accepted(db_url: str, application_id: str) -> None:
    """The identity check, done directly (test_ekyc.py walks the real one)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE applications SET ekyc_status = 'accepted' WHERE id = :id"),
                {"id": application_id},
            )
    finally:
        engine.dispose()


class TestApplicantRoutes:
    async def test_needs_a_logged_in_session_and_csrf(
        self, app: FastAPI, client: httpx.AsyncClient, hanako: Applicant
    ):
        async with browser(app) as stranger:
            assert_problem(await stranger.get("/v1/applications"), 401, "not_authenticated")
        body = {"kind": "full", "product": "car"}
        assert_problem(await client.post("/v1/applications", json=body), 403, "csrf_failed")

    async def test_draft_to_submission(self, hanako: Applicant):
        application_id = await hanako.create()
        broken = to_json(basic_info(housing="rented"))  # the rent becomes required
        problem = assert_problem(
            await hanako.put(f"/{application_id}/basic", broken), 422, "validation_failed"
        )
        assert "monthly_rent_yen" in {e["field"] for e in problem["errors"]}
        wrong_type = to_json(basic_info()) | {"residence_years": "five"}
        assert_problem(
            await hanako.put(f"/{application_id}/basic", wrong_type), 422, "validation_failed"
        )
        await hanako.fill(application_id, FULL)
        uploaded = await hanako.upload(application_id)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["filename"] == "源泉徴収票.jpg"
        assert_problem(
            await hanako.upload(application_id, b"not an image"), 422, "document_rejected"
        )
        listed = await hanako.get(f"/{application_id}/files")
        assert [f["id"] for f in listed.json()] == [uploaded.json()["id"]]
        assert (await hanako.post(f"/{application_id}/confirm")).json() == {"revision": 2}
        early = await hanako.post(f"/{application_id}/submit")
        assert_problem(early, 409, "invalid_transition")
        await hanako.consent_all(application_id, FULL)
        done = await hanako.post(f"/{application_id}/submit")
        assert done.status_code == 200, done.text
        assert done.json()["ekyc_expires_at"] is not None

        index = await hanako.get("")
        assert [s["id"] for s in index.json()] == [application_id]
        assert index.json()[0]["status"] == "submitted"
        detail = (await hanako.get(f"/{application_id}")).json()
        assert detail["basic"]["employer"] == "株式会社ろうきん商事"
        assert detail["schedule"]["instalments"]
        assert {c["document"] for c in detail["consents"]} >= {"personal_info", "guarantee"}
        reissued = await hanako.post(f"/{application_id}/ekyc-url")
        assert reissued.status_code == 201, reissued.text

    async def test_upload_is_refused_before_it_is_read(self, hanako: Applicant):
        application_id = await hanako.create()
        big = b"\xff" * (256 * 1024 + 1)
        assert_problem(await hanako.upload(application_id, big), 413, "image_too_large")

    async def test_messages_copy_withdraw(self, hanako: Applicant, client: httpx.AsyncClient):
        application_id = await hanako.submitted(ApplicationKind.PROVISIONAL)
        sent = await hanako.post(f"/{application_id}/messages", json={"body": "よろしく"})
        assert sent.status_code == 201, sent.text
        assert_problem(
            await hanako.post(f"/{application_id}/messages", json={"body": " "}),
            422,
            "validation_failed",
        )
        staff = await client.post(
            f"/v1/staff/applications/{application_id}/messages",
            json={"body": "承りました"},
            headers=STAFF,
        )
        assert staff.status_code == 201, staff.text
        thread = (await hanako.get(f"/{application_id}/messages")).json()
        assert [(m["sender"], m["body"]) for m in thread] == [
            ("applicant", "よろしく"),
            ("bank", "承りました"),
        ]
        copied = await hanako.post(f"/{application_id}/copy")
        assert copied.status_code == 201, copied.text
        assert_problem(
            await hanako.post(f"/{application_id}/withdraw", json={"reason": ""}),
            422,
            "validation_failed",
        )
        gone = await hanako.post(f"/{application_id}/withdraw", json={"reason": "他行で借りた"})
        assert gone.status_code == 204, gone.text
        detail = (await hanako.get(f"/{application_id}")).json()
        assert detail["withdraw_reason"] == "他行で借りた"


class TestEsignatureAndStaff:
    async def test_review_sign_and_contract(
        self, hanako: Applicant, client: httpx.AsyncClient, mailbox: Mailbox, db_url: str
    ):
        application_id = await hanako.submitted()
        staff = f"/v1/staff/applications/{application_id}"
        assert_problem(await client.post(f"{staff}/review"), 401, "not_authenticated")
        assert (await client.post(f"{staff}/review", headers=STAFF)).status_code == 204
        mark_ekyc_accepted(db_url, application_id)
        result = {"result": "approved", "bank_note": "ご契約手続きをお願いします"}
        decided = await client.post(f"{staff}/review/result", json=result, headers=STAFF)
        assert decided.status_code == 204, decided.text
        detail = (await hanako.get(f"/{application_id}")).json()
        assert detail["bank_note"] == result["bank_note"]
        assert detail["esign_deadline"] is not None

        assert_problem(
            await hanako.post(f"/{application_id}/signature", json={"code": esign_code(mailbox)}),
            409,
            "invalid_transition",
        )  # contract documents first
        for document in CONTRACT_DOCUMENTS:
            opened = await hanako.post(f"/{application_id}/documents/{document.slug}/opened")
            accept = {"document": document.slug, "open_id": opened.json()["open_id"]}
            accepted = await hanako.post(f"/{application_id}/contract-documents", json=accept)
            assert accepted.status_code == 204, accepted.text
        reissued = await hanako.post(f"/{application_id}/signature/code")
        assert reissued.status_code == 201, reissued.text
        signed = await hanako.post(
            f"/{application_id}/signature", json={"code": esign_code(mailbox)}
        )
        assert signed.status_code == 204, signed.text

        contract = await client.post(f"{staff}/signature", headers=STAFF)
        assert contract.status_code == 201, contract.text
        assert contract.json()["kind"] == "contract"
        detail = (await hanako.get(f"/{application_id}")).json()
        assert detail["contracted_at"] is not None
        assert detail["summary"]["status"] == "contracted"

    async def test_full_application_after_an_approved_prescreening(
        self, hanako: Applicant, client: httpx.AsyncClient
    ):
        prescreen = await hanako.submitted(ApplicationKind.PROVISIONAL)
        assert_problem(await hanako.post(f"/{prescreen}/full"), 409, "invalid_transition")
        staff = f"/v1/staff/applications/{prescreen}"
        assert (await client.post(f"{staff}/review", headers=STAFF)).status_code == 204
        result = {"result": "approved"}
        decided = await client.post(f"{staff}/review/result", json=result, headers=STAFF)
        assert decided.status_code == 204, decided.text
        full = await hanako.post(f"/{prescreen}/full")
        assert full.status_code == 201, full.text
        detail = (await hanako.get(f"/{full.json()['application_id']}")).json()
        assert detail["summary"]["kind"] == "full"
        assert detail["basic"]["employer"] == "株式会社ろうきん商事"  # carried over

    async def test_unknown_application_is_404_for_staff(self, client: httpx.AsyncClient):
        response = await client.post("/v1/staff/applications/nope/review", headers=STAFF)
        assert_problem(response, 404, "not_found")


@pytest.fixture
async def hanakos_application(hanako: Applicant) -> str:
    return await hanako.submitted()


class TestIsolation:
    """Taro, logged in, names Hanako's application in every route family."""

    async def test_reads_are_forbidden(self, taro: Applicant, hanakos_application: str):
        for path in ("", "/files", "/messages"):
            assert_problem(await taro.get(f"/{hanakos_application}{path}"), 403, "forbidden")
        assert (await taro.get("")).json() == []

    async def test_changes_are_forbidden(
        self, taro: Applicant, hanako: Applicant, hanakos_application: str
    ):
        app = f"/{hanakos_application}"
        form = to_json(basic_info())
        assert_problem(await taro.put(f"{app}/basic", form), 403, "forbidden")
        attempts = [
            (f"{app}/confirm", None),
            (f"{app}/documents/personal_info/opened", None),
            (f"{app}/consents", {"document": "personal_info", "open_id": "x"}),
            (f"{app}/submit", None),
            (f"{app}/messages", {"body": "hello"}),
            (f"{app}/copy", None),
            (f"{app}/full", None),
            (f"{app}/withdraw", {"reason": "not mine"}),
            (f"{app}/ekyc-url", None),
            (f"{app}/contract-documents", {"document": "loan_terms", "open_id": "x"}),
            (f"{app}/signature", {"code": "123456"}),
            (f"{app}/signature/code", None),
        ]
        for path, body in attempts:
            assert_problem(await taro.post(path, json=body), 403, "forbidden")
        upload = await taro.upload(hanakos_application)
        assert_problem(upload, 403, "forbidden")
        # Nothing changed for Hanako.
        detail = (await hanako.get(app)).json()
        assert detail["summary"]["status"] == "submitted"
        assert len(detail["files"]) == 1
        assert (await hanako.get(f"{app}/messages")).json() == []
