"""Repayment schedules: equal instalments of principal and interest (元利均等), plus bonuses.

Conventions, as the bank states them on the repayment table:

* The first instalment falls in the month after the loan date, on ``payment_day``;
  one instalment a month after that, for ``term_months`` instalments.
* With bonus repayment, ``bonus_share_percent`` of the *principal* (not of each
  payment) is repaid by instalments in the two bonus months inside the term, as its own
  annuity at half the annual rate per bonus period. The yen below 1 are dropped from the
  bonus principal (it goes to the monthly part).
* Each period's interest is the balance times the period rate, rounded *down* to the yen;
  a monthly period is 1/12 year and a bonus period 1/2 year, whatever the day count.
* The instalment is the annuity rounded *up* to the yen; the last instalment pays the
  balance left plus its interest, so it is never more than the others.
* With principal deferral (元金据置), the first ``deferral_months`` instalments are
  interest only; the annuity runs over the remaining months.

>>> s = repayment_schedule(principal_yen=1_200_000, annual_rate_percent=Decimal(0),
...     term_months=12, loan_date=date(2025, 5, 7), payment_day=10)
>>> s.instalments[0].due, s.instalments[0].payment_yen, s.total_interest_yen
(datetime.date(2025, 6, 10), 100000, 0)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

__all__ = ["Instalment", "InstalmentKind", "RepaymentSchedule", "annuity_yen", "repayment_schedule"]


class InstalmentKind(enum.StrEnum):
    """Which part of the loan an instalment repays."""

    MONTHLY = "monthly"
    BONUS = "bonus"


@dataclass(frozen=True, slots=True)
class Instalment:
    """One payment; ``balance_yen`` is what is left of its part afterwards."""

    kind: InstalmentKind
    number: int  # 1-based within its kind
    due: date
    payment_yen: int
    principal_yen: int
    interest_yen: int
    balance_yen: int


@dataclass(frozen=True, slots=True)
class RepaymentSchedule:
    """The whole table, instalments in due-date order (monthly before bonus on a day)."""

    principal_yen: int
    monthly_principal_yen: int
    bonus_principal_yen: int
    annual_rate_percent: Decimal
    instalments: tuple[Instalment, ...]

    @property
    def total_interest_yen(self) -> int:
        """Interest over the life of the loan."""
        return sum(i.interest_yen for i in self.instalments)

    @property
    def total_paid_yen(self) -> int:
        """Principal plus interest."""
        return sum(i.payment_yen for i in self.instalments)

    @property
    def first_due(self) -> date:
        """The first repayment date (in the month after the loan date)."""
        return self.instalments[0].due


def _floor_yen(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def annuity_yen(principal_yen: int, period_rate: Decimal, periods: int) -> int:
    """The equal instalment repaying ``principal_yen`` over ``periods``, rounded up to the yen."""
    if periods <= 0:
        raise ValueError(f"periods must be > 0, got {periods}")
    if period_rate == 0:
        return math.ceil(Decimal(principal_yen) / periods)
    growth = (1 + period_rate) ** periods
    exact = Decimal(principal_yen) * period_rate * growth / (growth - 1)
    return math.ceil(exact)


def _month_date(start: date, months_after: int, day: int) -> date:
    index = start.year * 12 + start.month - 1 + months_after
    return date(index // 12, index % 12 + 1, day)


def _amortise(
    kind: InstalmentKind,
    principal_yen: int,
    period_rate: Decimal,
    dues: Sequence[date],
    interest_only: int = 0,
) -> list[Instalment]:
    rows: list[Instalment] = []
    balance = principal_yen
    payment = annuity_yen(principal_yen, period_rate, len(dues) - interest_only)
    for number, due in enumerate(dues, start=1):
        interest = _floor_yen(balance * period_rate)
        if number <= interest_only:
            principal = 0
        elif number == len(dues):
            principal = balance
        else:
            principal = min(balance, payment - interest)
        balance -= principal
        rows.append(
            Instalment(kind, number, due, principal + interest, principal, interest, balance)
        )
    return rows


def repayment_schedule(
    *,
    principal_yen: int,
    annual_rate_percent: Decimal,
    term_months: int,
    loan_date: date,
    payment_day: int,
    bonus_share_percent: int = 0,
    bonus_months: Sequence[int] = (),
    deferral_months: int = 0,
) -> RepaymentSchedule:
    """The repayment table of a loan (see the module's conventions).

    Raises:
        ValueError: Inputs the application rules refuse (no bonus month inside the term,
            deferral as long as the term, a payment day past 28, ...).
    """
    if principal_yen <= 0 or term_months <= 0 or not 1 <= payment_day <= 28:
        raise ValueError("principal, term and payment day (1-28) must be positive")
    if not 0 <= deferral_months < term_months:
        raise ValueError(f"deferral_months must be in [0, {term_months}), got {deferral_months}")
    rate = annual_rate_percent / 100
    bonus_principal = principal_yen * bonus_share_percent // 100
    monthly_principal = principal_yen - bonus_principal
    dues = [_month_date(loan_date, k, payment_day) for k in range(1, term_months + 1)]
    rows = _amortise(InstalmentKind.MONTHLY, monthly_principal, rate / 12, dues, deferral_months)
    if bonus_principal:
        bonus_dues = [due for due in dues if due.month in set(bonus_months)]
        if not bonus_dues:
            raise ValueError("no bonus month falls inside the term")
        rows += _amortise(InstalmentKind.BONUS, bonus_principal, rate / 2, bonus_dues)
    rows.sort(key=lambda row: (row.due, row.kind is InstalmentKind.BONUS))
    return RepaymentSchedule(
        principal_yen=principal_yen,
        monthly_principal_yen=monthly_principal,
        bonus_principal_yen=bonus_principal,
        annual_rate_percent=annual_rate_percent,
        instalments=tuple(rows),
    )
