from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loanflow.calendar import (
    add_business_days,
    earliest_loan_date,
    esign_deadline,
    is_business_day,
    previous_business_day,
)
from loanflow.clock import JST

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


class TestIsBusinessDay:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2025, 5, 2), True),  # Friday between Showa Day and Constitution Day
            (date(2025, 4, 29), False),  # 昭和の日 (Tuesday)
            (date(2025, 5, 5), False),  # こどもの日 (Monday)
            (date(2025, 5, 6), False),  # 振替休日 for みどりの日 on Sunday
            (date(2025, 5, 7), True),
            (date(2025, 12, 30), True),
            (date(2025, 12, 31), False),  # bank holiday, a Wednesday
            (date(2026, 1, 1), False),  # 元日
            (date(2026, 1, 2), False),  # bank holiday, a Friday, not a public holiday
            (date(2026, 1, 5), True),
            (date(2025, 7, 19), False),  # Saturday
            (date(2025, 7, 20), False),  # Sunday
            (date(2025, 7, 21), False),  # 海の日
            (date(2025, 9, 23), False),  # 秋分の日
        ],
    )
    def test_known_values(self, day: date, expected: bool) -> None:
        assert is_business_day(day) is expected


class TestAddBusinessDays:
    @pytest.mark.parametrize(
        ("day", "count", "expected", "raises"),
        [
            (date(2025, 5, 2), 1, date(2025, 5, 7), nullcontext()),  # across Golden Week
            (date(2025, 12, 30), 1, date(2026, 1, 5), nullcontext()),  # across New Year
            (date(2025, 7, 18), 1, date(2025, 7, 22), nullcontext()),  # Fri -> Tue (海の日)
            (date(2025, 7, 16), 2, date(2025, 7, 18), nullcontext()),
            (date(2025, 7, 19), 0, date(2025, 7, 19), nullcontext()),  # 0: unchanged
            (date(2025, 7, 18), -1, None, pytest.raises(ValueError, match=">= 0")),
        ],
    )
    def test_known_values(
        self, day: date, count: int, expected: date | None, raises: AbstractContextManager[object]
    ) -> None:
        with raises:
            assert add_business_days(day, count) == expected

    @given(day=DAYS, count=st.integers(min_value=1, max_value=30))
    def test_lands_on_a_business_day_after_count_of_them(self, day: date, count: int) -> None:
        result = add_business_days(day, count)
        assert is_business_day(result)
        between = [day + timedelta(days=i) for i in range(1, (result - day).days + 1)]
        assert sum(is_business_day(d) for d in between) == count


class TestPreviousBusinessDay:
    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2025, 7, 22), date(2025, 7, 18)),  # Tue after 海の日 -> Friday
            (date(2025, 5, 7), date(2025, 5, 2)),  # after Golden Week
            (date(2026, 1, 5), date(2025, 12, 30)),  # after New Year
            (date(2025, 7, 17), date(2025, 7, 16)),
        ],
    )
    def test_known_values(self, day: date, expected: date) -> None:
        assert previous_business_day(day) == expected

    @given(day=DAYS)
    def test_inverts_add_one(self, day: date) -> None:
        if is_business_day(day):
            assert previous_business_day(add_business_days(day, 1)) == day


class TestEarliestLoanDate:
    @pytest.mark.parametrize(
        ("completed_on", "expected"),
        [
            # Fri 4/25: 4/28, 4/30, 5/1, 5/2, 5/7, 5/8, 5/9 (4/29 and 5/3-5/6 closed)
            (date(2025, 4, 25), date(2025, 5, 9)),
            # Tue 12/23: 12/24, 12/25, 12/26, 12/29, 12/30, 1/5, 1/6
            (date(2025, 12, 23), date(2026, 1, 6)),
            (date(2025, 7, 1), date(2025, 7, 10)),
        ],
    )
    def test_known_values(self, completed_on: date, expected: date) -> None:
        assert earliest_loan_date(completed_on) == expected


class TestEsignDeadline:
    @pytest.mark.parametrize(
        ("disbursement", "expected_jst"),
        [
            (date(2025, 7, 22), datetime(2025, 7, 18, 12, 0, tzinfo=JST)),  # over a holiday
            (date(2025, 5, 7), datetime(2025, 5, 2, 12, 0, tzinfo=JST)),  # over Golden Week
            (date(2026, 1, 5), datetime(2025, 12, 30, 12, 0, tzinfo=JST)),  # over New Year
            (date(2025, 7, 17), datetime(2025, 7, 16, 12, 0, tzinfo=JST)),
        ],
    )
    def test_known_values(self, disbursement: date, expected_jst: datetime) -> None:
        deadline = esign_deadline(disbursement)
        assert deadline == expected_jst
        assert deadline.utcoffset() == timedelta(hours=9)
        assert deadline.astimezone(UTC).hour == 3  # 12:00 JST is 03:00 UTC
