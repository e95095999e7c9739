"""numpy's OpenBLAS thread count: one thread where the caller runs its own threads.

Why: the pipeline and the daemon run their stages and requests on their own threads, and
numpy's products are small (embeddings, fusion, PAD features). A second OpenBLAS thread
buys nothing there and, after each product, its worker spins on the idle core: measured on
the 2-core workplace machine (session 8, six unscreened 12 MP verifications, alternating),
CPU per verification 1,779 / 1,923 -> 1,550 / 1,548 ms and p50 961 / 1,048 -> 913 / 946 ms
with one thread; throughput with 1 and 2 workers unchanged within noise. It also makes
one-core timings honest: ``time.process_time`` counts the spinning worker (find_card read
108.7 ms of process CPU for 54.4 ms of its own thread's).

The count is set through OpenBLAS's C API, as threadpoolctl does; with another BLAS (or
none found) every function here does nothing and says so by returning ``None``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["blas_threads", "one_blas_thread", "prefer_one_blas_thread", "set_blas_threads"]

_NAMES = ("openblas_get_num_threads64_", "openblas_set_num_threads64_")


@functools.cache
def _openblas() -> ctypes.CDLL | None:
    """The OpenBLAS bundled in numpy's wheel (``numpy.libs``), when it has the 64-bit API."""
    for path in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libopenblas*.so*")):
        lib = ctypes.CDLL(str(path))
        if all(hasattr(lib, name) for name in _NAMES):
            return lib
    return None


def blas_threads() -> int | None:
    """OpenBLAS's thread count now, or ``None`` without numpy's OpenBLAS."""
    lib = _openblas()
    return None if lib is None else int(lib.openblas_get_num_threads64_())


def set_blas_threads(n: int) -> int | None:
    """Set OpenBLAS's thread count; returns the count before (``None``: nothing set)."""
    if n < 1:
        raise ValueError(f"BLAS threads must be >= 1, got {n}")
    lib = _openblas()
    if lib is None:
        return None
    before = int(lib.openblas_get_num_threads64_())
    lib.openblas_set_num_threads64_(n)
    return before


def prefer_one_blas_thread() -> int | None:
    """One OpenBLAS thread for this process unless ``OPENBLAS_NUM_THREADS`` says otherwise.

    For processes that run their own threads (the ``ekyc`` command, the daemon). An operator
    who sets ``OPENBLAS_NUM_THREADS`` keeps that choice (OpenBLAS read it at load). Returns
    the count now in force.
    """
    if not os.environ.get("OPENBLAS_NUM_THREADS"):
        set_blas_threads(1)
    return blas_threads()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """OpenBLAS on one thread for the duration, then as it was.

    For deterministic fits (OpenBLAS sums a product in another order on two threads than on
    one, so a trained file's last bits depend on it: ``models.train_pad``) and one-core
    timings (``benchmarks.detect``).
    """
    before = set_blas_threads(1)
    try:
        yield
    finally:
        if before is not None:
            set_blas_threads(before)
