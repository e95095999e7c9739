from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

from ekyc.types import (
    CaptureMetadata,
    CardQuad,
    Check,
    DocumentType,
    Frame,
    ModelRef,
    QualityReport,
)

SHA = "a" * 64


class TestFrame:
    @pytest.mark.parametrize(
        ("image", "expected"),
        [
            (np.zeros((4, 5, 3), np.uint8), nullcontext()),
            (np.zeros((4, 5), np.uint8), pytest.raises(ValueError, match=r"\(H, W, 3\)")),
            (np.zeros((4, 5, 4), np.uint8), pytest.raises(ValueError, match=r"\(H, W, 3\)")),
            (np.zeros((0, 5, 3), np.uint8), pytest.raises(ValueError, match=r"\(H, W, 3\)")),
            (np.zeros((4, 5, 3), np.float32), pytest.raises(ValueError, match="uint8")),
            ([[0, 0, 0]], pytest.raises(ValueError, match="uint8")),
        ],
    )
    def test_exception(self, image, expected):
        with expected:
            Frame(image=image, metadata=CaptureMetadata("PNG"), source_sha256=SHA)

    def test_smoke(self):
        frame = Frame(np.zeros((4, 5, 3), np.uint8), CaptureMetadata("PNG"), SHA)
        assert (frame.width, frame.height) == (5, 4)
        with pytest.raises(AttributeError):
            frame.source_sha256 = "b" * 64  # type: ignore[misc]


class TestCardQuad:
    @pytest.mark.parametrize(
        ("corners", "score", "expected"),
        [
            (np.zeros((4, 2), np.float32), 0.5, nullcontext()),
            (np.zeros((4, 2), np.float64), 0.5, pytest.raises(ValueError, match="float32")),
            (np.zeros((3, 2), np.float32), 0.5, pytest.raises(ValueError, match=r"\(4, 2\)")),
            (np.full((4, 2), np.nan, np.float32), 0.5, pytest.raises(ValueError, match="finite")),
            (np.zeros((4, 2), np.float32), 1.5, pytest.raises(ValueError, match="score")),
        ],
    )
    def test_exception(self, corners, score, expected):
        with expected:
            CardQuad(corners, score)


class TestCheck:
    @pytest.mark.parametrize(
        ("value", "threshold", "rule", "passed"),
        [
            (1.0, 1.0, "min", True),
            (0.9, 1.0, "min", False),
            (1.0, 1.0, "max", True),
            (1.1, 1.0, "max", False),
        ],
    )
    def test_known_values(self, value, threshold, rule, passed):
        assert Check(value, threshold, rule).passed is passed

    @pytest.mark.parametrize(
        ("value", "rule", "match"), [(1.0, "between", "rule"), (float("nan"), "min", "finite")]
    )
    def test_exception(self, value, rule, match):
        with pytest.raises(ValueError, match=match):
            Check(value, 1.0, rule)  # type: ignore[arg-type]


def test_quality_report_failures_in_stable_order():
    ok, bad = Check(1, 0, "min"), Check(0, 1, "min")
    report = QualityReport(
        sharpness=bad,
        underexposure=ok,
        overexposure=ok,
        glare=bad,
        noise=ok,
        resolution=ok,
        glare_in_region=bad,
    )
    assert report.failures == ("sharpness", "glare", "glare_in_region")
    assert not report.passed


@pytest.mark.parametrize(
    ("doc", "accepted", "has_back"),
    [
        (DocumentType.DRIVERS_LICENSE, True, True),
        (DocumentType.MY_NUMBER_CARD, True, False),
        (DocumentType.RESIDENCE_CARD, True, True),
        (DocumentType.HEALTH_INSURANCE_CARD, False, False),
        (DocumentType.PASSPORT, False, False),
    ],
)
def test_document_rules(doc, accepted, has_back):
    assert doc.accepted is accepted
    assert doc.has_back is has_back


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"id": "face-embed/x@1", "sha256": SHA}, nullcontext()),
        ({"id": "no-version", "sha256": SHA}, pytest.raises(ValueError, match="@")),
        ({"id": "a/b@1", "sha256": "short"}, pytest.raises(ValueError, match="sha256")),
    ],
)
def test_model_ref(kwargs, expected):
    with expected:
        ModelRef(**kwargs)


def test_capture_metadata_validation():
    with pytest.raises(ValueError, match="exif_orientation"):
        CaptureMetadata("JPEG", exif_orientation=9)
    with pytest.raises(ValueError, match="focal_length_35mm"):
        CaptureMetadata("JPEG", focal_length_35mm=0.0)


def test_each_card_shot_names_the_side_it_must_show():
    from ekyc.types import Shot, Side

    assert [s.card_side for s in Shot] == [Side.FRONT, Side.FRONT, Side.BACK, None]
