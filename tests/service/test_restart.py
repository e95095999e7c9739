"""Restarting the daemon mid-flow loses nothing the applicant submitted.

The real daemon (``ekyc serve`` in a subprocess, a SQLite file under its state directory,
migrated at its first start, the local SMTP server) is killed (SIGKILL: a crash) or
stopped (SIGTERM) between the steps of one applicant's journey, and a new process on the
same files carries on:

1. register; crash -> the registration session still verifies the mailed code and sets
   the password (sessions are in the database);
2. log in, fill in, upload a document, consent, submit, write to the bank; stop ->
   still logged in, the document, message and answers are all there;
3. open the mailed eKYC URL, choose the My Number card, take front and tilt, get a
   challenge; crash -> the old capture token gets 401 ``capture_window_closed``, a new
   window shows the document and both shots; the challenge's frames are accepted;
4. take the selfie; crash -> a new window finishes: the verdict is recorded over the
   very bytes sent before the crashes (staff see the same sha256s).

Cookies are Secure and the daemon speaks plain http on loopback, so this client keeps
them itself (as a browser does for ``localhost``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from loanflow.calendar import earliest_loan_date
from loanflow.clock import JST, SystemClock
from loanflow.consents import APPLICATION_CONSENTS
from loanflow.forms import ApplicationKind, to_json
from service.capture_sessions import CAPTURE_HEADER
from tests.loanflow.conftest import Mailbox, free_port
from tests.loanflow.factories import basic_info, detailed_info, image_bytes
from tests.loanflow.test_applications import EKYC_MAIL, ekyc_token
from tests.service.ekyc_journey import jpeg
from tests.service.journey import PASSWORD, form
from tests.service.test_serve import STOP_TIMEOUT_S, wait_live

pytestmark = pytest.mark.slow

EMAIL = "restart@example.jp"
STAFF_TOKEN = "staff-token-" + "r" * 32
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
CODE_MAIL = "【ろうきん】認証コードのご案内"
LOGIN_ID_MAIL = "【ろうきん】ログインIDのご案内"
MAIL_WAIT_S = 30.0
FULL = ApplicationKind.FULL


class Browser:
    """An http client that keeps the daemon's cookies (Secure ones too) and CSRF token."""

    def __init__(self) -> None:
        self.base = ""
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf and method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        response = httpx.request(method, self.base + path, headers=headers, timeout=30, **kwargs)
        for line in response.headers.get_list("set-cookie"):
            name, _, value = line.split(";", 1)[0].partition("=")
            if "max-age=0" in line.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip('"')
        return response


class Daemon:
    """Starts ``ekyc serve`` processes on one state directory, one at a time."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, browser: Browser) -> None:
        port = free_port()
        command = [sys.executable, "-m", "ekyc.cli", "serve", "--host", "127.0.0.1"]
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [*command, "--port", str(port)], env=self.env, stderr=stderr
            )
        browser.base = f"http://127.0.0.1:{port}"
        assert wait_live(f"{browser.base}/health/live", self.process).status_code == 200

    def stop(self, how: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(how)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self.process = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemon(tmp_path: Path, mailbox: Mailbox) -> Iterator[Daemon]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env |= {
        "EKYC_STATE_DIR": str(tmp_path / "state"),
        "EKYC_SMTP_HOST": mailbox.host,
        "EKYC_SMTP_PORT": str(mailbox.port),
        "EKYC_MAIL_RETRY_INTERVAL_S": "1",
        "EKYC_PRELOAD_MODELS": "false",
        "EKYC_ARGON2_TIME_COST": "1",
        "EKYC_ARGON2_MEMORY_KIB": "8",
        "EKYC_ARGON2_PARALLELISM": "1",
        "EKYC_STAFF_TOKEN_SHA256": json.dumps(
            {"reviewer-1": hashlib.sha256(STAFF_TOKEN.encode()).hexdigest()}
        ),
    }
    running = Daemon(env, tmp_path / "daemon.log")
    try:
        yield running
    finally:
        running.close()


def until(found: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + MAIL_WAIT_S
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"no {what} within {MAIL_WAIT_S} s")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_nothing_submitted_is_lost(daemon: Daemon, mailbox: Mailbox, tmp_path: Path) -> None:
    web = Browser()

    # 1. Registration, then a crash before the mailed code is entered.
    daemon.start(web)
    terms = ok(web("POST", "/v1/mypage/terms-opened"), 201)["terms_open_id"]
    web.csrf = ok(web("POST", "/v1/mypage/registrations", json=form(terms, EMAIL)), 201)[
        "csrf_token"
    ]
    until(lambda: mailbox.received(EMAIL, CODE_MAIL), "code mail")
    daemon.stop(signal.SIGKILL)

    daemon.start(web)
    ok(web("POST", "/v1/mypage/registration/code", json={"code": mailbox.code_for(EMAIL)}), 204)
    password = {"password": PASSWORD, "password_confirmation": PASSWORD}
    ok(web("POST", "/v1/mypage/registration/password", json=password), 204)
    until(lambda: mailbox.received(EMAIL, LOGIN_ID_MAIL), "login ID mail")
    login = {"login_id": mailbox.login_id_for(EMAIL), "password": PASSWORD}
    web.csrf = ok(web("POST", "/v1/mypage/login", json=login))["csrf_token"]

    # 2. The application, submitted, then a graceful stop.
    application = ok(web("POST", "/v1/applications", json={"kind": "full", "product": "car"}), 201)
    base = f"/v1/applications/{application['application_id']}"
    today = SystemClock().now().astimezone(JST).date()
    detailed = detailed_info(FULL, desired_loan_date=earliest_loan_date(today + timedelta(days=7)))
    ok(web("PUT", f"{base}/basic", json=to_json(basic_info())))
    ok(web("PUT", f"{base}/detailed", json=to_json(detailed)))
    document = image_bytes(seed=21)
    uploaded = web(
        "POST",
        f"{base}/files",
        params={"filename": "源泉徴収票.jpg"},
        content=document,
        headers={"Content-Type": "image/jpeg"},
    )
    file_id = ok(uploaded, 201)["id"]
    ok(web("POST", f"{base}/confirm"))
    for consent in APPLICATION_CONSENTS[FULL]:
        opened = ok(web("POST", f"{base}/documents/{consent.slug}/opened"), 201)
        accept = {"document": consent.slug, "open_id": opened["open_id"]}
        ok(web("POST", f"{base}/consents", json=accept), 204)
    ok(web("POST", f"{base}/submit"))
    ok(web("POST", f"{base}/messages", json={"body": "再起動の前に"}), 201)
    until(lambda: mailbox.received(EMAIL, EKYC_MAIL), "eKYC mail")
    daemon.stop(signal.SIGTERM)

    daemon.start(web)
    assert ok(web("GET", "/v1/mypage/session"))["scope"] == "applicant"
    detail = ok(web("GET", base))
    assert detail["summary"]["status"] == "submitted"
    assert {c["document"] for c in detail["consents"]} == {
        c.slug for c in APPLICATION_CONSENTS[FULL]
    }
    assert detail["detailed"]["desired_loan_date"] == detailed.desired_loan_date.isoformat()
    [stored] = ok(web("GET", f"{base}/files"))
    assert stored["sha256"] == hashlib.sha256(document).hexdigest()
    staff = f"/v1/staff/applications/{application['application_id']}"
    assert web("GET", f"{staff}/files/{file_id}", headers=STAFF).content == document
    thread = ok(web("GET", f"{staff}/messages", headers=STAFF))
    assert [m["body"] for m in thread] == ["再起動の前に"]

    # 3. eKYC: front, tilt and a challenge, then a crash.
    url_token = ekyc_token(mailbox, EMAIL)
    opened = ok(web("POST", "/v1/ekyc/sessions", json={"token": url_token}), 201)
    capture = {CAPTURE_HEADER: opened["capture_token"]}
    chosen = {"document_type": "my_number_card"}
    ok(web("POST", "/v1/ekyc/document", json=chosen, headers=capture))
    shots = {"front": jpeg(seed=31), "tilt": jpeg(seed=32), "selfie": jpeg(seed=33)}

    def shoot(name: str, headers: dict[str, str]) -> None:
        image = {"Content-Type": "image/jpeg"} | headers
        ok(web("POST", f"/v1/ekyc/shot/{name}", content=shots[name], headers=image), 201)

    shoot("front", capture)
    shoot("tilt", capture)
    challenge = ok(web("POST", "/v1/ekyc/challenge", headers=capture), 201)
    daemon.stop(signal.SIGKILL)

    daemon.start(web)
    closed = web("GET", "/v1/ekyc/session", headers=capture)
    assert closed.status_code == 401, closed.text
    assert closed.json()["reason"] == "capture_window_closed"
    reopened = ok(web("POST", "/v1/ekyc/sessions", json={"token": url_token}), 201)
    assert reopened["session_id"] == opened["session_id"]
    assert reopened["document_type"] == "my_number_card"
    assert reopened["shots_taken"] == ["front", "tilt"]
    capture = {CAPTURE_HEADER: reopened["capture_token"]}
    frame = base64.b64encode(jpeg(320, 240, seed=34)).decode("ascii")
    recording = {
        "nonce": challenge["nonce"],  # the challenge issued before the crash
        "started_at": challenge["issued_at"],
        "frames": [{"t_ms": 100.0 * i, "image": frame} for i in range(4)],
    }
    ok(web("POST", "/v1/ekyc/challenge/frames", json=recording, headers=capture), 201)

    # 4. The selfie, a crash, and the verdict from a new process.
    shoot("selfie", capture)
    daemon.stop(signal.SIGKILL)

    daemon.start(web)
    reopened = ok(web("POST", "/v1/ekyc/sessions", json={"token": url_token}), 201)
    assert reopened["shots_taken"] == ["front", "tilt", "selfie"]
    frames_file = tmp_path / "state" / "liveness" / opened["session_id"] / "frames.json"
    assert json.loads(frames_file.read_text())["frames"] == recording["frames"]
    capture = {CAPTURE_HEADER: reopened["capture_token"]}
    verdict = ok(web("POST", "/v1/ekyc/finish", headers=capture))
    assert verdict["session_id"] == opened["session_id"]
    assert verdict["decision"] in ("accept", "review", "reject")
    status = {"accept": "accepted", "review": "review", "reject": "rejected"}
    assert ok(web("GET", base))["ekyc_status"] == status[verdict["decision"]]
    assert not frames_file.exists()  # the recording goes once the verdict is kept
    taken = ok(web("GET", f"{staff}/ekyc/shots", headers=STAFF))
    assert {s["shot"]: s["sha256"] for s in taken} == {
        name: hashlib.sha256(data).hexdigest() for name, data in shots.items()
    }
    daemon.stop(signal.SIGTERM)
