"""Bad input: 10,000 mutated files through decode_image; only typed errors may come out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

# Interpreter + numpy/PIL/OpenCV take ~100 MB; one decode may legitimately hold the 50 MP
# cap (150 MB RGB) plus a converted copy. Anything past this means an unbounded allocation.
MAX_PEAK_RSS_MB = 700


@pytest.mark.slow
def test_mutated_files_raise_only_typed_errors_in_bounded_memory():
    # A subprocess: a decoder crash or a leak fails this test instead of the whole run.
    out = subprocess.run(
        [sys.executable, "-m", "tests.ekyc.capture.fuzz_decode", "--cases", "10000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["cases"] == 10_000
    assert result["unexpected_count"] == 0, result["unexpected"]
    # The corpus exercises every outcome: the fuzzer is reaching the decoders.
    assert set(result["outcomes"]) >= {
        "decoded",
        "corrupt_image",
        "decompression_bomb",
        "unsupported_format",
    }
    assert result["peak_rss_mb"] < MAX_PEAK_RSS_MB, result
