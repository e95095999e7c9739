"""Shared by the ekyc tests: the OCR engine, or a skip naming what is missing."""

from __future__ import annotations

import pytest

from ekyc.read import LineReader, OcrUnavailable, default_reader


@pytest.fixture(scope="session")
def reader() -> LineReader:
    try:
        return default_reader()
    except OcrUnavailable as exc:
        pytest.skip(f"OCR unavailable: {exc.message}")
