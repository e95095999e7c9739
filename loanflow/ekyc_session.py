"""The identity-check session (step 6), opened by the URL mailed at submission.

The URL carries a random token (256 bits); the database keeps only its sha256. A URL is
valid 3 hours; a reissue (from the application's detail, while the check is not done)
invalidates every earlier URL of the application. One session belongs to one
application. Its steps: ``choose_document`` -> ``add_shot`` for each of
``required_shots`` (a retake replaces a shot) -> ``finish``, which hands the shots to a
``Verifier`` and writes the verification record, kept 7 years and never changed.

A My Number card's back carries the individual number: it is refused before its bytes
are even decoded, so it is never stored.

The liveness challenge's recording lives with the daemon; its retake rule lives here
(``challenge_retake``, ``asks_challenge_retake``), as do the refusals it records
(``refuse_challenge``: ``EkycRefusal`` rows with the step ``"challenge"``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ekyc
from ekyc.config import DecodeLimits
from ekyc.errors import InputError
from ekyc.liveness import LivenessResult, Reason
from ekyc.screening import JUDGED, CardProblem, ShotScreening
from ekyc.types import DocumentType, Shot
from loanflow import audit, mail
from loanflow.access import owned_application, record
from loanflow.application_mails import EKYC_REQUEST_MAIL
from loanflow.application_tables import (
    Application,
    ApplicationStatus,
    Blob,
    EkycRefusal,
    EkycSession,
    EkycShot,
    EkycStatus,
    EkycVerification,
)
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.documents import store_blob
from loanflow.errors import (
    CodeExpired,
    DocumentRejected,
    InvalidTransition,
    NotFound,
    Replay,
    RetakeNeeded,
)
from loanflow.forms import ApplicationKind
from loanflow.tables import Applicant
from loanflow.verifier import Decision, ShotScreen, Verifier, VerifierOutcome, required_shots

__all__ = [
    "CHALLENGE_RETAKES",
    "CHALLENGE_STEP",
    "DEFAULT_EKYC_BASE_URL",
    "EKYC_URL_TTL",
    "JUDGED_RETAKES",
    "RETENTION_YEARS",
    "ChallengeAdvice",
    "IssuedUrl",
    "SessionView",
    "VerificationRecord",
    "add_shot",
    "asks_challenge_retake",
    "asks_retake",
    "challenge_retake",
    "challenge_retakes_asked",
    "choose_document",
    "finish",
    "issue_url",
    "latest_selfie",
    "open_session",
    "refuse_challenge",
    "reissue_url",
    "url_available",
]

EKYC_URL_TTL = timedelta(hours=3)
DEFAULT_EKYC_BASE_URL = "https://loan.rokin.example/ekyc/"
RETENTION_YEARS = 7  # the verification record, from the day of the check
# Decoding a shot on arrival only proves it is a whole image of an allowed format; a
# 12 MP JPEG decoded with DCT scaling to at most 2048 px (what the pipeline works at) costs
# ~35 ms CPU instead of ~125 at full size, and a truncated stream still fails.
SHOT_LIMITS = DecodeLimits(allowed_formats=frozenset({"JPEG", "PNG", "HEIF"}), max_side=2048)
# Retakes a step may be asked for on a judgement (blur, glare, not tilted, no thickness seen:
# ``ekyc.screening.JUDGED``); the next shot is kept whatever it shows and ``finish``'s
# verification decides. A genuine card the judgement misreads gets more chances than one
# shot (bench verify_rates --screened: the thickness check misses ~1 genuine tilted shot in
# 10), and a flat copy gets no endless tries to find one that passes.
JUDGED_RETAKES = 2
# Challenge recordings a session may be asked to record again, on arrival, for a failure
# the applicant can fix (``challenge_retake``); the one after is kept and judged at
# ``finish``. Two, as for a judged shot: a genuine applicant told to face the screen gets
# another try if the first advice was not enough, a fake no endless supply of judged tries.
CHALLENGE_RETAKES = 2
# ``EkycRefusal.shot`` of a refused challenge recording (the shots' rows carry a Shot value).
CHALLENGE_STEP = "challenge"
_OPEN_STATES = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW})
_DONE = {Decision.ACCEPT: EkycStatus.ACCEPTED, Decision.REVIEW: EkycStatus.REVIEW}


def asks_retake(problem: CardProblem, judged_asked: int) -> int | None:
    """The retake rule: whether a step whose screen found ``problem`` is asked again, after
    ``judged_asked`` judged retakes of that step.

    Returns the judged retakes the step has left after this one, or ``None`` when the shot is
    kept (a judged problem once ``JUDGED_RETAKES`` were asked: the verification decides). A
    card problem (not found, cut, unread, wrong side) is always asked again: returns
    ``JUDGED_RETAKES``, its count untouched. One function, so the benchmark that replays the
    daemon's flow (``benchmarks.verify_rates --screened``) cannot drift from it.
    """
    if problem.code not in JUDGED:
        return JUDGED_RETAKES
    return _left_after(judged_asked, JUDGED_RETAKES)


def _left_after(asked: int, limit: int) -> int | None:
    """Retakes left after one more when ``asked`` of ``limit`` were; None: none left."""
    left = limit - asked
    return None if left <= 0 else left - 1


@dataclass(frozen=True, slots=True)
class ChallengeAdvice:
    """Why a challenge recording is asked again, and what the applicant should change.

    Attributes:
        reason: The liveness reason that explains the failure (``FACE_TURNED_AT_REST``,
            ``EYES_NOT_OPEN`` or ``MOUTH_OPEN_AT_REST``; the first where several do).
        message_ja: The advice in Japanese (every explaining reason's, in order).
        message_en: The same in English.
    """

    reason: Reason
    message_ja: str
    message_en: str

    @property
    def code(self) -> str:
        """The lower-case reason code the API and the refusal record carry."""
        return self.reason.value.lower()


# The advice per posture reason (``ekyc.liveness.active._unjudged`` says when each is given).
_ADVICE: Mapping[Reason, tuple[str, str]] = {
    Reason.FACE_TURNED_AT_REST: (
        "顔を画面の正面に向けた状態から始め、動作のあいだも正面に戻してください。",
        "Start facing the screen straight on, and face it again between the actions.",
    ),
    Reason.EYES_NOT_OPEN: (
        "目をしっかり開けた状態から始めてください（色の付いた眼鏡は外し、前髪が目に"
        "かからないようにしてください）。",
        "Start with your eyes fully open (take off tinted glasses; keep hair off your eyes).",
    ),
    Reason.MOUTH_OPEN_AT_REST: (
        "口を閉じた状態から始め、動作のあいだも口を閉じてください。",
        "Start with your mouth closed, and close it again between the actions.",
    ),
}
# What a posture reason stands beside when it explains a failure: a requested action not
# seen, or the face lost (turned too far). Anything else is not about the posture.
_EXPLAINED = frozenset({Reason.ACTION_MISSING, Reason.NO_FACE})


def challenge_retake(result: LivenessResult) -> ChallengeAdvice | None:
    """The advice for a challenge recording that failed for a reason the applicant can fix,
    or ``None`` (it passed, or failed otherwise: kept, and judged at ``finish``).

    Fixable: the evaluator explained the failure by the face at rest (turned more than it
    can turn further, eyes too narrow to show a blink, mouth too open to show opening it)
    and found nothing else wrong: every reason is one of those or what they explain
    (``ACTION_MISSING``, ``NO_FACE``), and no attack type. A bare ``ACTION_MISSING`` or
    ``NO_FACE`` is not asked again: it is also what a recording made for another challenge
    or a face that is not there gives, and a retake would hand its maker a fresh challenge
    with the news that the last one failed. Attack-type reasons (another nonce, actions out
    of order, a still image, another face, the selfie not among the frames, timestamps
    outside the challenge's window, expired) never are.
    """
    if result.live or result.attack_type is not None:
        return None
    fixable = [reason for reason in result.reasons if reason in _ADVICE]
    if not fixable or not set(result.reasons) <= {*_ADVICE, *_EXPLAINED}:
        return None
    return ChallengeAdvice(
        reason=fixable[0],
        message_ja="".join(_ADVICE[reason][0] for reason in fixable),
        message_en=" ".join(_ADVICE[reason][1] for reason in fixable),
    )


def asks_challenge_retake(asked: int, limit: int = CHALLENGE_RETAKES) -> int | None:
    """The challenge retake rule: after ``asked`` retakes of a session's challenge, whether
    a fixable failure (``challenge_retake``) is asked again.

    Returns the retakes left after this one, or ``None`` when the recording is kept (``limit``
    asked already: ``finish`` judges it). One function, so a benchmark that replays the
    daemon's flow cannot drift from it.
    """
    return _left_after(asked, limit)


@dataclass(frozen=True, slots=True)
class IssuedUrl:
    """A mailed eKYC URL (the token itself only travels in the mail)."""

    session_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the eKYC pages need to show."""

    session_id: str
    application_id: str
    expires_at: datetime
    document_type: DocumentType | None
    shots_taken: tuple[Shot, ...]


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """The stored outcome of a finished session."""

    session_id: str
    decision: Decision
    reasons: tuple[str, ...]
    image_sha256: Mapping[Shot, str]
    verified_at: datetime
    retain_until: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def url_available(application: Application) -> bool:
    """Whether the eKYC URL can be (re)issued: a submitted full application, check not done."""
    return (
        application.kind is ApplicationKind.FULL
        and application.status in _OPEN_STATES
        and application.ekyc_status in (EkycStatus.PENDING, EkycStatus.REJECTED)
    )


def issue_url(
    session: Session, application: Application, *, now: datetime, base_url: str, actor: str
) -> IssuedUrl:
    """Invalidate the application's open URLs, add a new one and mail it (caller's transaction)."""
    session.execute(
        sa.update(EkycSession)
        .where(
            EkycSession.application_id == application.id,
            EkycSession.completed_at.is_(None),
            EkycSession.invalidated_at.is_(None),
        )
        .values(invalidated_at=now)
    )
    token = secrets.token_urlsafe(32)
    row = EkycSession(
        id=str(uuid.uuid4()),
        application_id=application.id,
        token_sha256=_digest(token),
        issued_at=now,
        expires_at=now + EKYC_URL_TTL,
    )
    session.add(row)
    applicant = session.get_one(Applicant, application.applicant_id)
    mail.enqueue(
        session,
        EKYC_REQUEST_MAIL,
        to_addr=applicant.email,
        now=now,
        applicant_id=applicant.id,
        secret=token,
        family_name=applicant.family_name,
        given_name=applicant.given_name,
        application_id=application.id,
        base_url=base_url,
        expires_at=mail.format_jst(row.expires_at),
    )
    record(session, application, at=now, actor=actor, action="ekyc.url_issued")
    return IssuedUrl(session_id=row.id, expires_at=row.expires_at)


def reissue_url(
    db: SessionFactory,
    applicant_id: str,
    application_id: str,
    *,
    clock: Clock,
    base_url: str = DEFAULT_EKYC_BASE_URL,
) -> IssuedUrl:
    """Mail a new eKYC URL; earlier ones stop working.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: Not a submitted full application, or the check is done.
    """
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        if not url_available(application):
            raise InvalidTransition(
                "no identity check is pending", ekyc_status=application.ekyc_status
            )
        return issue_url(
            session,
            application,
            now=now,
            base_url=base_url,
            actor=audit.applicant_actor(applicant_id),
        )


def _by_token(
    session: Session, token: str, now: datetime, *, check_expiry: bool = True
) -> EkycSession:
    row = session.scalars(
        sa.select(EkycSession).where(EkycSession.token_sha256 == _digest(token)).with_for_update()
    ).first()
    if row is None:
        raise NotFound("no such identity-check URL")
    if row.completed_at is not None:
        raise Replay("the identity check of this URL is done")
    if row.invalidated_at is not None:
        raise CodeExpired("a newer URL replaced this one", reason="reissued")
    if check_expiry and now > row.expires_at:
        raise CodeExpired("the URL has expired: reissue it from My Page", reason="expired")
    application = session.get_one(Application, row.application_id, with_for_update=True)
    if application.status not in _OPEN_STATES:
        raise InvalidTransition(
            "the application is not waiting for a check", status=application.status
        )
    return row


def _latest_shots(session: Session, session_id: str) -> dict[Shot, str]:
    rows = session.execute(
        sa.select(EkycShot.shot, EkycShot.sha256)
        .where(EkycShot.session_id == session_id)
        .order_by(EkycShot.id)
    )
    return {Shot(shot): sha for shot, sha in rows}  # later rows (retakes) win


def _view(session: Session, row: EkycSession) -> SessionView:
    return SessionView(
        session_id=row.id,
        application_id=row.application_id,
        expires_at=row.expires_at,
        document_type=DocumentType(row.document_type) if row.document_type else None,
        shots_taken=tuple(_latest_shots(session, row.id)),
    )


def open_session(db: SessionFactory, token: str, *, clock: Clock) -> SessionView:
    """The session of the URL's ``token``.

    Raises:
        NotFound: Unknown token.
        CodeExpired: Over 3 hours old, or replaced by a reissued URL.
        Replay: The check of this URL is already done.
        InvalidTransition: The application was withdrawn (or decided) meanwhile.
    """
    with transaction(db) as session:
        return _view(session, _by_token(session, token, clock.now()))


def choose_document(
    db: SessionFactory, token: str, document: DocumentType, *, clock: Clock
) -> SessionView:
    """Pick the identity document; shots taken for another document are dropped.

    Raises:
        DocumentRejected: A document the image method does not accept (``reason``
            ``document_not_accepted``: no photo, or no address since 2020).
        As ``open_session`` otherwise.
    """
    if not document.accepted:
        raise DocumentRejected("this document cannot be used", reason="document_not_accepted")
    now = clock.now()
    with transaction(db) as session:
        row = _by_token(session, token, now)
        if row.document_type != document.value:
            row.document_type = document.value
            session.execute(sa.delete(EkycShot).where(EkycShot.session_id == row.id))
        return _view(session, row)


def add_shot(
    db: SessionFactory,
    token: str,
    shot: Shot,
    data: bytes,
    *,
    clock: Clock,
    screen: ShotScreen | None = None,
) -> str:
    """Keep one image step's bytes after decoding them; returns their sha256.

    ``screen`` (the daemon passes its loaded ``ekyc`` pipeline) looks at the image first:
    a My Number card's back sent as any step is refused there and never stored. A card
    step (front, tilt, back) must then show the chosen document's expected side, whole and
    with its layout read: otherwise it is refused for a retake, unstored. That is fail-closed
    on purpose: a shot whose layout is not read is one the back screen cannot vouch for,
    and ``verify`` would only send it to a reject or a person later. Without a screen only
    the step rules keep the back out.

    Raises:
        DocumentRejected: A My Number card back sent as its back step (``reason``
            ``my_number_back``: never decoded nor stored), a back for a document without
            one, or an image ``ekyc.decode_image`` refuses (``reason`` is its code).
        ekyc.errors.StepNotAllowed: ``screen`` saw a My Number card's back in the image
            (``reason`` ``my_number_back``): nothing was stored.
        RetakeNeeded: ``screen`` did not see the chosen document's expected side whole
            (``reason``: ``card_not_found``, ``card_cut_off``, ``layout_not_recognised``,
            ``document_not_accepted``, ``wrong_document_type`` or ``wrong_side``), or judged
            it blurred, glared over (its fields, or the front's printed portrait), the
            portrait hidden, the name or date of birth not legible, not tilted or without
            thickness (``poor_quality``, ``glare_on_fields``, ``no_face_on_card``,
            ``key_fields_illegible``, ``tilt_not_shown``, ``flat_reproduction``), or a selfie
            without exactly one usable face (``no_face_in_selfie``, ``selfie_quality``); the
            judged ones at most ``JUDGED_RETAKES`` times per step (``retakes_left`` in the
            context): nothing was stored, the refusal is recorded (``EkycRefusal``).
        InvalidTransition: No document chosen yet.
        As ``open_session`` otherwise.
    """
    with transaction(db) as session:
        document = _view(session, _by_token(session, token, clock.now())).document_type
    if document is None:
        raise InvalidTransition("choose the identity document first")
    if shot is Shot.BACK and not document.has_back:
        reason = "my_number_back" if document is DocumentType.MY_NUMBER_CARD else "no_back"
        raise DocumentRejected("the back of this card is never taken", reason=reason)
    try:  # outside the transaction: slow
        if screen is None:
            ekyc.decode_image(data, SHOT_LIMITS)
        else:  # before anything is stored; the screen decodes the shot (once) under our limits
            seen = screen.screen_shot(
                data, selfie=shot is Shot.SELFIE, limits=SHOT_LIMITS, step=shot.value
            )
    except InputError as error:
        raise DocumentRejected(error.message, reason=error.code) from error
    if screen is not None:
        _require_usable(db, token, shot, document, seen, clock)
    now = clock.now()
    with transaction(db) as session:
        row = _by_token(session, token, now)
        if row.document_type != document.value:
            raise InvalidTransition("the document was changed meanwhile")
        digest = store_blob(session, data, now)
        session.add(EkycShot(session_id=row.id, shot=shot.value, sha256=digest, taken_at=now))
    return digest


def _require_usable(db: SessionFactory, token: str, shot: Shot, document: DocumentType,
                  seen: ShotScreening, clock: Clock) -> None:  # fmt: skip
    """Refuse a card step that does not show ``document``'s side for that step, or a shot
    the screen judged unfit (a card step, or a selfie without one usable face) while the
    step has judged retakes left; record the refusal."""
    side = shot.card_side
    problem = seen.selfie_retake_reason() if side is None else seen.retake_reason(document, side)
    if problem is None:
        return
    reason = problem.code.value.lower()
    context: dict[str, object] = {}
    with transaction(db) as session:
        row = _by_token(session, token, clock.now())
        if problem.code in JUDGED:
            judged = [code.value.lower() for code in JUDGED]
            asked = session.scalar(
                sa.select(sa.func.count())
                .select_from(EkycRefusal)
                .where(EkycRefusal.session_id == row.id, EkycRefusal.shot == shot.value,
                       EkycRefusal.reason.in_(judged))
            )  # fmt: skip
            left = asks_retake(problem, int(asked or 0))
            if left is None:
                return  # kept: the verification decides
            context["retakes_left"] = left
        session.add(
            EkycRefusal(session_id=row.id, shot=shot.value, reason=reason, refused_at=clock.now())
        )
    raise RetakeNeeded(
        problem.retake_message, reason=reason, shot=shot.value, observed=problem.detail,
        **context,
    )  # fmt: skip


def _challenge_refusals(session: Session, session_id: str) -> int:
    asked = session.scalar(
        sa.select(sa.func.count())
        .select_from(EkycRefusal)
        .where(EkycRefusal.session_id == session_id, EkycRefusal.shot == CHALLENGE_STEP)
    )
    return int(asked or 0)


def challenge_retakes_asked(db: SessionFactory, token: str, *, clock: Clock) -> int:
    """How many times the session's challenge recording was asked again (``refuse_challenge``).

    Raises:
        As ``open_session``.
    """
    with transaction(db) as session:
        return _challenge_refusals(session, _by_token(session, token, clock.now()).id)


def refuse_challenge(
    db: SessionFactory,
    token: str,
    advice: ChallengeAdvice,
    *,
    clock: Clock,
    limit: int = CHALLENGE_RETAKES,
) -> int | None:
    """Record that the session's challenge recording is asked again for ``advice``, while
    fewer than ``limit`` were (``asks_challenge_retake``); the count and the record are one
    transaction, so two recordings at once cannot both take the last retake.

    Returns the retakes left after this one, or ``None``: none left, nothing recorded, the
    recording is kept and ``finish`` judges it.

    Raises:
        As ``open_session``.
    """
    with transaction(db) as session:
        row = _by_token(session, token, clock.now())
        left = asks_challenge_retake(_challenge_refusals(session, row.id), limit)
        if left is not None:
            session.add(
                EkycRefusal(
                    session_id=row.id,
                    shot=CHALLENGE_STEP,
                    reason=advice.code,
                    refused_at=clock.now(),
                )
            )
        return left


def latest_selfie(db: SessionFactory, token: str, *, clock: Clock) -> bytes | None:
    """The bytes of the session's current selfie, if one was taken (what ``finish`` hands
    the verifier).

    Raises:
        As ``open_session``.
    """
    with transaction(db) as session:
        row = _by_token(session, token, clock.now())
        sha = _latest_shots(session, row.id).get(Shot.SELFIE)
        return session.get_one(Blob, sha).data if sha is not None else None


def finish(
    db: SessionFactory, token: str, verifier: Verifier, *, clock: Clock
) -> VerificationRecord:
    """Verify the shots and write the 7-year record; the application's check is then done
    (``ACCEPTED`` or ``REVIEW``), or ``REJECTED`` (a reissued URL allows another try).

    Raises:
        InvalidTransition: No document chosen, or a required shot is missing.
        As ``open_session`` otherwise.
    """
    with transaction(db) as session:
        row = _by_token(session, token, clock.now())
        view = _view(session, row)
        document = view.document_type
        if document is None:
            raise InvalidTransition("choose the identity document first")
        hashes = _latest_shots(session, row.id)
        missing = [s.value for s in required_shots(document) if s not in hashes]
        if missing:
            raise InvalidTransition("some shots are missing", missing=missing)
        shots = {shot: session.get_one(Blob, sha).data for shot, sha in hashes.items()}
    outcome = verifier.verify(document, shots)  # may be slow: outside any transaction
    now = clock.now()
    with transaction(db) as session:
        row = _by_token(session, token, now, check_expiry=False)  # shots were taken in time
        if _latest_shots(session, row.id) != hashes or row.document_type != document.value:
            raise InvalidTransition("the shots changed while they were being verified")
        return _record(session, row, document, hashes, verifier, outcome, now)


def _plus_years(instant: datetime, years: int) -> datetime:
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year + years, day=28)


def _record(
    session: Session,
    row: EkycSession,
    document: DocumentType,
    hashes: Mapping[Shot, str],
    verifier: Verifier,
    outcome: VerifierOutcome,
    now: datetime,
) -> VerificationRecord:
    application = session.get_one(Application, row.application_id)
    retain_until = _plus_years(now, RETENTION_YEARS)
    session.add(
        EkycVerification(
            application_id=application.id,
            session_id=row.id,
            method=verifier.method,
            document_type=document.value,
            decision=outcome.decision.value,
            reasons={"codes": list(outcome.reasons)},
            models={ref.id: ref.sha256 for ref in outcome.models},
            image_sha256={shot.value: sha for shot, sha in hashes.items()},
            verifier=verifier.name,
            verified_at=now,
            retain_until=retain_until,
        )
    )
    row.completed_at = now
    application.ekyc_status = _DONE.get(outcome.decision, EkycStatus.REJECTED)
    application.updated_at = now
    record(
        session,
        application,
        at=now,
        actor=audit.applicant_actor(application.applicant_id),
        action="ekyc.verified",
        detail={"decision": outcome.decision.value, "session_id": row.id},
    )
    return VerificationRecord(
        session_id=row.id,
        decision=outcome.decision,
        reasons=outcome.reasons,
        image_sha256=dict(hashes),
        verified_at=now,
        retain_until=retain_until,
    )
