"""Business days of the bank: weekends, Japanese public holidays and 12/31-1/3 are closed.

Public holidays (substitute and "sandwiched" holidays included) come from ``jpholiday``,
a maintained calendar package; update it when the Cabinet Office changes the law. Dates
are calendar dates in Japan; the one instant here, the e-signature deadline, is in JST.

>>> add_business_days(date(2025, 5, 2), 1)  # Golden Week: 5/3-5/6 are holidays
datetime.date(2025, 5, 7)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import jpholiday

from loanflow.clock import JST

__all__ = [
    "LOAN_LEAD_BUSINESS_DAYS",
    "add_business_days",
    "earliest_loan_date",
    "esign_deadline",
    "is_business_day",
    "previous_business_day",
]

BANK_HOLIDAYS = frozenset({(12, 31), (1, 1), (1, 2), (1, 3)})  # (month, day), every year
LOAN_LEAD_BUSINESS_DAYS = 7  # the guide: desired loan date >= 7 business days after completion
ESIGN_CUTOFF = time(12, 0)  # the signing code by 12:00 JST of the business day before
_DAY = timedelta(days=1)


def is_business_day(day: date) -> bool:
    """Whether the bank is open on ``day``."""
    if day.weekday() >= 5 or (day.month, day.day) in BANK_HOLIDAYS:
        return False
    return not jpholiday.is_holiday(day)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself is not counted).

    ``count=0`` returns ``day`` unchanged. Negative counts are refused.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    while count > 0:
        day += _DAY
        if is_business_day(day):
            count -= 1
    return day


def previous_business_day(day: date) -> date:
    """The last business day strictly before ``day``."""
    day -= _DAY
    while not is_business_day(day):
        day -= _DAY
    return day


def earliest_loan_date(completed_on: date) -> date:
    """The first desired loan date allowed for an application completed on ``completed_on``."""
    return add_business_days(completed_on, LOAN_LEAD_BUSINESS_DAYS)


def esign_deadline(disbursement_date: date) -> datetime:
    """12:00 JST of the business day before ``disbursement_date`` (timezone-aware)."""
    return datetime.combine(previous_business_day(disbursement_date), ESIGN_CUTOFF, tzinfo=JST)
