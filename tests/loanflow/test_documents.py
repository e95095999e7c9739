"""Step 4: documents checked by ekyc's decoder, HEIF converted, stored by sha256, never lost."""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, nullcontext

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import applications, documents
from loanflow.application_tables import ApplicationFile, Blob
from loanflow.db import SessionFactory, transaction
from loanflow.errors import DocumentRejected, InvalidTransition, NotFound
from loanflow.tables import AppendOnlyViolation

from .conftest import FakeClock, Mailbox, snapshot
from .factories import activate, filled, image_bytes

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _rejected(reason: str) -> AbstractContextManager[object]:
    """``pytest.raises(DocumentRejected)`` that also checks its ``reason``."""
    return _Rejected(reason)


class _Rejected:
    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.raises = pytest.raises(DocumentRejected)

    def __enter__(self) -> object:
        self.info = self.raises.__enter__()
        return self.info

    def __exit__(self, *exc_info: object) -> bool:
        handled = self.raises.__exit__(*exc_info)  # type: ignore[arg-type]
        assert self.info.value.context["reason"] == self.reason
        return handled


class TestPrepareUpload:
    @pytest.mark.parametrize(
        ("data", "media_type", "expectation"),
        [
            (image_bytes("JPEG"), "image/jpeg", nullcontext()),
            (image_bytes("PNG"), "image/png", nullcontext()),
            (PDF, "application/pdf", nullcontext()),
            (image_bytes("HEIF"), "image/jpeg", nullcontext()),  # converted on arrival
            (image_bytes("WEBP"), None, _rejected("unsupported_format")),
            (image_bytes("GIF"), None, _rejected("unsupported_format")),
            (b"hello, not an image", None, _rejected("unsupported_format")),
            (image_bytes("JPEG")[:200], None, _rejected("corrupt_image")),
            (b"", None, _rejected("corrupt_image")),
        ],
    )
    def test_formats(
        self, data: bytes, media_type: str | None, expectation: AbstractContextManager[object]
    ) -> None:
        with expectation:
            prepared = documents.prepare_upload(data, "C:\\写真\\scan.heic")
            assert prepared.media_type == media_type
            assert prepared.original_sha256 == hashlib.sha256(data).hexdigest()
            assert prepared.filename.startswith("scan.")

    def test_heif_becomes_a_jpeg_with_the_original_hash_kept(self) -> None:
        original = image_bytes("HEIF")
        prepared = documents.prepare_upload(original, "IMG_0001.HEIC")
        assert prepared.data[:3] == b"\xff\xd8\xff"
        assert (prepared.filename, prepared.original_format) == ("IMG_0001.jpg", "HEIF")

    @pytest.mark.parametrize(
        ("extra_bytes", "expectation"),
        [(0, nullcontext()), (1, _rejected("image_too_large"))],
    )
    def test_five_megabytes_at_most(
        self, extra_bytes: int, expectation: AbstractContextManager[object]
    ) -> None:
        data = image_bytes("PNG")
        padded = data + b"\0" * (documents.MAX_DOCUMENT_BYTES - len(data) + extra_bytes)
        with expectation:
            documents.prepare_upload(padded, "big.png")


class TestAddDocument:
    def test_stored_once_by_sha256_and_read_back(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant, _ = activate(db, clock, mailbox, "hanako@example.jp")
        application_id = filled(db, clock, applicant)
        jpeg = image_bytes("JPEG", seed=1)
        first = documents.add_document(db, applicant, application_id, "a.jpg", jpeg, clock=clock)
        again = documents.add_document(db, applicant, application_id, "b.jpg", jpeg, clock=clock)
        heif = documents.add_document(
            db, applicant, application_id, "c.heic", image_bytes("HEIF"), clock=clock
        )
        assert first.sha256 == again.sha256 == hashlib.sha256(jpeg).hexdigest()
        assert first.id != again.id
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(Blob)) == 2
        stored, data = documents.read_file(db, applicant, application_id, heif.id)
        assert stored.media_type == "image/jpeg"
        assert hashlib.sha256(data).hexdigest() == heif.sha256
        with pytest.raises(NotFound):
            documents.read_file(db, applicant, application_id, "no-such-file")

    def test_rejected_or_closed_changes_nothing(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant, _ = activate(db, clock, mailbox, "hanako@example.jp")
        application_id = filled(db, clock, applicant)
        before = snapshot(engine)
        with pytest.raises(DocumentRejected):
            documents.add_document(
                db, applicant, application_id, "x.gif", image_bytes("GIF"), clock=clock
            )
        assert snapshot(engine) == before
        applications.withdraw(db, applicant, application_id, "不要になった", clock=clock)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            documents.add_document(
                db, applicant, application_id, "x.png", image_bytes("PNG"), clock=clock
            )
        assert snapshot(engine) == before

    def test_files_are_never_lost(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant, _ = activate(db, clock, mailbox, "hanako@example.jp")
        application_id = filled(db, clock, applicant)
        stored = documents.add_document(
            db, applicant, application_id, "a.png", image_bytes("PNG"), clock=clock
        )
        with pytest.raises(AppendOnlyViolation), transaction(db) as session:
            session.delete(session.get_one(ApplicationFile, stored.id))
        for statement in (
            "DELETE FROM blobs",
            "UPDATE blobs SET size_bytes = 0",
            "DELETE FROM application_files",
        ):
            with (
                pytest.raises(sa.exc.DBAPIError, match="append-only"),
                engine.begin() as connection,
            ):
                connection.exec_driver_sql(statement)
        assert documents.read_file(db, applicant, application_id, stored.id)[0] == stored
