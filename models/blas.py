"""numpy's OpenBLAS on one thread for a stretch of code: ``ekyc.blas``'s, re-exported.

``models.train_pad`` fits on one thread so the model file's bytes do not depend on the
machine's core count (two threads trained another sha256 here: 5e56d2b8... vs 6af2af02...
with ``OPENBLAS_NUM_THREADS=1``); another CPU, whose OpenBLAS kernels differ, may still
train other bytes, which the manifest's sha256 says.
"""

from __future__ import annotations

from ekyc.blas import one_blas_thread

__all__ = ["one_blas_thread"]
