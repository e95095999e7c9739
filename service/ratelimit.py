"""A small in-process token bucket per (client, route): codes, logins and frame endpoints.

In-process means per daemon process: behind several replicas each enforces its own
budget, which still bounds guessing (codes die after five wrong tries and logins lock
after five failures; this limit only stops floods). Buckets that have refilled are
forgotten, so memory follows the number of recently active clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from service.settings import RateLimit

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Buckets of one rate limit, keyed by an opaque string (client + route).

    Args:
        limit: ``burst`` tokens, refilled at ``per_minute``.
        max_keys: When exceeded, full buckets are dropped (they hold no information).
        monotonic: The time source, in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        max_keys: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate_per_s = limit.per_minute / 60.0
        self._burst = float(limit.burst)
        self._max_keys = max_keys
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float | None:
        """Spend one token; ``None`` when allowed, else the seconds until one is back."""
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate_per_s)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self._rate_per_s
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_keys:
                self._forget_full(now)
            return None

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate_per_s >= self._burst
        ]
        for key in full:
            del self._buckets[key]
