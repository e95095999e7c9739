"""The application state machine: every allowed move, and the labels each state shows.

``TRANSITIONS`` is the whole machine; anything not in it raises ``InvalidTransition``.
Some moves belong to one kind of application only (``KIND_ONLY``): a provisional
pre-screening ends in ``PRESCREEN_APPROVED`` (the applicant then enters a full
application); only a full application is approved and contracted::

    DRAFT ⇄ CONFIRMED → SUBMITTED → UNDER_REVIEW → PRESCREEN_APPROVED   (provisional)
      edit ↺                                    → APPROVED → CUSTOMER_SIGNED → CONTRACTED
                                                → DECLINED
    withdraw: from any state before a decision or signature is final
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from loanflow.application_tables import ApplicationStatus as S
from loanflow.errors import InvalidTransition
from loanflow.forms import ApplicationKind

__all__ = [
    "KIND_ONLY",
    "TRANSITIONS",
    "Action",
    "StatusLabels",
    "labels",
    "next_status",
]


class Action(enum.StrEnum):
    """A step that moves an application."""

    EDIT = "edit"  # basic or detailed info saved (after confirmation: consent again)
    CONFIRM = "confirm"  # the confirmation screen
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    START_REVIEW = "start_review"  # staff
    APPROVE_PRESCREEN = "approve_prescreen"  # staff, provisional only
    APPROVE = "approve"  # staff, full only: opens the e-signature
    DECLINE = "decline"  # staff
    CUSTOMER_SIGN = "customer_sign"  # the applicant's e-signature
    BANK_SIGN = "bank_sign"  # staff: the contract is concluded


_WITHDRAWABLE = (
    S.DRAFT,
    S.CONFIRMED,
    S.SUBMITTED,
    S.UNDER_REVIEW,
    S.PRESCREEN_APPROVED,
    S.APPROVED,
)

TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.DRAFT, Action.EDIT): S.DRAFT,
    (S.CONFIRMED, Action.EDIT): S.DRAFT,
    (S.DRAFT, Action.CONFIRM): S.CONFIRMED,
    (S.CONFIRMED, Action.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Action.START_REVIEW): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, Action.APPROVE_PRESCREEN): S.PRESCREEN_APPROVED,
    (S.UNDER_REVIEW, Action.APPROVE): S.APPROVED,
    (S.UNDER_REVIEW, Action.DECLINE): S.DECLINED,
    (S.APPROVED, Action.CUSTOMER_SIGN): S.CUSTOMER_SIGNED,
    (S.CUSTOMER_SIGNED, Action.BANK_SIGN): S.CONTRACTED,
    **{(state, Action.WITHDRAW): S.WITHDRAWN for state in _WITHDRAWABLE},
}

KIND_ONLY: dict[Action, ApplicationKind] = {
    Action.APPROVE_PRESCREEN: ApplicationKind.PROVISIONAL,
    Action.APPROVE: ApplicationKind.FULL,
    Action.CUSTOMER_SIGN: ApplicationKind.FULL,
    Action.BANK_SIGN: ApplicationKind.FULL,
}


def next_status(status: S, action: Action, kind: ApplicationKind) -> S:
    """The state after ``action``, or ``InvalidTransition`` when the move is not allowed."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise InvalidTransition(
            f"cannot {action.value} an application that is {status.value}",
            status=status.value,
            action=action.value,
        )
    only = KIND_ONLY.get(action)
    if only is not None and only is not kind:
        raise InvalidTransition(
            f"only a {only.value} application can {action.value}",
            kind=kind.value,
            action=action.value,
        )
    return target


@dataclass(frozen=True, slots=True)
class StatusLabels:
    """What the application list shows: 申込状況, 審査状況, 契約状況."""

    application: str
    review: str
    contract: str


_LABELS: dict[S, StatusLabels] = {
    S.DRAFT: StatusLabels("入力中", "―", "―"),
    S.CONFIRMED: StatusLabels("入力中（確認済）", "―", "―"),
    S.SUBMITTED: StatusLabels("申込受付", "審査待ち", "―"),
    S.UNDER_REVIEW: StatusLabels("申込受付", "審査中", "―"),
    S.PRESCREEN_APPROVED: StatusLabels("申込受付", "仮審査承認", "―"),
    S.APPROVED: StatusLabels("申込受付", "承認", "お客様契約実施中"),
    S.CUSTOMER_SIGNED: StatusLabels("申込受付", "承認", "ろうきん契約手続中"),
    S.CONTRACTED: StatusLabels("申込受付", "承認", "契約済"),
    S.DECLINED: StatusLabels("申込受付", "否決", "―"),
    S.WITHDRAWN: StatusLabels("取下げ", "―", "―"),
}


def labels(status: S) -> StatusLabels:
    """The three status labels of ``status``."""
    return _LABELS[status]
