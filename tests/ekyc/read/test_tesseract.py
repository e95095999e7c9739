from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ekyc.errors import ModelError
from ekyc.read.tesseract import LineRead, OcrUnavailable, TesseractCli, parse_tsv

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def _word(page: int, left: int, width: int, conf: float, text: str) -> str:
    return f"5\t{page}\t1\t1\t1\t1\t{left}\t5\t{width}\t40\t{conf}\t{text}"


class TestParseTsv:
    def test_known_values(self) -> None:
        tsv = "\n".join([
            HEADER,
            "1\t1\t0\t0\t0\t0\t0\t0\t400\t50\t-1\t",
            _word(1, 10, 40, 90.0, "森"),
            _word(1, 80, 40, 94.0, "さく"),  # gap 30 > 0.4 * 40: a space
            _word(1, 120, 20, 92.0, "ら"),  # touching: no space
            _word(3, 5, 30, 50.0, "x"),
        ])  # fmt: skip
        lines = parse_tsv(tsv, 3)
        assert lines[0].text == "森 さくら"
        assert lines[0].confidence == pytest.approx(0.92)
        assert lines[1] == LineRead("", 0.0)
        assert lines[2].text == "x"

    def test_ignores_rows_of_other_levels_and_blank_words(self) -> None:
        tsv = "\n".join([HEADER, _word(1, 0, 10, -1.0, ""), _word(1, 0, 10, 80.0, " ")])
        assert parse_tsv(tsv, 1) == (LineRead("", 0.0),)


class TestErrors:
    def test_is_a_model_error(self) -> None:
        assert issubclass(OcrUnavailable, ModelError)
        assert OcrUnavailable.code == "ocr_unavailable"

    def test_missing_traineddata(self, reader, tmp_path: Path) -> None:
        del reader
        cli = TesseractCli(tessdata_dir=tmp_path)
        with pytest.raises(OcrUnavailable, match="lang='jpn'"):
            cli.read_lines([np.full((40, 100), 255, np.uint8)])

    def test_missing_traineddata_in_process(self, reader, tmp_path: Path) -> None:
        del reader
        from ekyc.read.tesslib import TesseractLib

        with pytest.raises(OcrUnavailable, match="lang='jpn'"):
            TesseractLib(tessdata_dir=tmp_path)

    def test_no_lines_no_process(self) -> None:
        try:
            cli = TesseractCli()
        except OcrUnavailable:
            pytest.skip("tesseract binary not installed")
        assert cli.read_lines([]) == ()
