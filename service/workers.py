"""The CPU pool: image decoding and model work run here, never on the event loop.

Threads, not processes: OpenCV, NumPy, Pillow's decoders and onnxruntime release the GIL
in their heavy loops, the preloaded models are shared without copies, and frames need no
pickling. The pool has one thread per usable core; at most ``queue_per_worker`` jobs per
thread may wait, beyond which callers get ``ServerBusy`` at once (a preview frame that
waits seconds is useless; the client sends the next one).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from service.errors import ServerBusy

__all__ = ["CpuPool"]

P = ParamSpec("P")
T = TypeVar("T")


class CpuPool:
    """A bounded thread pool for CPU-heavy calls from async routes."""

    def __init__(self, workers: int, *, queue_per_worker: int) -> None:
        self.workers = workers
        self.capacity = workers * (1 + queue_per_worker)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ekyc-cpu")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Jobs running or waiting."""
        with self._lock:
            return self._pending

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` in the pool and await its result (or exception).

        Raises:
            ServerBusy: The queue is full; nothing was started.
        """
        with self._lock:
            if self._pending >= self.capacity:
                raise ServerBusy("the image workers are busy: retry shortly", retry_after_s=1)
            self._pending += 1
        # Counted until the job itself ends: a cancelled request does not stop a running job.
        try:
            job = self._executor.submit(functools.partial(fn, *args, **kwargs))
        except RuntimeError:  # shut down
            self._done(None)
            raise
        job.add_done_callback(self._done)
        return await asyncio.wrap_future(job)

    def _done(self, _job: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones (their requests are gone with the server)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
