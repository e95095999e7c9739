"""Issue active-liveness challenges: a random action sequence, a nonce and an expiry.

Why random and bound: a recording made for one challenge (same actions, same order) is of
no use for the next, whose actions and nonce differ; the expiry closes the window in which
an attacker could produce a fitting recording on demand.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import numpy as np

from ekyc.liveness.results import Action, Challenge

__all__ = ["new_challenge", "secure_rng"]

_ALL = tuple(Action)


def secure_rng() -> np.random.Generator:
    """A generator seeded from the OS's CSPRNG: what production passes to ``new_challenge``."""
    return np.random.default_rng(secrets.randbits(128))


def new_challenge(
    rng: np.random.Generator,
    now: datetime,
    *,
    ttl_s: float = 60.0,
    action_timeout_ms: float = 5000.0,
) -> Challenge:
    """A challenge of 2 or 3 distinct actions in random order, valid for ``ttl_s`` seconds.

    Args:
        rng: The source of randomness; tests pass a seeded one, production ``secure_rng()``.
        now: Timezone-aware issue time (the server's clock, never the client's).
        ttl_s: Lifetime; 60 s leaves time to read the prompt and act, not to fake it.
        action_timeout_ms: Longest gap allowed between consecutive actions.

    Example:
        >>> from datetime import timezone
        >>> c = new_challenge(np.random.default_rng(0), datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> 2 <= len(c.actions) <= 3 and len(c.nonce) == 32
        True
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not ttl_s > 0:
        raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
    count = int(rng.integers(2, 4))
    picks = rng.permutation(len(_ALL))[:count]
    # Distinct actions: a repeated one would let a shorter recording pass twice.
    actions = tuple(_ALL[int(i)] for i in picks)
    nonce = bytes(rng.integers(0, 256, size=16, dtype=np.uint8)).hex()
    return Challenge(
        actions=actions,
        nonce=nonce,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        action_timeout_ms=action_timeout_ms,
    )
