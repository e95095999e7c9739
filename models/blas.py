"""numpy's OpenBLAS on one thread for a stretch of code (deterministic fits, one-core timings)."""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["one_blas_thread"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's bundled OpenBLAS on one thread for the duration (then as it was).

    Why, for training (``models.train_pad``): Adam over 1500 float32 steps magnifies a
    sum's last bit, and OpenBLAS sums a product in another order on two threads than on
    one: the same features gave two model files (sha256 5e56d2b8... on this machine's
    default two threads, 6af2af02... with ``OPENBLAS_NUM_THREADS=1``). Set through
    OpenBLAS's C API, as threadpoolctl does; with another BLAS the code runs as it is.
    Another CPU (OpenBLAS picks its kernels per CPU) may still train other bytes: the
    manifest's sha256 says so. Why, for timing (``benchmarks.detect``): after a product
    OpenBLAS's worker spins on an idle core, and ``time.process_time`` counts it: find_card
    read 108.7 ms of process CPU for 54.4 ms of its own thread's (quiet 2-core machine,
    session 8); on one BLAS thread both read ~56.
    """
    lib = None
    for path in (Path(np.__file__).parent.parent / "numpy.libs").glob("libopenblas*.so*"):
        lib = ctypes.CDLL(str(path))
    names = ("openblas_get_num_threads64_", "openblas_set_num_threads64_")
    if lib is None or not all(hasattr(lib, n) for n in names):
        yield
        return
    before = int(lib.openblas_get_num_threads64_())
    lib.openblas_set_num_threads64_(1)
    try:
        yield
    finally:
        lib.openblas_set_num_threads64_(before)
