"""Tesseract (``jpn``) as a line reader: the ``tesseract`` binary, one process per card.

Each field crop is one single-line page (``--psm 7``); all crops of a card go to one process
through a list file, and the TSV output gives per-word confidences. The process start and
the loading of ``jpn.traineddata`` cost about 250 ms on the team's 2-core machine, against
10-20 ms per line of recognition, so :class:`TesseractLib` (``ekyc.read.tesslib``), which
keeps the model loaded, is the default when ``libtesseract`` can be loaded.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.errors import OcrUnavailable

__all__ = ["GreyImage", "LineRead", "LineReader", "OcrUnavailable", "TesseractCli"]

logger = logging.getLogger(__name__)

GreyImage = npt.NDArray[np.uint8]
"""An ``(H, W)`` ``uint8`` grey image of one printed line, dark text on a light ground."""


@dataclass(frozen=True, slots=True)
class LineRead:
    """What the engine read on one line, and how sure it was.

    Attributes:
        text: The characters read, words joined (a space only where the print has a gap).
        confidence: Mean word confidence in [0, 1]; 0.0 when nothing was read.
    """

    text: str
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")


class LineReader(Protocol):
    """Reads single printed lines; benchmarks swap implementations behind this."""

    def read_lines(
        self, lines: Sequence[GreyImage], charsets: Sequence[str | None]
    ) -> tuple[LineRead, ...]:
        """One ``LineRead`` per image; ``charsets[i]`` restricts line ``i``'s characters."""
        ...


class TesseractCli:
    """Runs the ``tesseract`` binary once per call, every line a ``--psm 7`` page.

    ``charsets`` is ignored here: one process takes one configuration, and a process per
    charset would double the start-up cost.

    Args:
        executable: Path or name of the binary (looked up on ``PATH``).
        lang: Traineddata to load (``jpn`` reads kanji, kana, digits and Latin).
        tessdata_dir: Folder holding ``<lang>.traineddata``; the build's default when None.
        timeout_s: Limit for one call; a stuck process raises ``OcrUnavailable``.
    """

    def __init__(
        self,
        executable: str = "tesseract",
        *,
        lang: str = "jpn",
        tessdata_dir: Path | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        found = shutil.which(executable)
        if found is None:
            raise OcrUnavailable(
                f"the tesseract binary ({executable!r}) is not installed "
                "(Debian: apt-get install tesseract-ocr tesseract-ocr-jpn)",
                executable=executable,
            )
        self.executable = found
        self.lang = lang
        self.tessdata_dir = tessdata_dir
        self.timeout_s = timeout_s

    def _argv(self, list_file: Path) -> list[str]:
        argv = [self.executable, str(list_file), "stdout", "-l", self.lang, "--psm", "7"]
        if self.tessdata_dir is not None:
            argv += ["--tessdata-dir", str(self.tessdata_dir)]
        return [*argv, "tsv"]

    def read_lines(
        self, lines: Sequence[GreyImage], charsets: Sequence[str | None] = ()
    ) -> tuple[LineRead, ...]:
        """Read every line in one process; see :class:`LineReader`."""
        del charsets
        if not lines:
            return ()
        with tempfile.TemporaryDirectory(prefix="ekyc-ocr-") as tmp:
            paths = [Path(tmp) / f"line{i:02d}.png" for i in range(len(lines))]
            for path, image in zip(paths, lines, strict=True):
                cv2.imwrite(str(path), image)
            list_file = Path(tmp) / "lines.txt"
            list_file.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
            tsv = self._run(self._argv(list_file))
        return parse_tsv(tsv, len(lines))

    def _run(self, argv: list[str]) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - fixed argv, no shell
                argv,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
                env={"OMP_THREAD_LIMIT": "1"},  # its OpenMP threads only add overhead here
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrUnavailable(
                f"tesseract did not finish within {self.timeout_s} s", timeout_s=self.timeout_s
            ) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0 or "Failed loading language" in stderr:
            raise OcrUnavailable(
                f"tesseract could not run with lang={self.lang!r} "
                "(Debian: apt-get install tesseract-ocr-jpn)",
                returncode=done.returncode,
                stderr=stderr[-400:],
            )
        return done.stdout.decode("utf-8", "replace")


def parse_tsv(tsv: str, n_pages: int) -> tuple[LineRead, ...]:
    """Word rows (level 5) of tesseract's TSV, grouped by page into one ``LineRead`` each."""
    words: list[list[tuple[int, int, int, float, str]]] = [[] for _ in range(n_pages)]
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) != 12 or cols[0] != "5" or not cols[11].strip() or float(cols[10]) < 0:
            continue
        page, left, width, height = int(cols[1]), int(cols[6]), int(cols[8]), int(cols[9])
        if 1 <= page <= n_pages:
            words[page - 1].append((left, width, height, float(cols[10]), cols[11].strip()))
    return tuple(_join_words(page_words) for page_words in words)


def _join_words(words: list[tuple[int, int, int, float, str]]) -> LineRead:
    """Join words left to right, with a space only across a gap wider than 0.4 line heights."""
    if not words:
        return LineRead("", 0.0)
    words.sort()
    line_h = max(h for _, _, h, _, _ in words)
    text = words[0][4]
    for (l0, w0, _, _, _), (l1, _, _, _, word) in itertools.pairwise(words):
        text += (" " if l1 - (l0 + w0) > 0.4 * line_h else "") + word
    confidence = sum(c for _, _, _, c, _ in words) / len(words) / 100.0
    return LineRead(text, min(1.0, max(0.0, confidence)))
