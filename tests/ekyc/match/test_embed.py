from __future__ import annotations

import csv

import numpy as np
import pytest

from ekyc.match import (
    DEFAULT_EMBEDDER,
    OnnxEmbedder,
    YuNetDetector,
    align_face,
    embed_each,
    embed_faces,
    load_embedder,
)
from tests.ekyc.match.conftest import DLIB, SFACE_CV, SFACE_INT8, SFACE_ORT


def _sface_cv(registry):
    import cv2

    return cv2.FaceRecognizerSF.create(str(registry.path(SFACE_CV)), "")


@pytest.mark.models
class TestOnnxEmbedder:
    def test_equals_opencv_sface(self, registry, astronaut):
        face = YuNetDetector(registry).detect(astronaut)[0]
        embedder = OnnxEmbedder(registry, SFACE_ORT)
        crop = align_face(astronaut, face.landmarks, embedder.template)
        ours = embedder.embed([crop])[0]
        ref = _sface_cv(registry).feature(np.ascontiguousarray(crop[:, :, ::-1]))
        np.testing.assert_allclose(ours.vector, ref.reshape(-1), atol=1e-4)
        assert ours.model == embedder.model

    def test_batch_equals_one_by_one(self, registry, astronaut):
        face = YuNetDetector(registry).detect(astronaut)[0]
        for model_id in (SFACE_INT8, SFACE_ORT, DLIB):
            embedder = OnnxEmbedder(registry, model_id)
            crop = align_face(astronaut, face.landmarks, embedder.template)
            crops = [crop, crop[:, ::-1].copy(), crop]
            batch = embedder.embed(crops)
            single = [embedder.embed([c])[0] for c in crops]
            for a, b in zip(batch, single, strict=True):
                np.testing.assert_allclose(a.vector, b.vector, atol=1e-5)
            assert embedder.embed([]) == ()

    def test_embed_each_equals_one_call_per_face(self, registry, astronaut):
        """One batch over several images (the active check's frames) = one call per image.

        Measured on the default fusion: identical bits (max difference 0.0); the tolerance
        only allows a float layer's or BLAS's rounding on another CPU.
        """
        moved = np.clip(np.roll(astronaut, (6, -4), axis=(0, 1)) * 0.8, 0, 255).astype(np.uint8)
        detector = YuNetDetector(registry)
        shots = [(img, detector.detect(img)[0]) for img in (astronaut, moved, astronaut)]
        for embedder in (load_embedder(registry, DEFAULT_EMBEDDER), OnnxEmbedder(registry, DLIB)):
            batch = embed_each(shots, embedder)
            single = [embed_faces(img, (face,), embedder)[0] for img, face in shots]
            assert len(batch) == 3
            assert embed_each([], embedder) == ()
            for a, b in zip(batch, single, strict=True):
                assert a.model == b.model
                np.testing.assert_allclose(a.vector, b.vector, atol=1e-5, rtol=0)

    def test_wrong_crop_size(self, registry):
        embedder = OnnxEmbedder(registry, SFACE_INT8)
        with pytest.raises(ValueError, match="crops must be"):
            embedder.embed([np.zeros((150, 150, 3), np.uint8)])

    def test_embed_faces_uses_each_template(self, registry, astronaut):
        faces = YuNetDetector(registry).detect(astronaut)
        for model_id, dims in ((SFACE_INT8, 128), (DLIB, 128)):
            (emb,) = embed_faces(astronaut, faces[:1], OnnxEmbedder(registry, model_id))
            assert emb.vector.shape == (dims,)


@pytest.mark.models
@pytest.mark.dataset
def test_equals_opencv_on_lfw_crops(registry, lfw):
    """The ORT build of SFace is OpenCV's SFace on real faces (first 16 LFW crops)."""
    import cv2

    with (lfw / "pairs.csv").open(newline="") as fh:
        names = [row["img1"] for row in csv.DictReader(fh)][:16]
    crops = [np.ascontiguousarray(cv2.imread(str(lfw / n))[:, :, ::-1]) for n in names]
    ours = OnnxEmbedder(registry, SFACE_ORT).embed(crops)
    ref = _sface_cv(registry)
    for crop, emb in zip(crops, ours, strict=True):
        expected = ref.feature(np.ascontiguousarray(crop[:, :, ::-1])).reshape(-1)
        np.testing.assert_allclose(emb.vector, expected, atol=1e-4)
