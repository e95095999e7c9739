from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np
import pytest

from ekyc.liveness import InMemoryHashStore, Reason, check_metadata, dhash, hamming, phash
from ekyc.types import CaptureMetadata


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return np.ascontiguousarray(data.astronaut()), np.ascontiguousarray(data.chelsea())


class TestHashes:
    def test_near_duplicates_stay_close(self, photos):
        img, _ = photos
        ok, jpg = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 70])
        assert ok
        recoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR)[:, :, ::-1]
        half = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
        for variant in (recoded, half):
            assert hamming(dhash(img), dhash(variant)) <= 4
            assert hamming(phash(img), phash(variant)) <= 4

    def test_different_images_far_apart(self, photos):
        a, b = photos
        assert hamming(dhash(a), dhash(b)) > 15
        assert hamming(phash(a), phash(b)) > 15


class TestHashStore:
    def test_seen_in_another_session(self, photos):
        img, other = photos
        store = InMemoryHashStore()
        store.add("session-1", img)
        slightly = np.clip(img.astype(np.int16) + 3, 0, 255).astype(np.uint8)
        found = store.find_similar(slightly, exclude_session="session-2")
        assert [s.session_id for s in found] == ["session-1"]
        assert store.find_similar(img, exclude_session="session-1") == ()
        assert store.find_similar(other, exclude_session="session-2") == ()


class TestCheckMetadata:
    @pytest.mark.parametrize(
        ("shots", "expected"),
        [
            ([("A", "X", "10:00"), ("A", "X", "10:05")], ()),
            ([("A", "X", "10:00"), ("B", "Y", "10:01")], (Reason.METADATA_INCONSISTENT,)),
            ([("A", "X", "10:00"), ("A", "X", "13:00")], (Reason.METADATA_INCONSISTENT,)),
            ([("A", "X", "10:00"), (None, None, None)], ()),  # stripped EXIF is no evidence
        ],
    )
    def test_known_values(self, shots, expected):
        meta = [
            CaptureMetadata(
                source_format="JPEG",
                camera_make=make,
                camera_model=model,
                taken_at=datetime.fromisoformat(f"2026-11-26T{t}") if t else None,
            )
            for make, model, t in shots
        ]
        assert check_metadata(meta) == expected
