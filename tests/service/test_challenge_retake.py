"""POST /v1/ekyc/challenge/frames judged on arrival: a retake for what the applicant can fix.

Real models (loaded once for the module and handed to each test's daemon) and real
recordings: skimage's astronaut moved by the synthetic face rig
(``benchmarks.synth.challenge``), once as photographed and once turned 65 degrees in its
photo, the pose it rests in (FaceMesh reads ~38 degrees at rest, over
``ActiveConfig.max_rest_yaw_deg``; the turn right goes out of its reach, as LFW's seed
23030's 42 degrees did). The daemon's challenges come from a seeded generator so that the
tests know what is asked (``SEED``) and each recording is rendered once.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from service.runtime import Models
from service.settings import Settings
from tests.loanflow.conftest import FakeClock, Mailbox
from tests.service.ekyc_journey import count_rows, open_capture, submitted_token
from tests.service.journey import assert_problem

pytestmark = [pytest.mark.anyio, pytest.mark.models, pytest.mark.slow]

# new_challenge's first two draws from default_rng(9): (blink, turn_right), then
# (look_up, turn_right, blink): a turn right in both, which the turned face cannot show.
SEED = 9
FIRST = ("blink", "turn_right")
RECORDING_KEYS = {"frames", "received_at"}  # a 201's body: the same whatever the outcome

Daemon = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@functools.cache
def loaded_models() -> Models:
    from service.runtime import _load_models

    models = _load_models(Settings(preload_models=True))
    assert models.verifier is not None, models.error
    models.verifier.tracker()  # FaceMesh, which the daemon loads on the first challenge
    return models


@functools.cache
def performance(pose: str, actions: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """The astronaut (``pose``: ``"facing"`` or ``"turned"`` at rest) doing ``actions``:
    the frames as the capture page sends them (``t_ms``, base64 JPEG)."""
    from benchmarks.synth import face_rig
    from benchmarks.synth.challenge import challenge_frames
    from benchmarks.synth.selfie import astronaut_face
    from tests.factories import encode

    face = astronaut_face()
    if pose == "turned":
        rig = face_rig.face_rig(face)
        assert rig is not None
        face = face_rig.render(face, rig, face_rig.rotate(rig, 65.0, 0.0), turned=True)
    recorded = challenge_frames(face, actions, np.random.default_rng(3), frames_per_action=7)
    return tuple(
        {"t_ms": t, "image": base64.b64encode(encode(image, "JPEG", quality=90)).decode()}
        for image, t in recorded
    )


def body(challenge: dict[str, Any], frames: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    return {"nonce": challenge["nonce"], "started_at": challenge["issued_at"],
            "frames": list(frames)}  # fmt: skip


@pytest.fixture
def url_token(db_url: str, clock: FakeClock, mailbox: Mailbox) -> str:
    return submitted_token(db_url, clock, mailbox)


@pytest.fixture
def daemon(
    make_settings: Callable[..., Settings],
    make_client: Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> Daemon:
    """A daemon with the module's models, issuing challenges from ``default_rng(SEED)``."""
    models = loaded_models()
    monkeypatch.setattr("service.runtime._load_models", lambda settings: models)
    rng = np.random.default_rng(SEED)
    monkeypatch.setattr("service.routes.ekyc.secure_rng", lambda: rng)

    def make(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return make_client(make_settings(preload_models=True, max_frames_bytes=16 << 20,
                                         **overrides))  # fmt: skip

    return make


async def session_dir(client: httpx.AsyncClient, capture: dict[str, str], root: Path) -> Path:
    session_id = (await client.get("/v1/ekyc/session", headers=capture)).json()["session_id"]
    return root / "liveness" / session_id


async def test_a_face_turned_at_rest_is_asked_again_with_a_new_challenge(
    daemon: Daemon, url_token: str, db_url: str
):
    async with daemon() as client:
        capture = await open_capture(client, url_token)
        challenge = (await client.post("/v1/ekyc/challenge", headers=capture)).json()
        assert tuple(challenge["actions"]) == FIRST
        sent = body(challenge, performance("turned", FIRST))
        response = await client.post("/v1/ekyc/challenge/frames", json=sent, headers=capture)
        problem = assert_problem(response, 422, "retake_needed")
        assert problem["shot"] == "challenge"
        assert problem["reason"] == "face_turned_at_rest"
        assert problem["retakes_left"] == 1  # of challenge_retakes=2
        assert "正面" in problem["message_ja"]
        assert "facing the screen" in problem["message_en"]
        renewed = problem["challenge"]
        assert renewed["nonce"] != challenge["nonce"]
        assert tuple(renewed["actions"]) == ("look_up", "turn_right", "blink")
        assert renewed["expires_at"] > renewed["issued_at"]
        assert count_rows(db_url, "ekyc_refusals") == 1
        # The old challenge's frames are a replay now.
        again = await client.post("/v1/ekyc/challenge/frames", json=sent, headers=capture)
        assert assert_problem(again, 409, "step_not_allowed")["reason"] == "nonce"
        assert count_rows(db_url, "ekyc_refusals") == 1


async def test_the_retakes_are_capped_then_the_recording_is_kept_for_the_finish(
    daemon: Daemon, url_token: str, db_url: str, settings: Settings
):
    async with daemon(challenge_retakes=1) as client:
        capture = await open_capture(client, url_token)
        folder = await session_dir(client, capture, settings.state_dir)
        challenge = (await client.post("/v1/ekyc/challenge", headers=capture)).json()
        turned = performance("turned", FIRST)
        response = await client.post(
            "/v1/ekyc/challenge/frames", json=body(challenge, turned), headers=capture
        )
        renewed = assert_problem(response, 422, "retake_needed")
        assert renewed["retakes_left"] == 0
        # The same turned face again, for the new challenge (a turn right among its
        # actions): no retake left, so it is kept unjudged, and the finish judges it.
        response = await client.post(
            "/v1/ekyc/challenge/frames", json=body(renewed["challenge"], turned), headers=capture
        )
        assert response.status_code == 201, response.text
        assert response.json().keys() == RECORDING_KEYS
        assert count_rows(db_url, "ekyc_refusals") == 1
        kept = json.loads((folder / "frames.json").read_text())
        assert kept["nonce"] == renewed["challenge"]["nonce"]
        assert not (folder / "arrival.json").exists()  # not evaluated on arrival


async def test_a_recording_in_the_wrong_order_gets_no_advice(
    daemon: Daemon, url_token: str, db_url: str, settings: Settings
):
    # The actions performed in another order than asked (what a recording made for another
    # challenge gives): a 201 like a pass, nothing to tell its maker; the finish judges it
    # with the evaluation made here.
    async with daemon() as client:
        capture = await open_capture(client, url_token)
        folder = await session_dir(client, capture, settings.state_dir)
        challenge = (await client.post("/v1/ekyc/challenge", headers=capture)).json()
        reordered = performance("facing", tuple(reversed(FIRST)))
        response = await client.post(
            "/v1/ekyc/challenge/frames", json=body(challenge, reordered), headers=capture
        )
        assert response.status_code == 201, response.text
        assert response.json().keys() == RECORDING_KEYS
        assert count_rows(db_url, "ekyc_refusals") == 0
        arrival = json.loads((folder / "arrival.json").read_text())
        assert arrival["nonce"] == challenge["nonce"]
        assert arrival["result"]["reasons"] == ["ACTIONS_OUT_OF_ORDER"]
        assert arrival["result"]["attack_type"] == "replayed_sequence"


async def test_a_still_image_gets_no_advice_and_judged_recordings_are_bounded(
    daemon: Daemon, url_token: str, db_url: str, settings: Settings
):
    # One frame repeated: a still image, judged (cheaply: no landmarks) and told nothing. A
    # client asking for new challenges itself is judged on arrival challenge_retakes + 1
    # times per session; later recordings are kept for the finish.
    still = performance("facing", tuple(reversed(FIRST)))[:1] * 8
    still = tuple({"t_ms": 100.0 * i, "image": f["image"]} for i, f in enumerate(still))
    async with daemon(challenge_retakes=1) as client:
        capture = await open_capture(client, url_token)
        folder = await session_dir(client, capture, settings.state_dir)
        for judged in (True, True, False):
            challenge = (await client.post("/v1/ekyc/challenge", headers=capture)).json()
            response = await client.post(
                "/v1/ekyc/challenge/frames", json=body(challenge, still), headers=capture
            )
            assert response.status_code == 201, response.text
            assert response.json().keys() == RECORDING_KEYS
            assert (folder / "arrival.json").exists() is judged
            if judged:
                result = json.loads((folder / "arrival.json").read_text())["result"]
                assert result["reasons"] == ["STATIC_SEQUENCE"]
        assert count_rows(db_url, "ekyc_refusals") == 0
