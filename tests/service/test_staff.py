"""Staff reads: an application's messages, files and eKYC images, with staff tokens only."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from loanflow.db import create_engine
from tests.loanflow.conftest import Mailbox
from tests.loanflow.factories import image_bytes
from tests.loanflow.test_applications import ekyc_token
from tests.service.applications_journey import Applicant
from tests.service.ekyc_journey import count_rows, jpeg, open_capture, post_shot
from tests.service.journey import assert_problem
from tests.service.test_applications import EMAIL, STAFF, STAFF_TOKEN
from tests.service.test_applications import hanako as hanako
from tests.service.test_applications import settings as settings
from tests.service.test_applications import taro as taro

pytestmark = pytest.mark.anyio

STAFF_BASE = "/v1/staff/applications"
WRONG = {"Authorization": "Bearer " + "w" * len(STAFF_TOKEN)}


def audit_rows(db_url: str, action: str) -> list[tuple[str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT actor, subject_id FROM audit_log WHERE action = :a ORDER BY id"),
                {"a": action},
            )
            return [(str(actor), str(subject)) for actor, subject in rows]
    finally:
        engine.dispose()


async def assert_staff_only(client: httpx.AsyncClient, applicant: Applicant, path: str) -> None:
    """No token, a wrong token, or an applicant's session (cookie and CSRF): 401."""
    assert_problem(await client.get(path), 401, "not_authenticated")
    assert_problem(await client.get(path, headers=WRONG), 401, "not_authenticated")
    as_applicant = await applicant.client.get(path, headers={"X-CSRF-Token": applicant.csrf})
    assert_problem(as_applicant, 401, "not_authenticated")


class TestMessages:
    async def test_thread_both_ways(self, hanako: Applicant, client: httpx.AsyncClient):
        application_id = await hanako.create()
        path = f"{STAFF_BASE}/{application_id}/messages"
        assert (await client.get(path, headers=STAFF)).json() == []
        sent = await hanako.post(f"/{application_id}/messages", json={"body": "質問です"})
        assert sent.status_code == 201, sent.text
        reply = await client.post(path, json={"body": "お答えします"}, headers=STAFF)
        assert reply.status_code == 201, reply.text

        thread = await client.get(path, headers=STAFF)
        assert thread.status_code == 200, thread.text
        assert [(m["sender"], m["body"]) for m in thread.json()] == [
            ("applicant", "質問です"),
            ("bank", "お答えします"),
        ]
        # The applicant sees the same thread.
        assert (await hanako.get(f"/{application_id}/messages")).json() == thread.json()

    async def test_staff_only(self, hanako: Applicant, client: httpx.AsyncClient):
        application_id = await hanako.create()
        await assert_staff_only(client, hanako, f"{STAFF_BASE}/{application_id}/messages")
        sent = await hanako.client.post(
            f"{STAFF_BASE}/{application_id}/messages",
            json={"body": "なりすまし"},
            headers={"X-CSRF-Token": hanako.csrf},
        )
        assert_problem(sent, 401, "not_authenticated")

    async def test_unknown_application(self, client: httpx.AsyncClient):
        response = await client.get(f"{STAFF_BASE}/nope/messages", headers=STAFF)
        assert_problem(response, 404, "not_found")


class TestFiles:
    async def test_list_and_download(
        self, hanako: Applicant, client: httpx.AsyncClient, db_url: str
    ):
        application_id = await hanako.create()
        upload = image_bytes(seed=3)
        assert (await hanako.upload(application_id, upload)).status_code == 201

        listed = await client.get(f"{STAFF_BASE}/{application_id}/files", headers=STAFF)
        assert listed.status_code == 200, listed.text
        [entry] = listed.json()
        assert entry["filename"] == "源泉徴収票.jpg"
        assert entry["sha256"] == hashlib.sha256(upload).hexdigest()

        path = f"{STAFF_BASE}/{application_id}/files/{entry['id']}"
        download = await client.get(path, headers=STAFF)
        assert download.status_code == 200, download.text
        assert download.content == upload
        assert download.headers["content-type"] == "image/jpeg"
        assert download.headers["x-content-sha256"] == entry["sha256"]
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote('源泉徴収票.jpg')}" in disposition
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["cache-control"] == "no-store"
        assert audit_rows(db_url, "file.read") == [("staff:reviewer-1", application_id)]

    async def test_staff_only_and_no_cross_application_reads(
        self, hanako: Applicant, taro: Applicant, client: httpx.AsyncClient, db_url: str
    ):
        hanakos = await hanako.create()
        assert (await hanako.upload(hanakos)).status_code == 201
        [entry] = (await client.get(f"{STAFF_BASE}/{hanakos}/files", headers=STAFF)).json()
        path = f"{STAFF_BASE}/{hanakos}/files/{entry['id']}"
        await assert_staff_only(client, taro, path)
        await assert_staff_only(client, hanako, path)  # not even the owner, on staff routes
        await assert_staff_only(client, taro, f"{STAFF_BASE}/{hanakos}/files")

        taros = await taro.create()  # a file id is read under its own application only
        response = await client.get(f"{STAFF_BASE}/{taros}/files/{entry['id']}", headers=STAFF)
        assert_problem(response, 404, "not_found")
        assert_problem(
            await client.get(f"{STAFF_BASE}/nope/files", headers=STAFF), 404, "not_found"
        )
        assert audit_rows(db_url, "file.read") == []  # refused reads leave nothing to audit


class TestEkycRefusals:
    async def test_listed_for_staff_only(
        self, hanako: Applicant, taro: Applicant, client: httpx.AsyncClient
    ):
        # Refusals need the models' screen (tests/loanflow: a copy asked again twice); here
        # the route: an application without any, staff only, unknown applications 404.
        application_id = await hanako.create()
        path = f"{STAFF_BASE}/{application_id}/ekyc/refusals"
        listed = await client.get(path, headers=STAFF)
        assert listed.status_code == 200, listed.text
        assert listed.json() == []
        await assert_staff_only(client, hanako, path)
        await assert_staff_only(client, taro, path)
        missing = await client.get(f"{STAFF_BASE}/nope/ekyc/refusals", headers=STAFF)
        assert_problem(missing, 404, "not_found")


class TestEkycShots:
    async def test_my_number_images_without_a_back(
        self,
        hanako: Applicant,
        client: httpx.AsyncClient,
        mailbox: Mailbox,
        db_url: str,
    ):
        application_id = await hanako.submitted()
        capture = await open_capture(client, ekyc_token(mailbox, EMAIL))
        chosen = await client.post(
            "/v1/ekyc/document", json={"document_type": "my_number_card"}, headers=capture
        )
        assert chosen.status_code == 200, chosen.text
        sent = {"front": jpeg(seed=1), "tilt": jpeg(seed=2), "selfie": jpeg(seed=3)}
        for shot in ("front", "tilt"):
            assert (await post_shot(client, capture, shot, sent[shot])).status_code == 201
        refused = await post_shot(client, capture, "back", jpeg(seed=9))
        assert_problem(refused, 409, "step_not_allowed")
        retake = jpeg(seed=4)
        assert (await post_shot(client, capture, "front", retake)).status_code == 201
        assert (await post_shot(client, capture, "selfie", sent["selfie"])).status_code == 201

        path = f"{STAFF_BASE}/{application_id}/ekyc/shots"
        listed = await client.get(path, headers=STAFF)
        assert listed.status_code == 200, listed.text
        shots = listed.json()
        assert [(s["shot"], s["current"]) for s in shots] == [
            ("front", False),
            ("tilt", True),
            ("front", True),
            ("selfie", True),
        ]
        assert {s["document_type"] for s in shots} == {"my_number_card"}
        expected = [sent["front"], sent["tilt"], retake, sent["selfie"]]
        for shot, data in zip(shots, expected, strict=True):
            download = await client.get(f"{path}/{shot['id']}", headers=STAFF)
            assert download.status_code == 200, download.text
            assert download.content == data
            assert download.headers["content-type"] == "image/jpeg"
            assert download.headers["content-disposition"].startswith("attachment;")
        reads = audit_rows(db_url, "ekyc_shot.read")
        assert reads == [("staff:reviewer-1", application_id)] * 4

        await assert_staff_only(client, hanako, path)
        await assert_staff_only(client, hanako, f"{path}/{shots[0]['id']}")
        other = await hanako.create()
        response = await client.get(
            f"{STAFF_BASE}/{other}/ekyc/shots/{shots[0]['id']}", headers=STAFF
        )
        assert_problem(response, 404, "not_found")
        assert (await client.get(f"{STAFF_BASE}/{other}/ekyc/shots", headers=STAFF)).json() == []


class TestRerun:
    async def test_rerun_reproduces_the_record_and_leaves_it(
        self,
        hanako: Applicant,
        client: httpx.AsyncClient,
        mailbox: Mailbox,
        db_url: str,
    ):
        application_id = await hanako.submitted()
        path = f"{STAFF_BASE}/{application_id}/ekyc/rerun"
        assert_problem(await client.post(path, headers=STAFF), 404, "not_found")  # none yet
        capture = await open_capture(client, ekyc_token(mailbox, EMAIL))
        chosen = await client.post(
            "/v1/ekyc/document", json={"document_type": "my_number_card"}, headers=capture
        )
        assert chosen.status_code == 200, chosen.text
        for seed, shot in enumerate(("front", "tilt", "selfie"), start=1):
            assert (await post_shot(client, capture, shot, jpeg(seed=seed))).status_code == 201
        finished = await client.post("/v1/ekyc/finish", headers=capture)
        assert finished.status_code == 200, finished.text
        recorded = finished.json()

        for attempt in (
            await client.post(path),
            await client.post(path, headers=WRONG),
            await hanako.client.post(path, headers={"X-CSRF-Token": hanako.csrf}),
        ):
            assert_problem(attempt, 401, "not_authenticated")
        assert_problem(await client.post(f"{STAFF_BASE}/nope/ekyc/rerun", headers=STAFF), 404,
                       "not_found")  # fmt: skip

        response = await client.post(path, headers=STAFF)
        assert response.status_code == 200, response.text
        rerun = response.json()
        # The same verifier on the same stored bytes gives the recorded outcome again.
        assert rerun["session_id"] == recorded["session_id"]
        assert rerun["document_type"] == "my_number_card"
        assert rerun["recorded_decision"] == recorded["decision"] == rerun["decision"]
        assert rerun["recorded_reasons"] == recorded["reasons"] == rerun["reasons"]
        assert rerun["recorded_verifier"] == recorded["verifier"] == rerun["verifier"]
        assert rerun["verdict"] is None  # decode-check: the test settings preload no model
        # The 7-year record is untouched; the re-run is in the audit trail, by whom.
        assert count_rows(db_url, "ekyc_verifications") == 1
        assert audit_rows(db_url, "ekyc.read") == [("staff:reviewer-1", application_id)]
        assert audit_rows(db_url, "ekyc.rerun") == [("staff:reviewer-1", application_id)]
