"""Repayment schedules: 元利均等 plus the bonus share, yen rounding as stated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loanflow.schedule import InstalmentKind, annuity_yen, repayment_schedule

LOAN_DATE = date(2025, 5, 12)


def _schedule(**overrides: object):
    arguments: dict[str, object] = {
        "principal_yen": 2_000_000,
        "annual_rate_percent": Decimal("2.5"),
        "term_months": 60,
        "loan_date": LOAN_DATE,
        "payment_day": 10,
    }
    arguments.update(overrides)
    return repayment_schedule(**arguments)  # type: ignore[arg-type]


class TestAnnuity:
    @pytest.mark.parametrize(
        ("principal", "rate", "periods", "expected"),
        [
            (1_200_000, Decimal(0), 12, 100_000),
            (1_000_000, Decimal(0), 3, 333_334),  # rounded up
            # 2,000,000 yen, 2.5 %/year, 60 months: 35,494.2... yen a month
            (2_000_000, Decimal("2.5") / 100 / 12, 60, 35_495),
        ],
    )
    def test_known_values(self, principal: int, rate: Decimal, periods: int, expected: int) -> None:
        assert annuity_yen(principal, rate, periods) == expected

    def test_exception(self) -> None:
        with pytest.raises(ValueError, match="periods"):
            annuity_yen(1, Decimal(0), 0)


class TestRepaymentSchedule:
    def test_smoke(self) -> None:
        schedule = _schedule()
        first, last = schedule.instalments[0], schedule.instalments[-1]
        assert schedule.first_due == date(2025, 6, 10)  # the month after the loan date
        assert last.due == date(2030, 5, 10)
        assert len(schedule.instalments) == 60
        assert (first.payment_yen, first.interest_yen, first.principal_yen) == (
            35_495,
            4_166,
            31_329,
        )
        assert last.balance_yen == 0
        assert last.payment_yen <= first.payment_yen
        assert schedule.total_paid_yen == schedule.principal_yen + schedule.total_interest_yen

    def test_bonus_share_is_of_the_principal(self) -> None:
        schedule = _schedule(bonus_share_percent=30, bonus_months=(6, 12))
        bonus = [i for i in schedule.instalments if i.kind is InstalmentKind.BONUS]
        assert schedule.bonus_principal_yen == 600_000
        assert schedule.monthly_principal_yen == 1_400_000
        assert [b.due.month for b in bonus] == [6, 12] * 5
        assert sum(b.principal_yen for b in bonus) == 600_000
        assert bonus[0].interest_yen == 7_500  # half a year of 2.5 % on 600,000
        june = [i for i in schedule.instalments if i.due == date(2025, 6, 10)]
        assert [i.kind for i in june] == [InstalmentKind.MONTHLY, InstalmentKind.BONUS]

    def test_deferral_is_interest_only(self) -> None:
        schedule = _schedule(deferral_months=12, annual_rate_percent=Decimal("2.0"))
        deferred, repaying = schedule.instalments[:12], schedule.instalments[12:]
        assert {i.principal_yen for i in deferred} == {0}
        assert {i.interest_yen for i in deferred} == {3_333}
        assert sum(i.principal_yen for i in repaying) == 2_000_000

    @pytest.mark.parametrize(
        "overrides",
        [
            {"payment_day": 29},
            {"deferral_months": 60},
            {"principal_yen": 0},
            {"term_months": 3, "bonus_share_percent": 30, "bonus_months": (1, 2)},
        ],
    )
    def test_exception(self, overrides: dict[str, object]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 (the rules refuse these first)
            _schedule(**overrides)

    @settings(max_examples=60, deadline=None)
    @given(
        principal=st.integers(100_000, 10_000_000),
        rate=st.decimals(0, 15, places=2),
        term=st.integers(12, 180),
        share=st.integers(0, 50),
    )
    def test_the_principal_is_repaid_exactly(
        self, principal: int, rate: Decimal, term: int, share: int
    ) -> None:
        schedule = _schedule(
            principal_yen=principal,
            annual_rate_percent=rate,
            term_months=term,
            bonus_share_percent=share,
            bonus_months=(7, 12),
        )
        assert sum(i.principal_yen for i in schedule.instalments) == principal
        for kind in InstalmentKind:
            rows = [i for i in schedule.instalments if i.kind is kind]
            if rows:
                assert rows[-1].balance_yen == 0
                assert all(i.principal_yen >= 0 and i.interest_yen >= 0 for i in rows)
                assert rows[-1].payment_yen <= rows[0].payment_yen + 1
