"""The applicant's loan applications (My Page, logged in), as the front end calls them::

    POST /v1/applications                           {kind, product} -> a draft
    GET  /v1/applications                           the list, newest first
    GET  /v1/applications/{id}                      the detail page
    PUT  /v1/applications/{id}/basic                基本情報  -> revision
    PUT  /v1/applications/{id}/detailed             詳細情報  -> revision
    POST /v1/applications/{id}/confirm              the confirmation screen -> revision
    POST /v1/applications/{id}/documents/{doc}/opened   a consent or contract document shown
    POST /v1/applications/{id}/consents             {document, open_id}
    POST /v1/applications/{id}/files                one document image/PDF (size-limited)
    GET  /v1/applications/{id}/files
    POST /v1/applications/{id}/submit               mails the receipt (and the eKYC URL)
    GET|POST /v1/applications/{id}/messages
    POST /v1/applications/{id}/copy                 a new draft with the same answers
    POST /v1/applications/{id}/full                 the full application after a pre-screening
    POST /v1/applications/{id}/withdraw             {reason}
    POST /v1/applications/{id}/ekyc-url             mail a new eKYC URL
    POST /v1/applications/{id}/contract-documents   {document, open_id}  (e-signature)
    POST /v1/applications/{id}/signature            {code}  the mailed signing code
    POST /v1/applications/{id}/signature/code       mail a new signing code

Every route needs an applicant session (state changes: its CSRF token too). The applicant
id comes from the session only; an application id of another applicant is answered by
loanflow's ``Forbidden`` (403), an unknown one by ``NotFound`` (404). Database steps are
plain ``def`` (FastAPI's thread pool); the upload decodes in the CPU pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request

from loanflow import (
    accept_contract_document,
    application_detail,
    confirm,
    copy_application,
    create_application,
    give_consent,
    list_applications,
    list_messages,
    open_document,
    reissue_esign_code,
    reissue_url,
    save_basic,
    save_detailed,
    send_message,
    sign,
    start_full_application,
    submit,
    withdraw,
)
from loanflow.documents import add_document
from loanflow.forms import BasicInfo, DetailedInfo
from service.application_schemas import (
    AcceptIn,
    ApplicationCreatedOut,
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationSummaryOut,
    DeadlineOut,
    DocumentOpenedOut,
    EkycUrlOut,
    FileOut,
    MessageIn,
    MessageOut,
    RevisionOut,
    SignIn,
    SubmittedOut,
    WithdrawIn,
)
from service.deps import ClockDep, CurrentApplicant, DbDep, RuntimeDep, rate_limit
from service.routes.capture import IMAGE_BODY
from service.settings import Settings
from service.uploads import body_cap, read_image_upload

__all__ = ["body_limits", "router"]

router = APIRouter(prefix="/v1/applications", tags=["applications"])

ApplicationId = Annotated[str, Path(max_length=64)]
_codes = [Depends(rate_limit("codes"))]


def body_limits(settings: Settings) -> dict[str, int]:
    """The document upload may carry one file of ``max_upload_bytes``."""
    return {"/v1/applications/{application_id}/files": body_cap(settings.max_upload_bytes)}


@router.post("", status_code=201)
def create(
    body: ApplicationIn, applicant_id: CurrentApplicant, db: DbDep, clock: ClockDep
) -> ApplicationCreatedOut:
    """Start a draft: a provisional pre-screening (仮審査) or a full application (本申込)."""
    created = create_application(
        db, applicant_id, kind=body.kind, product_code=body.product, clock=clock
    )
    return ApplicationCreatedOut(application_id=created)


@router.get("")
def index(applicant_id: CurrentApplicant, db: DbDep) -> list[ApplicationSummaryOut]:
    """The applicant's applications, newest first."""
    return [ApplicationSummaryOut.of(s) for s in list_applications(db, applicant_id)]


@router.get("/{application_id}")
def detail(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep
) -> ApplicationDetailOut:
    """One application: forms, files, consents, repayment table, e-signature deadline."""
    return ApplicationDetailOut.of(application_detail(db, applicant_id, application_id))


@router.put("/{application_id}/basic")
def put_basic(
    application_id: ApplicationId,
    body: BasicInfo,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> RevisionOut:
    """Save 基本情報 (every broken rule comes back as a field of the 422 problem)."""
    return RevisionOut(revision=save_basic(db, applicant_id, application_id, body, clock=clock))


@router.put("/{application_id}/detailed")
def put_detailed(
    application_id: ApplicationId,
    body: DetailedInfo,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> RevisionOut:
    """Save 詳細情報 (after the basic info)."""
    revision = save_detailed(db, applicant_id, application_id, body, clock=clock)
    return RevisionOut(revision=revision)


@router.post("/{application_id}/confirm")
def confirm_application(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep, clock: ClockDep
) -> RevisionOut:
    """The confirmation screen: every rule holds; the consents may now be given."""
    return RevisionOut(revision=confirm(db, applicant_id, application_id, clock=clock))


@router.post("/{application_id}/documents/{document}/opened", status_code=201)
def document_opened(
    application_id: ApplicationId,
    document: Annotated[str, Path(max_length=64)],
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> DocumentOpenedOut:
    """Record that a consent or contract document was shown; accepting it names the receipt."""
    opened = open_document(db, applicant_id, application_id, document, clock=clock)
    return DocumentOpenedOut.of(opened)


@router.post("/{application_id}/consents", status_code=204)
def accept_consent(
    application_id: ApplicationId,
    body: AcceptIn,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """Accept an opened consent document for the current revision."""
    give_consent(db, applicant_id, application_id, body.document, body.open_id, clock=clock)


@router.post("/{application_id}/files", status_code=201, openapi_extra=IMAGE_BODY)
async def upload_file(
    application_id: ApplicationId,
    request: Request,
    applicant_id: CurrentApplicant,
    runtime: RuntimeDep,
    clock: ClockDep,
    filename: Annotated[str, Query(max_length=200)] = "document",
) -> FileOut:
    """Add a document (JPEG, PNG, PDF or HEIF; HEIF is stored as JPEG), read size-limited."""
    data = await read_image_upload(request, runtime.settings.max_upload_bytes)
    stored = await runtime.pool.run(
        add_document, runtime.db, applicant_id, application_id, filename, data, clock=clock
    )
    return FileOut.of(stored)


@router.get("/{application_id}/files")
def files(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep
) -> list[FileOut]:
    """The application's files, oldest first (uploads and the concluded contract)."""
    return [FileOut.of(f) for f in application_detail(db, applicant_id, application_id).files]


@router.post("/{application_id}/submit")
def submit_application(
    application_id: ApplicationId,
    applicant_id: CurrentApplicant,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> SubmittedOut:
    """Submit; the receipt (and a full application's eKYC URL) is mailed."""
    done = submit(runtime.db, applicant_id, application_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return SubmittedOut.of(done)


@router.get("/{application_id}/messages")
def messages(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep
) -> list[MessageOut]:
    """The thread with the bank, oldest first."""
    return [MessageOut.of(m) for m in list_messages(db, applicant_id, application_id)]


@router.post("/{application_id}/messages", status_code=201)
def post_message(
    application_id: ApplicationId,
    body: MessageIn,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> MessageOut:
    """Write to the bank about the application."""
    return MessageOut.of(send_message(db, applicant_id, application_id, body.body, clock=clock))


@router.post("/{application_id}/copy", status_code=201)
def copy(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep, clock: ClockDep
) -> ApplicationCreatedOut:
    """A new draft of the same kind and product with the same answers."""
    created = copy_application(db, applicant_id, application_id, clock=clock)
    return ApplicationCreatedOut(application_id=created)


@router.post("/{application_id}/full", status_code=201)
def full_after_prescreen(
    application_id: ApplicationId, applicant_id: CurrentApplicant, db: DbDep, clock: ClockDep
) -> ApplicationCreatedOut:
    """The full application that follows an approved pre-screening (answers carried over)."""
    created = start_full_application(db, applicant_id, application_id, clock=clock)
    return ApplicationCreatedOut(application_id=created)


@router.post("/{application_id}/withdraw", status_code=204)
def withdraw_application(
    application_id: ApplicationId,
    body: WithdrawIn,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """Withdraw with a reason; its eKYC URLs stop working."""
    withdraw(db, applicant_id, application_id, body.reason, clock=clock)


@router.post("/{application_id}/ekyc-url", status_code=201, dependencies=_codes)
def new_ekyc_url(
    application_id: ApplicationId,
    applicant_id: CurrentApplicant,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> EkycUrlOut:
    """Mail a new eKYC URL (earlier ones stop working)."""
    issued = reissue_url(runtime.db, applicant_id, application_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return EkycUrlOut(expires_at=issued.expires_at)


@router.post("/{application_id}/contract-documents", status_code=204)
def accept_contract(
    application_id: ApplicationId,
    body: AcceptIn,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """Tick an opened contract document (the e-signature must be open)."""
    accept_contract_document(
        db, applicant_id, application_id, body.document, body.open_id, clock=clock
    )


@router.post("/{application_id}/signature", status_code=204, dependencies=_codes)
def sign_contract(
    application_id: ApplicationId,
    body: SignIn,
    applicant_id: CurrentApplicant,
    db: DbDep,
    clock: ClockDep,
) -> None:
    """The e-signature with the mailed code (wrong codes are counted)."""
    sign(db, applicant_id, application_id, body.code, clock=clock)


@router.post("/{application_id}/signature/code", status_code=201, dependencies=_codes)
def new_signing_code(
    application_id: ApplicationId,
    applicant_id: CurrentApplicant,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> DeadlineOut:
    """Mail a new signing code (earlier ones stop working); the deadline stays."""
    deadline = reissue_esign_code(runtime.db, applicant_id, application_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return DeadlineOut(deadline=deadline)
