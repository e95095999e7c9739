from __future__ import annotations

import numpy as np
import pytest

from ekyc.match import DEFAULT_DETECTOR, DEFAULT_EMBEDDER
from ekyc.registry import Registry

DLIB = "face-embed/dlib-resnet-v1@1"
SFACE_CV = "face-embed/sface-2021dec-int8bq@1"
SFACE_ORT = "face-embed/sface-2021dec-ort@1"  # OpenCV's SFace, as onnxruntime runs it
SFACE_INT8 = "face-embed/sface-2021dec-int8@1"
YUNET_CV = "face-detect/yunet-2023mar-int8bq@1"


@pytest.fixture(scope="session")
def registry():
    registry = Registry.from_manifest(threads=1)
    for model_id in (DEFAULT_DETECTOR, DEFAULT_EMBEDDER, SFACE_ORT, SFACE_INT8, DLIB):
        if not registry.locate(model_id).exists():
            pytest.skip(f"{registry.locate(model_id)} is not built (python -m models.prepare)")
    return registry


@pytest.fixture(scope="session")
def astronaut():
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def lfw(shared_data):
    root = shared_data / "lfw_pairs_aligned112"
    if not (root / "pairs.csv").is_file():
        pytest.skip(f"LFW pairs not found at {root}")
    return root


def two_crops(registry: Registry, astronaut: np.ndarray) -> list[np.ndarray]:
    """Two different 112 px crops of one face: as found, and shifted + darkened."""
    from ekyc.match import YuNetDetector, align_face

    face = YuNetDetector(registry).detect(astronaut)[0]
    moved = np.clip(np.roll(astronaut, (6, -4), axis=(0, 1)) * 0.8, 0, 255).astype(np.uint8)
    return [
        align_face(astronaut, face.landmarks, "arcface-5pt-112"),
        align_face(moved, face.landmarks, "arcface-5pt-112"),
    ]
