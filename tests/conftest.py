"""Shared fixtures: where the public evaluation data lives, and generated images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$EKYC_DATA_DIR``, or ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("EKYC_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The evaluation data folder; tests using it are skipped, naming the path, if absent."""
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path} (set EKYC_DATA_DIR)")
    return path
