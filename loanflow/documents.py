"""Documents of an application (step 4): up to 5 MB each, any number, never lost.

Every upload is decoded by ``ekyc.decode_image`` before it is kept, so only files that
really are JPEG, PNG, PDF or HEIF images get in (the format is sniffed from the bytes,
never the name). HEIF (iPhones' default) is converted to JPEG on arrival, since browsers
at the bank cannot show it; the original's sha256 and format are kept with the file.

Bytes live in the ``blobs`` table keyed by their sha256 (stored once, in the same
transaction as the file row; the database refuses to change or delete either), so a file
shown under an application can always be read back and checked against its hash.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import ekyc
from ekyc.config import DecodeLimits
from ekyc.errors import InputError
from loanflow import audit
from loanflow.access import owned_application, record
from loanflow.application_tables import (
    Application,
    ApplicationFile,
    ApplicationStatus,
    Blob,
    FileKind,
)
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import DocumentRejected, InvalidTransition, NotFound

__all__ = [
    "DOCUMENT_LIMITS",
    "MAX_DOCUMENT_BYTES",
    "PreparedFile",
    "StoredFile",
    "add_document",
    "add_file",
    "list_files",
    "prepare_upload",
    "read_file",
    "store_blob",
    "stored_file",
]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # the guide: 5 MB per image
DOCUMENT_LIMITS = DecodeLimits(
    max_bytes=MAX_DOCUMENT_BYTES, allowed_formats=frozenset({"JPEG", "PNG", "PDF", "HEIF"})
)
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "PDF": "application/pdf"}
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "PDF": ".pdf"}
JPEG_QUALITY = 92  # HEIF conversion: visually lossless for document photos
CLOSED = frozenset({ApplicationStatus.WITHDRAWN, ApplicationStatus.DECLINED})


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """An upload checked and converted, ready to store."""

    data: bytes
    filename: str
    media_type: str
    original_sha256: str
    original_format: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file shown under an application."""

    id: str
    sha256: str
    filename: str
    media_type: str
    kind: FileKind
    original_format: str
    added_at: datetime


def _clean_name(filename: str, extension: str) -> str:
    stem = PurePath(filename.replace("\\", "/")).stem
    stem = "".join(ch for ch in stem if ch >= " " and ch != "\x7f").strip() or "document"
    return stem[:100] + extension


def prepare_upload(data: bytes, filename: str) -> PreparedFile:
    """Check ``data`` with ``ekyc.decode_image``; HEIF becomes JPEG. No database needed.

    Raises:
        DocumentRejected: Over 5 MB, not JPEG/PNG/PDF/HEIF, or undecodable; ``reason`` is
            the ``ekyc`` error code (``image_too_large``, ``unsupported_format``, ...).
    """
    try:
        frame = ekyc.decode_image(data, DOCUMENT_LIMITS)
    except InputError as error:
        raise DocumentRejected(error.message, reason=error.code) from error
    fmt = frame.metadata.source_format
    stored = data
    if fmt == "HEIF":
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, "JPEG", quality=JPEG_QUALITY)
        stored = buffer.getvalue()
    out_format = "JPEG" if fmt == "HEIF" else fmt
    return PreparedFile(
        data=stored,
        filename=_clean_name(filename, _EXTENSIONS[out_format]),
        media_type=_MEDIA_TYPES[out_format],
        original_sha256=frame.source_sha256,
        original_format=fmt,
    )


def store_blob(session: Session, data: bytes, now: datetime) -> str:
    """Keep ``data`` once under its sha256 (a second copy is a no-op); returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    values = {"sha256": digest, "size_bytes": len(data), "data": data, "created_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Blob).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
    return digest


def add_file(
    session: Session,
    application: Application,
    prepared: PreparedFile,
    *,
    kind: FileKind,
    actor: str,
    now: datetime,
) -> StoredFile:
    """Store ``prepared`` under ``application`` in the caller's transaction."""
    digest = store_blob(session, prepared.data, now)
    row = ApplicationFile(
        id=str(uuid.uuid4()),
        application_id=application.id,
        sha256=digest,
        kind=kind,
        filename=prepared.filename,
        media_type=prepared.media_type,
        original_sha256=prepared.original_sha256,
        original_format=prepared.original_format,
        added_at=now,
        added_by=actor,
    )
    session.add(row)
    record(
        session,
        application,
        at=now,
        actor=actor,
        action="file.added",
        detail={"file_id": row.id, "sha256": digest, "kind": kind.value},
    )
    return stored_file(row)


def stored_file(row: ApplicationFile) -> StoredFile:
    """The file row as a frozen value."""
    return StoredFile(
        id=row.id,
        sha256=row.sha256,
        filename=row.filename,
        media_type=row.media_type,
        kind=row.kind,
        original_format=row.original_format,
        added_at=row.added_at,
    )


def add_document(
    db: SessionFactory,
    applicant_id: str,
    application_id: str,
    filename: str,
    data: bytes,
    *,
    clock: Clock,
) -> StoredFile:
    """Add an applicant's document (any state but withdrawn or declined).

    Raises:
        DocumentRejected: See ``prepare_upload``; nothing is stored.
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: The application is withdrawn or declined.
    """
    prepared = prepare_upload(data, filename)  # decoding is slow: outside the transaction
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        if application.status in CLOSED:
            raise InvalidTransition("the application is closed", status=application.status)
        return add_file(
            session,
            application,
            prepared,
            kind=FileKind.UPLOAD,
            actor=audit.applicant_actor(applicant_id),
            now=now,
        )


def list_files(session: Session, application_id: str) -> tuple[StoredFile, ...]:
    """The application's files, oldest first."""
    rows = session.scalars(
        sa.select(ApplicationFile)
        .where(ApplicationFile.application_id == application_id)
        .order_by(ApplicationFile.added_at, ApplicationFile.id)
    )
    return tuple(stored_file(row) for row in rows)


def read_file(
    db: SessionFactory, applicant_id: str, application_id: str, file_id: str
) -> tuple[StoredFile, bytes]:
    """A file of the applicant's application and its bytes (checked against the sha256).

    Raises:
        NotFound, Forbidden: No such file / another applicant's application.
    """
    with transaction(db) as session:
        owned_application(session, applicant_id, application_id)
        row = session.get(ApplicationFile, file_id)
        if row is None or row.application_id != application_id:
            raise NotFound("no such file", file_id=file_id)
        data = session.get_one(Blob, row.sha256).data
    if hashlib.sha256(data).hexdigest() != row.sha256:  # pragma: no cover (storage fault)
        raise RuntimeError(f"blob {row.sha256} does not match its hash")
    return stored_file(row), data
