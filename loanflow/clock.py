"""Time, injected: every operation takes a ``Clock`` so tests move time instead of sleeping.

Convention: instants are timezone-aware ``datetime`` in UTC; the database stores UTC.
Japan Standard Time (``JST``, UTC+9, no daylight saving) is used only for calendar rules
such as the e-signature deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

__all__ = ["JST", "Clock", "SystemClock"]

JST = timezone(timedelta(hours=9), "JST")


class Clock(Protocol):
    """Source of the current instant."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        return datetime.now(UTC)
