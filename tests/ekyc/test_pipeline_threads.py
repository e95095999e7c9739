"""``ekyc.pipeline._Threads``: independent pieces of a verification on two threads."""

from __future__ import annotations

import threading

import pytest

from ekyc.config import PipelineConfig
from ekyc.pipeline import _Threads


def test_results_and_exceptions_come_back_in_the_order_given():
    threads = _Threads(2)
    boom = ValueError("boom")

    def fail() -> int:
        raise boom

    outcomes = threads.run([lambda: 1, fail, lambda: 3])
    threads.close()
    assert outcomes == [(1, None), (None, boom), (3, None)]


def test_pieces_run_on_two_threads():
    threads = _Threads(2)
    both = threading.Barrier(2, timeout=10)  # broken unless two pieces run at once

    def piece() -> str:
        both.wait()
        return threading.current_thread().name

    names = [name for name, error in threads.run([piece, piece]) if error is None]
    threads.close()
    assert len(names) == 2
    assert len(set(names)) == 2


def test_the_caller_takes_back_what_a_busy_pool_has_not_started():
    threads = _Threads(2)
    started, release = threading.Event(), threading.Event()

    def hold() -> None:  # another verification's piece, holding the pool's only thread
        started.set()
        release.wait(10)

    held = threads._ensure_pool().submit(hold)
    assert started.wait(10)
    caller = threading.current_thread().name
    try:
        outcomes = threads.run([lambda: 0, lambda: threading.current_thread().name])
    finally:
        release.set()
        held.result()
        threads.close()
    assert outcomes == [(0, None), (caller, None)]


def test_one_thread_runs_everything_in_the_caller():
    threads = _Threads(1)
    caller = threading.current_thread().name
    pieces = [lambda: threading.current_thread().name] * 3
    assert threads.run(pieces) == [(caller, None)] * 3


def test_threads_must_be_positive():
    with pytest.raises(ValueError, match="threads"):
        PipelineConfig(threads=0)
