"""``ekyc serve``: a real uvicorn on a loopback port, started and stopped like a daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.loanflow.conftest import free_port

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def wait_live(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the daemon exited during start"
            try:
                return client.get(url)
            except httpx.TransportError:
                time.sleep(0.2)
    pytest.fail(f"no answer from {url} within {START_TIMEOUT_S} s")


def test_serve_with_no_configuration_then_sigterm(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env["EKYC_MAIL_RETRY_INTERVAL_S"] = "0"  # no SMTP server here
    port = free_port()
    log = tmp_path / "daemon.log"
    command = [sys.executable, "-m", "ekyc.cli", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=tmp_path, env=env, stderr=stderr
        )
        try:
            response = wait_live(f"http://127.0.0.1:{port}/health/live", process)
            assert response.json() == {"status": "ok"}
            process.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once shut down (a shell sees 128 + 15).
            assert process.wait(timeout=STOP_TIMEOUT_S) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert (tmp_path / "ekyc-data" / "loanflow.db").is_file()  # migrated at start
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in lines]
    assert any(m.startswith("ready:") for m in messages), log.read_text()
    assert messages[-3:] == ["stopped", "Application shutdown complete.", messages[-1]]
    assert any(entry.get("route") == "/health/live" for entry in lines)


def test_sigkill_of_ekyc_serve_ends_the_daemon(tmp_path: Path):
    # A supervisor's SIGKILL must not leave a daemon behind on the port and the database:
    # ``ekyc serve`` once ran it as a child, which survived (seen as orphans after tests).
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env["EKYC_MAIL_RETRY_INTERVAL_S"] = "0"
    port = free_port()
    command = [sys.executable, "-m", "ekyc.cli", "serve", "--host", "127.0.0.1", "--port"]
    process = subprocess.Popen([*command, str(port)], cwd=tmp_path, env=env)
    try:
        wait_live(f"http://127.0.0.1:{port}/health/live", process)
        process.kill()
        assert process.wait(timeout=STOP_TIMEOUT_S) == -signal.SIGKILL
        with httpx.Client(timeout=2.0) as client, pytest.raises(httpx.TransportError):
            client.get(f"http://127.0.0.1:{port}/health/live")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_settings_exit_78_without_echoing_secrets(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKYC_")}
    env |= {"EKYC_ENV": "production", "EKYC_SECRET_KEY": "too-short-secret-4711"}
    done = subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78
    assert "EKYC_SECRET_KEY" in done.stderr
    assert "4711" not in done.stderr
