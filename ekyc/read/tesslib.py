"""Tesseract in process through its C API (``libtesseract.so.5``, via ctypes): model loaded once.

Loading ``jpn.traineddata`` takes 250-400 ms; after that a single line takes 10-20 ms on the
team's 2-core machine, against ~250 ms for every ``tesseract`` process. The C API is the
library's stable interface (``tesseract/capi.h``); ctypes needs no extra package, and releases
the GIL while the library reads. One handle is not thread-safe: each call takes a handle of
its own from a small pool (``handles``, made on first need, ~10 MB each with the fast
``jpn``), so a verification can read two groups of its fields at once; a forked worker makes
its own handles.

Tesseract parallelises its LSTM with OpenMP. On a busy 2-core machine the OpenMP team spins
against the other work: 40-170 ms a line instead of 10-25 ms. Tesseract's ``num_threads``
clauses override ``omp_set_num_threads`` alone, so before every call the reader also turns
on dynamic adjustment (``omp_set_dynamic(1)``), which lets libgomp run those regions on one
thread; measured as fast as ``OMP_THREAD_LIMIT=1``, without touching the environment.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ekyc.read.tesseract import GreyImage, LineRead, OcrUnavailable

__all__ = ["TesseractLib"]

_PSM_SINGLE_LINE = 7
_OEM_LSTM_ONLY = 1


def _load_library(name: str | None) -> ctypes.CDLL:
    path = name or ctypes.util.find_library("tesseract")
    if path is None:
        raise OcrUnavailable(
            "libtesseract is not installed (Debian: apt-get install tesseract-ocr)",
            library="tesseract",
        )
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise OcrUnavailable(f"libtesseract could not be loaded: {exc}", library=path) from exc
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures: dict[str, tuple[list[type], type | None]] = {
        "TessBaseAPICreate": ([], vp),
        "TessBaseAPIDelete": ([vp], None),
        "TessBaseAPIEnd": ([vp], None),
        "TessBaseAPIInit2": ([vp, cp, cp, i], i),
        "TessBaseAPISetPageSegMode": ([vp, i], None),
        "TessBaseAPISetVariable": ([vp, cp, cp], i),
        "TessBaseAPISetImage": ([vp, vp, i, i, i, i], None),
        "TessBaseAPISetSourceResolution": ([vp, i], None),
        "TessBaseAPIGetUTF8Text": ([vp], vp),
        "TessBaseAPIMeanTextConf": ([vp], i),
        "TessBaseAPIClear": ([vp], None),
        "TessDeleteText": ([vp], None),
    }
    for fn, (argtypes, restype) in signatures.items():
        getattr(lib, fn).argtypes = argtypes
        getattr(lib, fn).restype = restype
    return lib


def _openmp_limiter() -> ctypes.CDLL | None:
    """OpenMP's libgomp with ``omp_set_dynamic`` / ``omp_set_num_threads`` typed, when it loads."""
    name = ctypes.util.find_library("gomp")
    if name is None:
        return None
    try:
        gomp = ctypes.CDLL(name)
        for fn in (gomp.omp_set_dynamic, gomp.omp_set_num_threads):
            fn.argtypes = [ctypes.c_int]
            fn.restype = None
    except (OSError, AttributeError):
        return None
    return gomp


class _Handle:
    """One loaded ``TessBaseAPI`` and the whitelist it holds (used by one call at a time)."""

    __slots__ = ("pointer", "whitelist")

    def __init__(self, pointer: int) -> None:
        self.pointer = pointer
        self.whitelist = b""


class TesseractLib:
    """A loaded Tesseract model that reads single lines (see ``LineReader``).

    Args:
        lang: Traineddata to load.
        tessdata_dir: Folder holding ``<lang>.traineddata``; the build's default when None.
        library: Path or soname of libtesseract; found by ``ctypes.util`` when None.
        threads: OpenMP threads per call (1: see the module's note on contention).
        handles: Calls that may read at once, each on a handle of its own.

    Raises:
        OcrUnavailable: when the library or the traineddata cannot be loaded.
    """

    def __init__(
        self,
        lang: str = "jpn",
        *,
        tessdata_dir: Path | None = None,
        library: str | None = None,
        threads: int = 1,
        handles: int = 2,
    ) -> None:
        if handles < 1:
            raise ValueError(f"handles must be >= 1, got {handles}")
        self.lang = lang
        self.threads = threads
        self.handles = handles
        self._gomp = _openmp_limiter()
        self.tessdata_dir = tessdata_dir
        self._lib = _load_library(library)
        self._lock = threading.Condition()
        self._pid = os.getpid()
        self._free: list[_Handle] = []
        self._made = 0
        self._free.append(self._new_handle())  # fails here, not on the first read
        self._made = 1
        atexit.register(self.close)

    def _new_handle(self) -> _Handle:
        handle: int = self._lib.TessBaseAPICreate()
        datapath = str(self.tessdata_dir).encode() if self.tessdata_dir is not None else None
        if self._lib.TessBaseAPIInit2(handle, datapath, self.lang.encode(), _OEM_LSTM_ONLY):
            self._lib.TessBaseAPIDelete(handle)
            raise OcrUnavailable(
                f"tesseract could not load lang={self.lang!r} "
                "(Debian: apt-get install tesseract-ocr-jpn)",
                lang=self.lang,
                tessdata_dir=str(self.tessdata_dir),
            )
        self._lib.TessBaseAPISetPageSegMode(handle, _PSM_SINGLE_LINE)
        return _Handle(handle)

    def _take(self) -> _Handle:
        """A free handle, a new one while fewer than ``handles`` exist, else wait for one."""
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's handles are not ours
                self._pid, self._free, self._made = os.getpid(), [], 0
            while not self._free and self._made >= self.handles:
                self._lock.wait()
            if self._free:
                return self._free.pop()
            self._made += 1
        try:
            return self._new_handle()  # outside the lock: loading takes 250-400 ms
        except BaseException:
            with self._lock:
                self._made -= 1
                self._lock.notify()
            raise

    def _give_back(self, handle: _Handle) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._free.append(handle)
                self._lock.notify()

    def close(self) -> None:
        """Free the model (also run at exit, which keeps libtesseract's leak report quiet)."""
        with self._lock:
            if self._pid == os.getpid():
                for handle in self._free:
                    self._lib.TessBaseAPIEnd(handle.pointer)
                    self._lib.TessBaseAPIDelete(handle.pointer)
                self._made -= len(self._free)
            self._free = []

    def read_lines(
        self, lines: Sequence[GreyImage], charsets: Sequence[str | None] = ()
    ) -> tuple[LineRead, ...]:
        """Read each line; ``charsets[i]`` (a whitelist) restricts line ``i`` when given."""
        wanted = list(charsets) + [None] * (len(lines) - len(charsets))
        if self._gomp is not None:  # per calling thread: OpenMP ICVs are thread-local
            self._gomp.omp_set_dynamic(1)
            self._gomp.omp_set_num_threads(self.threads)
        handle = self._take()
        try:
            return tuple(
                self._read_one(handle, image, charset)
                for image, charset in zip(lines, wanted, strict=True)
            )
        finally:
            self._give_back(handle)

    def _read_one(self, handle: _Handle, image: GreyImage, charset: str | None) -> LineRead:
        lib = self._lib
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        if pixels.ndim != 2 or pixels.size == 0:
            raise ValueError(f"a line must be a non-empty (H, W) uint8 image, got {pixels.shape}")
        whitelist = (charset or "").encode()
        if whitelist != handle.whitelist:  # a kanji name's whitelist is 21 k characters
            lib.TessBaseAPISetVariable(handle.pointer, b"tessedit_char_whitelist", whitelist)
            handle.whitelist = whitelist
        lib.TessBaseAPISetImage(
            handle.pointer,
            pixels.ctypes.data,
            pixels.shape[1],
            pixels.shape[0],
            1,
            pixels.strides[0],
        )
        lib.TessBaseAPISetSourceResolution(handle.pointer, 300)
        raw = lib.TessBaseAPIGetUTF8Text(handle.pointer)
        try:
            text = ctypes.string_at(raw).decode("utf-8", "replace") if raw else ""
        finally:
            if raw:
                lib.TessDeleteText(raw)
        confidence = max(0, lib.TessBaseAPIMeanTextConf(handle.pointer)) / 100.0
        lib.TessBaseAPIClear(handle.pointer)
        text = " ".join(text.split())
        return LineRead(text, min(1.0, confidence) if text else 0.0)
