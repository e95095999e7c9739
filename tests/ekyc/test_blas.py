"""numpy's OpenBLAS thread count: set, restored, and one thread in the ``ekyc`` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ekyc.blas import blas_threads, one_blas_thread, prefer_one_blas_thread, set_blas_threads
from ekyc.cli import main

pytestmark = pytest.mark.skipif(
    blas_threads() is None, reason="numpy here is not linked to its bundled 64-bit OpenBLAS"
)


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = blas_threads()
    yield
    assert before is not None
    set_blas_threads(before)


def test_set_returns_the_count_before_and_sets_the_new_one() -> None:
    set_blas_threads(2)
    assert set_blas_threads(1) == 2
    assert blas_threads() == 1


def test_one_blas_thread_restores_the_count_after_an_error() -> None:
    set_blas_threads(2)
    inside: list[int | None] = []

    def fail_inside() -> None:
        with one_blas_thread():
            inside.append(blas_threads())
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError):
        fail_inside()
    assert inside == [1]
    assert blas_threads() == 2


def test_zero_threads_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        set_blas_threads(0)


def test_an_operators_openblas_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    set_blas_threads(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert prefer_one_blas_thread() == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert prefer_one_blas_thread() == 1


def test_the_ekyc_command_runs_on_one_blas_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    set_blas_threads(2)
    main(["detect", str(tmp_path / "missing.jpg")])
    assert '"found": false' in capsys.readouterr().out
    assert blas_threads() == 1
