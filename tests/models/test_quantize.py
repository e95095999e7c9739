from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from ekyc.registry import Registry
from models.quantize import (
    DEFAULT_RANGES,
    MODELS_DIR,
    _outward,
    calibrate,
    calibration_faces,
    convert,
    fuse_float,
    load_ranges,
)

ORT = "face-embed/sface-2021dec-ort@1"
INT8 = "face-embed/sface-2021dec-int8@1"


def _session(model: onnx.ModelProto | str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    data = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def registry():
    registry = Registry.from_manifest(threads=1)
    if not registry.locate(ORT).exists():
        pytest.skip(f"{registry.locate(ORT)} is not built (python -m models.prepare)")
    return registry


@pytest.fixture(scope="module")
def faces():
    """The astronaut's aligned face and a few variants, NCHW float (RGB 0..255)."""
    from benchmarks.synth.selfie import astronaut_face

    face = astronaut_face().astype(np.float32)
    batch = np.stack([face, face[:, ::-1], face * 0.6, np.clip(face * 1.3 + 10, 0, 255)])
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


class TestOutward:
    @pytest.mark.parametrize(
        ("value", "up", "expected"),
        [
            (1.23456, True, 1.235),
            (1.23456, False, 1.234),
            (-1.23456, False, -1.235),
            (-1.23456, True, -1.234),
            (0.0, True, 0.0),
            (123.4, True, 123.4),
            (9.99951, True, 10.0),
            (-0.000123456, False, -0.0001235),
        ],
    )
    def test_known_values(self, value, up, expected):
        assert _outward(value, up=up) == pytest.approx(expected, rel=1e-12)

    def test_never_shrinks_the_range(self):
        values = np.random.default_rng(0).normal(scale=50.0, size=200)
        assert all(_outward(v, up=True) >= v and _outward(v, up=False) <= v for v in values)


@pytest.mark.models
class TestFuseFloat:
    def test_same_function(self, registry, faces):
        source = onnx.load(str(registry.path(ORT)))
        fused = fuse_float(source)
        ops = {n.op_type for n in fused.graph.node}
        assert not ops & {"PRelu", "Dropout"}
        assert sum(n.op_type == "BatchNormalization" for n in fused.graph.node) <= 1
        expected = _session(str(registry.path(ORT))).run(None, {"data": faces})[0]
        got = _session(fused).run(None, {"data": faces})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


@pytest.mark.models
@pytest.mark.slow
class TestInt8:
    def test_build_reproduces_the_manifest(self, registry, tmp_path):
        spec = registry.spec(INT8)
        options = dict(spec.extra["convert_options"])
        result = convert(registry.path(ORT), tmp_path / "int8.onnx", **options)
        assert (result.sha256, result.size_bytes) == (spec.sha256, spec.size)

    def test_close_to_float(self, registry, faces):
        """Sanity, not accuracy (that is ``ekyc bench match``): same face, same direction.

        Measured: cosine to the float model 0.959-0.99 on 198 LFW crops (median 0.981);
        0.9 still says "the same image", far above SFace's FMR-1e-3 threshold (~0.37).
        """
        if not registry.locate(INT8).exists():
            pytest.skip(f"{registry.locate(INT8)} is not built (python -m models.prepare)")
        a = _session(str(registry.path(ORT))).run(None, {"data": faces})[0]
        b = _session(str(registry.path(INT8))).run(None, {"data": faces})[0]
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert cos.min() > 0.9
        graph = onnx.load(str(registry.path(INT8))).graph
        assert any(n.op_type == "QuantizeLinear" for n in graph.node)


@pytest.mark.models
@pytest.mark.dataset
@pytest.mark.slow
def test_committed_ranges_cover_their_faces(registry, shared_data):
    """Ranges from 8 of the listed calibration faces lie inside the committed ranges."""
    doc = json.loads((MODELS_DIR / DEFAULT_RANGES).read_text(encoding="utf-8"))
    committed = load_ranges(MODELS_DIR / DEFAULT_RANGES)
    faces, used = calibration_faces(shared_data, count=200)
    assert used == doc["face_files"]  # the selection is deterministic
    ranges = calibrate(fuse_float(onnx.load(str(registry.path(ORT)))), faces[::25])
    assert set(ranges) == set(committed)
    for name, (lo, hi) in ranges.items():
        assert committed[name][0] <= lo <= hi <= committed[name][1], name
