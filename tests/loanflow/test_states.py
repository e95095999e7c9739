"""The application state machine, as a table."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest

from loanflow.application_tables import ApplicationStatus as S
from loanflow.errors import InvalidTransition
from loanflow.forms import ApplicationKind
from loanflow.states import TRANSITIONS, Action, labels, next_status

FULL, PROVISIONAL = ApplicationKind.FULL, ApplicationKind.PROVISIONAL


@pytest.mark.parametrize(
    ("status", "action", "kind", "expectation"),
    [
        (S.DRAFT, Action.EDIT, FULL, nullcontext(S.DRAFT)),
        (S.CONFIRMED, Action.EDIT, FULL, nullcontext(S.DRAFT)),  # consent again
        (S.SUBMITTED, Action.EDIT, FULL, pytest.raises(InvalidTransition)),
        (S.DRAFT, Action.CONFIRM, FULL, nullcontext(S.CONFIRMED)),
        (S.DRAFT, Action.SUBMIT, FULL, pytest.raises(InvalidTransition)),
        (S.CONFIRMED, Action.SUBMIT, PROVISIONAL, nullcontext(S.SUBMITTED)),
        (S.SUBMITTED, Action.SUBMIT, FULL, pytest.raises(InvalidTransition)),
        (S.SUBMITTED, Action.START_REVIEW, FULL, nullcontext(S.UNDER_REVIEW)),
        (S.UNDER_REVIEW, Action.APPROVE_PRESCREEN, PROVISIONAL, nullcontext(S.PRESCREEN_APPROVED)),
        (S.UNDER_REVIEW, Action.APPROVE_PRESCREEN, FULL, pytest.raises(InvalidTransition)),
        (S.UNDER_REVIEW, Action.APPROVE, FULL, nullcontext(S.APPROVED)),
        (S.UNDER_REVIEW, Action.APPROVE, PROVISIONAL, pytest.raises(InvalidTransition)),
        (S.SUBMITTED, Action.APPROVE, FULL, pytest.raises(InvalidTransition)),
        (S.UNDER_REVIEW, Action.DECLINE, PROVISIONAL, nullcontext(S.DECLINED)),
        (S.APPROVED, Action.CUSTOMER_SIGN, FULL, nullcontext(S.CUSTOMER_SIGNED)),
        (S.APPROVED, Action.BANK_SIGN, FULL, pytest.raises(InvalidTransition)),
        (S.CUSTOMER_SIGNED, Action.BANK_SIGN, FULL, nullcontext(S.CONTRACTED)),
        (S.APPROVED, Action.WITHDRAW, FULL, nullcontext(S.WITHDRAWN)),
        (S.CUSTOMER_SIGNED, Action.WITHDRAW, FULL, pytest.raises(InvalidTransition)),
        (S.CONTRACTED, Action.WITHDRAW, FULL, pytest.raises(InvalidTransition)),
        (S.DECLINED, Action.WITHDRAW, FULL, pytest.raises(InvalidTransition)),
        (S.WITHDRAWN, Action.WITHDRAW, FULL, pytest.raises(InvalidTransition)),
    ],
)
def test_next_status(
    status: S, action: Action, kind: ApplicationKind, expectation: AbstractContextManager[S]
) -> None:
    with expectation as expected:
        assert next_status(status, action, kind) is expected


def test_every_state_is_reachable_and_labelled() -> None:
    reached = {S.DRAFT} | set(TRANSITIONS.values())
    assert reached == set(S)
    assert labels(S.APPROVED).contract == "お客様契約実施中"
    assert labels(S.CONTRACTED).contract == "契約済"
    assert labels(S.PRESCREEN_APPROVED).review == "仮審査承認"


def test_terminal_states_have_no_way_out() -> None:
    for terminal in (S.CONTRACTED, S.DECLINED, S.WITHDRAWN, S.PRESCREEN_APPROVED):
        moves = {action for (state, action) in TRANSITIONS if state is terminal}
        assert moves <= {Action.WITHDRAW}
