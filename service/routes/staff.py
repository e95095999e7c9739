"""Staff API: bank employees authenticate with a bearer token (``Authorization: Bearer``)::

    GET  /v1/staff/whoami
    POST /v1/staff/applications/{id}/review            take up a submitted application
    POST /v1/staff/applications/{id}/review/result     {result, bank_note?}; approval mails
                                                        the signing code
    GET  /v1/staff/applications/{id}/messages          the thread, oldest first
    POST /v1/staff/applications/{id}/messages          {body} to the applicant
    GET  /v1/staff/applications/{id}/files             uploads and the contract
    GET  /v1/staff/applications/{id}/files/{file_id}   the file's bytes (audited)
    GET  /v1/staff/applications/{id}/ekyc/shots        every stored eKYC image
    GET  /v1/staff/applications/{id}/ekyc/shots/{shot_id}   its bytes (audited)
    POST /v1/staff/applications/{id}/ekyc/rerun        re-run the latest recorded verification
                                                        on its stored shots (audited)
    POST /v1/staff/applications/{id}/signature         the bank's signature: contract filed

The staff id comes from the token and is written to the audit trail of each step, and of
each download of personal data. An applicant session opens none of these routes. A My
Number card's back is never stored, so no route can hand one out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Path
from fastapi.responses import Response

from loanflow import bank_sign, send_bank_message, set_review_result, start_review
from loanflow.staff_views import (
    bank_files,
    bank_messages,
    bank_read_file,
    bank_read_shot,
    bank_record_rerun,
    bank_refusals,
    bank_shots,
    bank_verified_shots,
)
from loanflow.verifier import Verifier as FlowVerifier
from service.application_schemas import FileOut, MessageIn, MessageOut, ReviewResultIn
from service.deps import ClockDep, CurrentStaff, DbDep, RuntimeDep
from service.ekyc_schemas import RefusalOut, RerunOut, StoredShotOut
from service.errors import NotReady
from service.runtime import Runtime
from service.schemas import StaffOut
from service.verification import PipelineVerifier, fallback_verifier

__all__ = ["router"]

router = APIRouter(prefix="/v1/staff", tags=["staff"])

ApplicationId = Annotated[str, Path(max_length=64)]
_BYTES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The bytes"}
}


@router.get("/whoami")
def whoami(staff_id: CurrentStaff) -> StaffOut:
    """The staff id the token belongs to (a check for the bank's back office)."""
    return StaffOut(staff_id=staff_id)


@router.post("/applications/{application_id}/review", status_code=204)
def review_start(
    application_id: ApplicationId, staff_id: CurrentStaff, db: DbDep, clock: ClockDep
) -> None:
    """Take up a submitted application (審査中)."""
    start_review(db, application_id, staff_id, clock=clock)


@router.post("/applications/{application_id}/review/result", status_code=204)
def review_result(
    application_id: ApplicationId,
    body: ReviewResultIn,
    staff_id: CurrentStaff,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> None:
    """Record the decision and the note shown to the applicant; approval opens the e-signature."""
    set_review_result(
        runtime.db, application_id, staff_id, body.result, clock=clock, bank_note=body.bank_note
    )
    background.add_task(runtime.mailer.deliver, clock)


@router.get("/applications/{application_id}/messages")
def messages(application_id: ApplicationId, _staff_id: CurrentStaff, db: DbDep) -> list[MessageOut]:
    """The application's thread with the applicant, oldest first."""
    return [MessageOut.of(m) for m in bank_messages(db, application_id)]


@router.post("/applications/{application_id}/messages", status_code=201)
def message_applicant(
    application_id: ApplicationId,
    body: MessageIn,
    staff_id: CurrentStaff,
    db: DbDep,
    clock: ClockDep,
) -> MessageOut:
    """Write to the applicant about the application."""
    return MessageOut.of(send_bank_message(db, application_id, staff_id, body.body, clock=clock))


@router.post("/applications/{application_id}/signature", status_code=201)
def bank_signature(
    application_id: ApplicationId,
    staff_id: CurrentStaff,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> FileOut:
    """The bank signs after the applicant: the contract is concluded and filed (mailed)."""
    stored = bank_sign(runtime.db, application_id, staff_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return FileOut.of(stored)


@router.get("/applications/{application_id}/files")
def files(application_id: ApplicationId, _staff_id: CurrentStaff, db: DbDep) -> list[FileOut]:
    """The application's files, oldest first (the applicant's uploads and the contract)."""
    return [FileOut.of(f) for f in bank_files(db, application_id)]


@router.get("/applications/{application_id}/files/{file_id}", responses=_BYTES)
def download_file(
    application_id: ApplicationId,
    file_id: Annotated[str, Path(max_length=64)],
    staff_id: CurrentStaff,
    db: DbDep,
    clock: ClockDep,
) -> Response:
    """One file's bytes, as stored (checked against its sha256); the download is audited."""
    stored, data = bank_read_file(db, application_id, file_id, staff_id, clock=clock)
    return _attachment(data, stored.media_type, stored.filename, stored.sha256)


@router.get("/applications/{application_id}/ekyc/shots")
def shots(application_id: ApplicationId, _staff_id: CurrentStaff, db: DbDep) -> list[StoredShotOut]:
    """Every stored eKYC image of the application (all sessions, retakes too), oldest first."""
    return [StoredShotOut.of(s) for s in bank_shots(db, application_id)]


@router.get("/applications/{application_id}/ekyc/refusals")
def refusals(application_id: ApplicationId, _staff_id: CurrentStaff, db: DbDep) -> list[RefusalOut]:
    """Every shot refused on arrival for a retake (never stored), oldest first: why and when."""
    return [RefusalOut.of(r) for r in bank_refusals(db, application_id)]


@router.get("/applications/{application_id}/ekyc/shots/{shot_id}", responses=_BYTES)
def download_shot(
    application_id: ApplicationId,
    shot_id: Annotated[int, Path(ge=1, le=2**62)],
    staff_id: CurrentStaff,
    db: DbDep,
    clock: ClockDep,
) -> Response:
    """One eKYC image's bytes, as the capture page sent them; the download is audited."""
    view, data = bank_read_shot(db, application_id, shot_id, staff_id, clock=clock)
    extension = _extension(data)
    media_type = _IMAGE_TYPES.get(extension, "application/octet-stream")
    filename = f"{view.session_id}-{view.shot.value}-{view.id}{extension}"
    return _attachment(data, media_type, filename, view.sha256)


@router.post("/applications/{application_id}/ekyc/rerun")
async def rerun(
    application_id: ApplicationId, staff_id: CurrentStaff, runtime: RuntimeDep, clock: ClockDep
) -> RerunOut:
    """Verify the latest recorded shots again with the models loaded now; the record stays.

    The re-run is judged as of the record's time (an ID valid then is still valid), in the
    CPU pool; its outcome and models go to the audit trail (``ekyc.rerun``).
    """
    recorded = await runtime.pool.run(
        bank_verified_shots, runtime.db, application_id, staff_id, clock=clock
    )
    verifier = _rerun_verifier(runtime, recorded.verified_at)
    outcome = await runtime.pool.run(verifier.verify, recorded.document_type, recorded.shots)
    await runtime.pool.run(
        bank_record_rerun,
        runtime.db,
        application_id,
        recorded.session_id,
        staff_id,
        verifier.name,
        outcome,
        clock=clock,
    )
    detail = verifier.verdict_json() if isinstance(verifier, PipelineVerifier) else None
    return RerunOut(
        session_id=recorded.session_id,
        document_type=recorded.document_type,
        recorded_decision=recorded.decision,
        recorded_reasons=list(recorded.reasons),
        recorded_verifier=recorded.verifier,
        verified_at=recorded.verified_at,
        decision=outcome.decision.value,
        reasons=list(outcome.reasons),
        verifier=verifier.name,
        models={ref.id: ref.sha256 for ref in outcome.models},
        verdict=detail,
    )


def _rerun_verifier(runtime: Runtime, at: datetime) -> FlowVerifier:
    pipeline = runtime.models.verifier
    if pipeline is None:
        if runtime.settings.preload_models:
            raise NotReady("the verification models are not loaded")
        return fallback_verifier()
    return PipelineVerifier(pipeline, challenge=None, frames=None, now=at)


_IMAGE_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".heic": "image/heic"}


def _extension(data: bytes) -> str:
    """The extension of a shot's format, from its magic bytes (shots are JPEG, PNG or HEIF)."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data[4:8] == b"ftyp":
        return ".heic"
    return ".bin"


def _attachment(data: bytes, media_type: str, filename: str, sha256: str) -> Response:
    """A download: never rendered inline by the browser, name in ASCII and in UTF-8."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    headers = {"Content-Disposition": disposition, "X-Content-SHA256": sha256}
    return Response(data, media_type=media_type, headers=headers)
