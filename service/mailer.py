"""Outbox delivery from the daemon: right after a change that mailed, and on a timer.

Routes that enqueue a mail (registration, code reissue, password) schedule
``Mailer.deliver`` as a background task, so the code reaches the applicant within
seconds; the timer retries what failed (SMTP down, refused). ``deliver_outbox`` is safe
to run concurrently, but one process runs one delivery at a time so that a run never
misses a mail committed while another run was listing the pending ones.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from loanflow.clock import Clock
from loanflow.db import SessionFactory
from loanflow.mail import DeliveryReport, deliver_outbox
from service.settings import Settings

__all__ = ["Mailer"]

_log = logging.getLogger(__name__)


class Mailer:
    """Sends the outbox over the configured SMTP server."""

    def __init__(self, db: SessionFactory, settings: Settings) -> None:
        self._db = db
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._sender = settings.mail_sender
        self._interval_s = settings.mail_retry_interval_s
        self._lock = threading.Lock()

    def deliver(self, clock: Clock | None = None) -> DeliveryReport:
        """Send what is pending now (blocking; run it off the event loop)."""
        with self._lock:
            report = deliver_outbox(
                self._db, self._host, self._port, clock=clock, sender=self._sender
            )
        if report.failed:
            _log.warning("mail delivery: %d sent, %d failed", report.sent, report.failed)
        return report

    async def retry_forever(self) -> None:
        """Deliver every ``mail_retry_interval_s`` until cancelled (0: never)."""
        if self._interval_s <= 0:
            return
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await asyncio.to_thread(self.deliver)
            except Exception:  # a database hiccup must not end the loop
                _log.exception("mail delivery run failed")
