"""``ekyc.pipeline._Threads`` and ``_Graph``: the pieces of a verification on two threads."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

import pytest

from ekyc.config import PipelineConfig
from ekyc.pipeline import _Graph, _Threads


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


@contextlib.contextmanager
def busy_pool() -> Iterator[_Threads]:
    """Two threads whose pool's only thread is held by another verification's piece."""
    threads = _Threads(2)
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(10)

    held = threads._ensure_pool().submit(hold)
    assert started.wait(10)
    try:
        yield threads
    finally:
        release.set()
        held.result()
        threads.close()


def test_the_caller_takes_back_what_a_busy_pool_has_not_started():
    caller = threading.current_thread().name
    with busy_pool() as threads:
        outcomes = threads.run([lambda: 0, lambda: threading.current_thread().name])
    assert outcomes == [(0, None), (caller, None)]


def test_one_thread_runs_everything_in_the_caller():
    threads = _Threads(1)
    caller = threading.current_thread().name
    pieces = [lambda: threading.current_thread().name] * 3
    assert threads.run(pieces) == [(caller, None)] * 3


def test_threads_must_be_positive():
    with pytest.raises(ValueError, match="threads"):
        PipelineConfig(threads=0)


class TestGraph:
    """``ekyc.pipeline._Graph``: pieces run as soon as the pieces they need are done."""

    def test_a_piece_runs_after_the_pieces_it_needs(self):
        threads = _Threads(2)
        graph = _Graph(threads)
        seen: list[str] = []
        lock = threading.Lock()

        def note(name: str, value: int) -> int:
            with lock:
                seen.append(name)
            return value

        a = graph.add(lambda: note("a", 1))
        b = graph.add(lambda: note("b", 2))
        total = graph.add(lambda: note("total", a.value() + b.value()), after=[a, b])
        graph.run()
        threads.close()
        assert total.value() == 3
        assert seen[-1] == "total"
        assert sorted(seen[:2]) == ["a", "b"]

    def test_a_failed_piece_stops_what_needs_it_and_nothing_else(self):
        threads = _Threads(2)
        graph = _Graph(threads)
        boom = ValueError("boom")
        ran: list[str] = []

        def fail() -> None:
            raise boom

        broken = graph.add(fail)
        after = graph.add(lambda: ran.append("after"), after=[broken])
        later = graph.add(lambda: ran.append("later"), after=[after])
        free = graph.add(lambda: 7)
        graph.run()
        threads.close()
        for task in (broken, after, later):
            with pytest.raises(ValueError, match="boom"):
                task.value()
        assert free.value() == 7
        assert ran == []

    def test_ready_pieces_run_on_two_threads(self):
        threads = _Threads(2)
        graph = _Graph(threads)
        both = threading.Barrier(2, timeout=10)  # broken unless two pieces run at once

        def piece() -> str:
            both.wait()
            return threading.current_thread().name

        first = graph.add(lambda: None)
        pieces = [graph.add(piece, after=[first]) for _ in range(2)]
        graph.run()
        threads.close()
        assert len({task.value() for task in pieces}) == 2

    def test_one_thread_runs_the_lowest_priority_first(self):
        graph = _Graph(_Threads(1))
        order: list[int] = []
        for priority in (3, 1, 2, 1):
            graph.add(functools.partial(order.append, priority), priority=priority)
        graph.run()
        assert order == [1, 1, 2, 3]

    def test_the_caller_runs_everything_while_the_pool_is_busy(self):
        caller = threading.current_thread().name
        with busy_pool() as threads:
            graph = _Graph(threads)
            first = graph.add(lambda: threading.current_thread().name)
            tasks = [graph.add(lambda: threading.current_thread().name, after=[first])
                     for _ in range(3)]  # fmt: skip
            graph.run()
        assert {task.value() for task in (first, *tasks)} == {caller}
