"""The eKYC capture API, as the capture page (``/capture/``) drives it::

    POST /v1/ekyc/sessions          {token}  -> capture token (X-Capture-Token), window
    GET  /v1/ekyc/rules             the documents, their shots in order, no My Number back
    POST /v1/ekyc/document          {document_type}
    POST /v1/ekyc/frame             one preview JPEG -> guidance (+ ``capture``: take it now)
    POST /v1/ekyc/shot/{shot}       front, tilt, back, selfie: in the rule's order
    POST /v1/ekyc/challenge         a random liveness challenge, kept server-side
    POST /v1/ekyc/challenge/frames  {nonce, started_at, frames: [{t_ms, image (base64)}]}
                                    -> 201, or 422 retake_needed with a new challenge
    POST /v1/ekyc/finish            -> the verdict, recorded through loanflow

Everything after ``sessions`` needs the capture token: it binds an image to the session
and to the window in which the page was open, so a gallery upload without it is refused.
Capture tokens live in the daemon's memory (with the URL token they stand for, which the
database keeps only as a hash): after a restart, or once the window is over, a request
gets a 401 problem with ``reason: capture_window_closed``, and the page opens a new window
with the URL token it still holds and carries on. Nothing submitted is lost: the document
choice and the shots are in the database, the challenge and its frames on disk
(``LivenessFiles``); only the preview hold restarts.
Image decoding and the pipeline run in the CPU pool; database steps in threads.

A shot is looked at before it is stored (the loaded pipeline): a My Number card's back,
sent as any step or held up in the selfie, is a 409 ``step_not_allowed`` (``reason:
my_number_back``); a card step whose card is not whole and
read as the chosen document's side for that step is a 422 ``retake_needed`` (``reason``,
``shot``, ``observed``) and the page shoots it again. So is one judged blurred, glared
over, its printed portrait hidden, its name or date of birth not legible, not tilted to
about 45 degrees or without its thickness showing (``reason`` ``poor_quality``,
``glare_on_fields``, ``no_face_on_card``, ``key_fields_illegible``, ``tilt_not_shown``,
``flat_reproduction``), and a
selfie without exactly one usable face (``no_face_in_selfie``, ``selfie_quality``), at most
``loanflow.ekyc_session.JUDGED_RETAKES`` times per step (``retakes_left``); the next one
is kept and the verification decides. Neither is stored; the refusal is recorded.

A challenge recording is evaluated when it arrives (``challenge_frames``): one that failed
for a reason the applicant can fix (face turned at rest, eyes not open, mouth open at
rest: ``loanflow.ekyc_session.challenge_retake``) is a 422 ``retake_needed`` (``shot:
challenge``, ``reason``, ``message_ja``/``message_en``, ``retakes_left``) carrying a new
challenge that replaced the old one, at most ``challenge_retakes`` times per session; any
other recording is a 201 whatever its outcome, and ``finish`` reuses its evaluation.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ekyc.capture import Guide, assess_frame, decode_image, hold_guidance
from ekyc.config import DecodeLimits
from ekyc.errors import StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence, new_challenge, secure_rng
from ekyc.rules import DOCUMENT_RULES, rule_for
from ekyc.types import DocumentType, Shot
from loanflow import ekyc_session
from loanflow.clock import Clock
from loanflow.errors import InvalidTransition, RetakeNeeded
from loanflow.verifier import Verifier as FlowVerifier
from service.capture_sessions import CAPTURE_HEADER, CaptureState
from service.deps import ClockDep, RuntimeDep, rate_limit
from service.ekyc_schemas import (
    CaptureOpenIn,
    CaptureSessionOut,
    DocumentIn,
    DocumentRuleOut,
    FramesIn,
    GuidanceOut,
    RecordingOut,
    RulesOut,
    ShotOut,
    VerdictOut,
)
from service.errors import NotAuthenticated, NotReady
from service.routes.capture import IMAGE_BODY
from service.runtime import Runtime
from service.settings import Settings
from service.uploads import body_cap, read_image_upload
from service.verification import (
    Arrival,
    PipelineVerifier,
    decode_recording,
    fallback_verifier,
    recording_digest,
)

__all__ = ["body_limits", "router"]

router = APIRouter(prefix="/v1/ekyc", tags=["ekyc"])

_STALE_MS = 1500.0  # a gap this long in the preview restarts the hold rule


def body_limits(settings: Settings) -> dict[str, int]:
    """Body limits of the image and recording routes."""
    image = body_cap(settings.max_upload_bytes)
    return {
        "/v1/ekyc/frame": image,
        "/v1/ekyc/shot/{shot}": image,
        "/v1/ekyc/challenge/frames": settings.max_frames_bytes,
    }


def current_capture(request: Request, runtime: RuntimeDep, clock: ClockDep) -> CaptureState:
    """The capture window of the request's ``X-Capture-Token``."""
    token = request.headers.get(CAPTURE_HEADER)
    if not token:
        raise NotAuthenticated(
            f"images are accepted from the capture page only ({CAPTURE_HEADER} missing)",
            reason="no_capture_token",
        )
    state = runtime.captures.get(token, now=clock.now())
    if state is None:  # unknown (the daemon restarted, or never issued it) or its time is up
        raise NotAuthenticated(
            "the capture window is closed: open a new one with the URL's token "
            "(POST /v1/ekyc/sessions); the shots already taken are kept",
            reason="capture_window_closed",
        )
    return state


Capture = Annotated[CaptureState, Depends(current_capture)]


@router.post("/sessions", status_code=201, dependencies=[Depends(rate_limit("codes"))])
async def open_capture(
    body: CaptureOpenIn, runtime: RuntimeDep, clock: ClockDep
) -> CaptureSessionOut:
    """Open the mailed URL's session and a capture window on it (a new one each call)."""
    view = await asyncio.to_thread(ekyc_session.open_session, runtime.db, body.token, clock=clock)
    token, state = runtime.captures.open(
        body.token, view.session_id, now=clock.now(), until=view.expires_at
    )
    return CaptureSessionOut.of(view, capture_token=token, capture_expires_at=state.expires_at)


@router.get("/session")
async def session(state: Capture, runtime: RuntimeDep, clock: ClockDep) -> CaptureSessionOut:
    """Where the session stands (document, shots taken)."""
    view = await _view(runtime, state, clock)
    return CaptureSessionOut.of(view, capture_expires_at=state.expires_at)


@router.get("/rules")
async def rules() -> RulesOut:
    """The document rules: accepted documents and their shots in order (``ekyc.rules``)."""
    return RulesOut(documents=[DocumentRuleOut.of(rule) for rule in DOCUMENT_RULES.values()])


@router.post("/document")
async def choose_document(
    body: DocumentIn, state: Capture, runtime: RuntimeDep, clock: ClockDep
) -> CaptureSessionOut:
    """Pick the identity document (shots taken for another one are dropped)."""
    view = await asyncio.to_thread(
        ekyc_session.choose_document, runtime.db, state.url_token, body.document_type, clock=clock
    )
    return CaptureSessionOut.of(view, capture_expires_at=state.expires_at)


def _guidance(data: bytes, limits: DecodeLimits, state: CaptureState) -> GuidanceOut:
    image = decode_image(data, limits).image
    height, width = image.shape[:2]
    guidance = assess_frame(image, Guide.centred(width, height))
    arrived_ms = time.monotonic() * 1000
    with state.lock:
        history = state.guidance
        if history and arrived_ms - history[-1][0] > _STALE_MS:
            history.clear()
        history.append((arrived_ms, guidance))
        shown = hold_guidance([g for _, g in history], [t for t, _ in history])
    return GuidanceOut.of(guidance, shown, width, height)


@router.post("/frame", dependencies=[Depends(rate_limit("frames"))], openapi_extra=IMAGE_BODY)
async def frame(request: Request, state: Capture, runtime: RuntimeDep) -> GuidanceOut:
    """Guidance on one preview frame; ``capture`` says the card was held still long enough."""
    data = await read_image_upload(request, runtime.limits.max_bytes)
    return await runtime.pool.run(_guidance, data, runtime.limits, state)


def _check_step(document: DocumentType | None, shot: Shot, taken: tuple[Shot, ...]) -> None:
    """Refuse a shot the rules forbid or one out of order, before reading its bytes."""
    if document is None:
        raise InvalidTransition("choose the identity document first")
    steps = rule_for(document).shots
    if shot not in steps:
        if shot is Shot.BACK and document is DocumentType.MY_NUMBER_CARD:
            raise StepNotAllowed(
                "the back of the My Number card must not be photographed; the image was "
                "not read (個人番号カードの裏面は撮影できません)",
                reason="my_number_back",
            )
        raise StepNotAllowed(f"{document.value} has no {shot.value} shot", reason="no_such_shot")
    missing = [s.value for s in steps[: steps.index(shot)] if s not in taken]
    if missing:
        raise StepNotAllowed(
            f"take {', '.join(missing)} before {shot.value}", reason="out_of_order", missing=missing
        )


@router.post("/shot/{shot}", status_code=201, openapi_extra=IMAGE_BODY)
async def take_shot(
    shot: Shot, request: Request, state: Capture, runtime: RuntimeDep, clock: ClockDep
) -> ShotOut:
    """Store one shot of the session (a retake replaces it); arrival time recorded.

    Looked at first: 409 ``step_not_allowed`` (``reason: my_number_back``) for a My Number
    card's back (any step; in the selfie also one held up below or beside the face), 422
    ``retake_needed`` for a card step without the chosen card's side whole and read
    (``reason``, ``shot``, ``observed``), or judged blurred, glared, not tilted or without
    thickness, or a selfie without one usable face (``retakes_left``: a limited number of
    times per step). Neither is stored:
    the page shoots again.
    """
    view = await _view(runtime, state, clock)
    _check_step(view.document_type, shot, view.shots_taken)
    data = await read_image_upload(request, runtime.limits.max_bytes)
    received_at = clock.now()
    screen = runtime.models.verifier  # refuses a My Number back sent as any step, unstored
    if screen is None and runtime.settings.preload_models:
        raise NotReady("the verification models are not loaded")
    digest = await runtime.pool.run(
        ekyc_session.add_shot, runtime.db, state.url_token, shot, data, clock=clock,
        screen=screen,
    )  # fmt: skip
    with state.lock:
        state.guidance.clear()  # the next step starts its own hold
    taken = {*view.shots_taken, shot}
    steps = rule_for(view.document_type).shots if view.document_type else ()
    return ShotOut(
        shot=shot.value,
        sha256=digest,
        received_at=received_at,
        shots_taken=[s.value for s in steps if s in taken],
    )


# Per client and route (``Settings.rate_challenge``): a few challenges and recordings
# a minute; a retake's new challenge comes in the 422 and spends nothing.
_challenge_limit = [Depends(rate_limit("challenge"))]


@router.post("/challenge", status_code=201, dependencies=_challenge_limit)
async def challenge(state: Capture, runtime: RuntimeDep, clock: ClockDep) -> dict[str, object]:
    """A new random liveness challenge; it replaces any earlier one and its frames."""
    issued = new_challenge(secure_rng(), clock.now())
    await asyncio.to_thread(runtime.liveness.save_challenge, state.session_id, issued)
    return issued.to_dict()


@router.post("/challenge/frames", status_code=201, dependencies=_challenge_limit)
async def challenge_frames(
    body: FramesIn, state: Capture, runtime: RuntimeDep, clock: ClockDep
) -> RecordingOut:
    """The frames recorded while the challenge was shown, bound to it by its nonce.

    Frames for another nonce than the session's current challenge are a 409
    ``step_not_allowed`` (``reason: nonce``): a challenge replaced by a retake's new one
    is refused like any other replay. The recording is evaluated on arrival (the loaded
    pipeline, in the CPU pool): a failure the applicant can fix is a 422 ``retake_needed``
    with ``shot: challenge``, ``reason`` (``face_turned_at_rest``, ``eyes_not_open``,
    ``mouth_open_at_rest``), the advice (``message_ja``, ``message_en``), ``retakes_left``
    and the new ``challenge`` (actions, nonce, expiry) that replaced the old one; the
    frames are dropped and the refusal recorded. Everything else is a 201 with the same
    body whether the recording passed or not: a failure that is not about the applicant's
    posture (actions out of order or missing with no posture to explain it, another
    nonce, expired, a still image, another face) is told nothing here, since a hint would
    tell whoever made the recording what to change; ``finish`` judges it (its evaluation
    reused). See ``_judge_on_arrival`` for when a recording is not evaluated on arrival.
    """
    issued = await asyncio.to_thread(runtime.liveness.challenge, state.session_id)
    if issued is None or issued.nonce != body.nonce:
        raise StepNotAllowed("these frames answer no challenge of this session", reason="nonce")
    received_at = clock.now()
    recording = body.model_dump(mode="json") | {"received_at": received_at.isoformat()}
    # refuse bad frames now
    frames = await runtime.pool.run(decode_recording, recording, runtime.limits)
    await runtime.pool.run(
        _judge_on_arrival, runtime, state, issued, recording, frames, received_at, clock
    )
    return RecordingOut(frames=len(body.frames), received_at=received_at)


def _judge_on_arrival(runtime: Runtime, state: CaptureState, issued: Challenge,
                      recording: dict[str, object], frames: FrameSequence, received_at: datetime,
                      clock: Clock) -> None:  # fmt: skip
    """Evaluate a recording, keep it (and its evaluation), or ask for it again.

    Not evaluated here (kept, judged at ``finish`` as before): without loaded models,
    once the session's ``challenge_retakes`` were asked (the last recording is the one
    judged), or once ``challenge_retakes + 1`` recordings were evaluated on arrival (a
    client asking for new challenges itself gets no endless judged tries, nor costs the
    CPU pool one evaluation per try). The evaluation is the pipeline's own
    (``evaluate_challenge``, as of the recording's arrival, with the selfie stored now),
    so ``finish`` reuses it when the selfie is unchanged.

    Raises:
        RetakeNeeded: A failure the applicant can fix, while retakes are left: a new
            challenge replaced the old one (in the error's context).
    """
    files, session_id = runtime.liveness, state.session_id
    limit = runtime.settings.challenge_retakes
    pipeline = runtime.models.verifier
    evaluate = (
        pipeline is not None
        and files.judged(session_id) <= limit
        and ekyc_session.challenge_retakes_asked(runtime.db, state.url_token, clock=clock) < limit
    )
    if pipeline is None or not evaluate:
        files.save_frames(session_id, recording)
        return
    selfie = ekyc_session.latest_selfie(runtime.db, state.url_token, clock=clock)
    result = pipeline.evaluate_challenge(issued, frames, now=received_at, selfie=selfie)
    files.add_judged(session_id)
    advice = ekyc_session.challenge_retake(result)
    left = (
        ekyc_session.refuse_challenge(runtime.db, state.url_token, advice, clock=clock,
                                      limit=limit)
        if advice is not None else None
    )  # fmt: skip
    if advice is None or left is None:
        digest = hashlib.sha256(selfie).hexdigest() if selfie is not None else None
        files.save_frames(session_id, recording)
        arrival = Arrival(recording_digest(recording), issued.nonce, digest, result)
        files.save_arrival(session_id, arrival.to_dict())
        return
    renewed = new_challenge(secure_rng(), clock.now())
    files.save_challenge(session_id, renewed)  # the old nonce's frames are refused from now
    raise RetakeNeeded(
        f"{advice.message_en} A new challenge was issued: record it again "
        f"({advice.message_ja}新しい動作で、もう一度撮影してください)",
        reason=advice.code,
        shot=ekyc_session.CHALLENGE_STEP,
        retakes_left=left,
        message_ja=advice.message_ja,
        message_en=advice.message_en,
        challenge=renewed.to_dict(),
    )


@router.post("/finish")
async def finish(state: Capture, runtime: RuntimeDep, clock: ClockDep) -> VerdictOut:
    """Verify the shots (and the challenge recording) and record the verdict."""
    verifier = await runtime.pool.run(_verifier, runtime, state, clock.now())
    record = await runtime.pool.run(
        ekyc_session.finish, runtime.db, state.url_token, verifier, clock=clock
    )
    await asyncio.to_thread(runtime.liveness.delete, state.session_id)
    runtime.captures.close_session(state.session_id)
    detail = verifier.verdict_json() if isinstance(verifier, PipelineVerifier) else None
    return VerdictOut(
        session_id=record.session_id,
        decision=record.decision.value,
        reasons=list(record.reasons),
        verifier=verifier.name,
        verified_at=record.verified_at,
        verdict=detail,
    )


def _verifier(runtime: Runtime, state: CaptureState, now: datetime) -> FlowVerifier:
    pipeline = runtime.models.verifier
    if pipeline is None:
        if runtime.settings.preload_models:
            raise NotReady("the verification models are not loaded")
        return fallback_verifier()
    challenge = runtime.liveness.challenge(state.session_id)
    recording = runtime.liveness.frames(state.session_id)
    frames = decode_recording(recording, runtime.limits) if recording else None
    arrival = None
    if recording:  # liveness is judged as of the recording's arrival, not of the finish
        now = datetime.fromisoformat(str(recording["received_at"]))
        kept = runtime.liveness.arrival(state.session_id)
        arrival = Arrival.from_dict(kept) if kept is not None else None
    return PipelineVerifier(pipeline, challenge=challenge, frames=frames, now=now,
                            arrival=arrival, recording=recording)  # fmt: skip


async def _view(runtime: Runtime, state: CaptureState, clock: Clock) -> ekyc_session.SessionView:
    return await asyncio.to_thread(
        ekyc_session.open_session, runtime.db, state.url_token, clock=clock
    )
