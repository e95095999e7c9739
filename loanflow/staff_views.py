"""What the bank's staff read about one application: messages, files and eKYC shots.

The applicant's views (``mypage_views``, ``messages.list_messages``,
``documents.read_file``) check ownership; these take a staff id instead and reach any
application. Reading file or image bytes is personal data leaving the database, so it is
audited (``file.read``, ``ekyc_shot.read``, actor ``staff:<id>``) in the same
transaction; listings are not.

Only what was stored can be read: a My Number card's back is refused before it is
decoded (``ekyc_session.add_shot``), so no shot of it exists to list or download.

A reviewer may re-run the verification of the recorded shots (``bank_verified_shots`` then
``bank_record_rerun``): the 7-year record stays as it was (append-only, one per session);
the re-run's outcome goes to the audit trail (``ekyc.rerun``) with its models' hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ekyc.types import DocumentType, Shot
from loanflow.access import record, staff_actor
from loanflow.application_tables import (
    Application,
    ApplicationFile,
    Blob,
    EkycRefusal,
    EkycSession,
    EkycShot,
    EkycVerification,
    Message,
)
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.documents import StoredFile, list_files, stored_file
from loanflow.ekyc_session import CHALLENGE_STEP
from loanflow.errors import NotFound
from loanflow.messages import MessageView, message_view
from loanflow.verifier import VerifierOutcome

__all__ = [
    "RecordedVerification",
    "RefusalView",
    "ShotView",
    "bank_files",
    "bank_messages",
    "bank_read_file",
    "bank_read_shot",
    "bank_record_rerun",
    "bank_refusals",
    "bank_shots",
    "bank_verified_shots",
]


@dataclass(frozen=True, slots=True)
class ShotView:
    """One stored eKYC image of an application; ``current`` is the one a retake left."""

    id: int
    session_id: str
    document_type: DocumentType | None
    shot: Shot
    sha256: str
    taken_at: datetime
    current: bool


@dataclass(frozen=True, slots=True)
class RefusalView:
    """A shot refused on arrival for a retake: which step, why (a lower-case ``ekyc``
    reason code such as ``flat_reproduction``), when. Its bytes were never stored.

    ``shot`` is ``"challenge"`` (``ekyc_session.CHALLENGE_STEP``) for a liveness challenge
    recording asked again (``face_turned_at_rest`` and the like): a new challenge replaced
    it, and its frames were dropped."""

    session_id: str
    shot: Shot | Literal["challenge"]
    reason: str
    refused_at: datetime


def _application(session: Session, application_id: str) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("no such application", application_id=application_id)
    return application


def bank_messages(db: SessionFactory, application_id: str) -> tuple[MessageView, ...]:
    """The application's thread with the applicant, oldest first.

    Raises:
        NotFound: No such application.
    """
    with transaction(db) as session:
        _application(session, application_id)
        rows = session.scalars(
            sa.select(Message)
            .where(Message.application_id == application_id)
            .order_by(Message.sent_at, Message.id)
        )
        return tuple(message_view(row) for row in rows)


def bank_files(db: SessionFactory, application_id: str) -> tuple[StoredFile, ...]:
    """The application's files (the applicant's uploads and the contract), oldest first.

    Raises:
        NotFound: No such application.
    """
    with transaction(db) as session:
        _application(session, application_id)
        return list_files(session, application_id)


def _checked(data: bytes, sha256: str) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256:  # pragma: no cover (storage fault)
        raise RuntimeError(f"blob {sha256} does not match its hash")
    return data


def bank_read_file(
    db: SessionFactory, application_id: str, file_id: str, staff_id: str, *, clock: Clock
) -> tuple[StoredFile, bytes]:
    """A file of the application and its bytes (checked against the sha256); audited.

    Raises:
        NotFound: No such application, or no such file on it.
    """
    with transaction(db) as session:
        application = _application(session, application_id)
        row = session.get(ApplicationFile, file_id)
        if row is None or row.application_id != application_id:
            raise NotFound("no such file", file_id=file_id)
        data = session.get_one(Blob, row.sha256).data
        detail = {"file_id": row.id, "sha256": row.sha256}
        actor = staff_actor(staff_id)
        record(session, application, at=clock.now(), actor=actor, action="file.read", detail=detail)
        return stored_file(row), _checked(data, row.sha256)


def _shot_rows(session: Session, application_id: str) -> list[tuple[EkycShot, EkycSession]]:
    rows = session.execute(
        sa.select(EkycShot, EkycSession)
        .join(EkycSession, EkycShot.session_id == EkycSession.id)
        .where(EkycSession.application_id == application_id)
        .order_by(EkycShot.taken_at, EkycShot.id)
    )
    return [(shot, ekyc) for shot, ekyc in rows]


def _shot_view(shot: EkycShot, ekyc: EkycSession, current: bool) -> ShotView:
    return ShotView(
        id=shot.id,
        session_id=ekyc.id,
        document_type=DocumentType(ekyc.document_type) if ekyc.document_type else None,
        shot=Shot(shot.shot),
        sha256=shot.sha256,
        taken_at=shot.taken_at,
        current=current,
    )


def bank_shots(db: SessionFactory, application_id: str) -> tuple[ShotView, ...]:
    """Every stored eKYC image of the application, over all its sessions, oldest first.

    Raises:
        NotFound: No such application.
    """
    with transaction(db) as session:
        _application(session, application_id)
        return _views(session, application_id)


def bank_refusals(db: SessionFactory, application_id: str) -> tuple[RefusalView, ...]:
    """Every shot refused on arrival for a retake, over all the application's sessions,
    oldest first: how the applicant got to the shots that were kept (a reviewer weighs a
    tilted shot kept after two judged "no thickness" refusals differently).

    Raises:
        NotFound: No such application.
    """
    with transaction(db) as session:
        _application(session, application_id)
        rows = session.scalars(
            sa.select(EkycRefusal)
            .join(EkycSession, EkycRefusal.session_id == EkycSession.id)
            .where(EkycSession.application_id == application_id)
            .order_by(EkycRefusal.refused_at, EkycRefusal.id)
        )
        return tuple(
            RefusalView(row.session_id, _step(row.shot), row.reason, row.refused_at) for row in rows
        )


def _step(value: str) -> Shot | Literal["challenge"]:
    return "challenge" if value == CHALLENGE_STEP else Shot(value)


def bank_read_shot(
    db: SessionFactory, application_id: str, shot_id: int, staff_id: str, *, clock: Clock
) -> tuple[ShotView, bytes]:
    """One eKYC image of the application and its bytes; audited.

    Raises:
        NotFound: No such application, or no such image of it.
    """
    with transaction(db) as session:
        application = _application(session, application_id)
        views = {view.id: view for view in _views(session, application_id)}
        view = views.get(shot_id)
        if view is None:
            raise NotFound("no such eKYC image", shot_id=shot_id)
        data = session.get_one(Blob, view.sha256).data
        detail = {"shot_id": view.id, "shot": view.shot.value, "sha256": view.sha256}
        actor = staff_actor(staff_id)
        at = clock.now()
        record(session, application, at=at, actor=actor, action="ekyc_shot.read", detail=detail)
        return view, _checked(data, view.sha256)


def _views(session: Session, application_id: str) -> tuple[ShotView, ...]:
    rows = _shot_rows(session, application_id)
    latest = {(ekyc.id, shot.shot): shot.id for shot, ekyc in rows}  # later rows (retakes) win
    return tuple(
        _shot_view(shot, ekyc, latest[ekyc.id, shot.shot] == shot.id) for shot, ekyc in rows
    )


@dataclass(frozen=True, slots=True)
class RecordedVerification:
    """The latest recorded verification of an application, with the bytes it judged."""

    session_id: str
    document_type: DocumentType
    decision: str
    reasons: tuple[str, ...]
    verifier: str
    verified_at: datetime
    shots: Mapping[Shot, bytes]


def bank_verified_shots(
    db: SessionFactory, application_id: str, staff_id: str, *, clock: Clock
) -> RecordedVerification:
    """The latest verification record and its shots' bytes (checked), for a re-run; audited.

    Raises:
        NotFound: No such application, or it has no recorded verification yet.
    """
    with transaction(db) as session:
        application = _application(session, application_id)
        row = session.scalars(
            sa.select(EkycVerification)
            .where(EkycVerification.application_id == application_id)
            .order_by(EkycVerification.verified_at.desc(), EkycVerification.id.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound("no verification recorded yet", application_id=application_id)
        hashes = {Shot(shot): str(sha) for shot, sha in row.image_sha256.items()}
        shots = {
            shot: _checked(session.get_one(Blob, sha).data, sha) for shot, sha in hashes.items()
        }
        detail = {"session_id": row.session_id, "image_sha256": row.image_sha256}
        actor = staff_actor(staff_id)
        record(session, application, at=clock.now(), actor=actor, action="ekyc.read", detail=detail)
        return RecordedVerification(
            session_id=row.session_id,
            document_type=DocumentType(row.document_type),
            decision=row.decision,
            reasons=tuple(row.reasons.get("codes", ())),
            verifier=row.verifier,
            verified_at=row.verified_at,
            shots=shots,
        )


def bank_record_rerun(
    db: SessionFactory,
    application_id: str,
    session_id: str,
    staff_id: str,
    verifier_name: str,
    outcome: VerifierOutcome,
    *,
    clock: Clock,
) -> None:
    """Write a staff re-run's outcome to the audit trail (the record itself never changes).

    Raises:
        NotFound: No such application.
    """
    with transaction(db) as session:
        application = _application(session, application_id)
        detail = {
            "session_id": session_id,
            "verifier": verifier_name,
            "decision": outcome.decision.value,
            "reasons": list(outcome.reasons),
            "models": {ref.id: ref.sha256 for ref in outcome.models},
        }
        actor = staff_actor(staff_id)
        record(
            session, application, at=clock.now(), actor=actor, action="ekyc.rerun", detail=detail
        )
