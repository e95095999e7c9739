from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

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
    residual_prelu,
)

ORT = "face-embed/sface-2021dec-ort@1"
INT8 = "face-embed/sface-2021dec-int8@1"
INT8_V2 = "face-embed/sface-2021dec-int8@2"
DLIB = "face-embed/dlib-resnet-v1@1"
DLIB_INT8 = "face-embed/dlib-resnet-v1-int8@1"
# (int8 model, its float source, the input template of its calibration faces)
BUILDS = [
    (INT8, ORT, "arcface-5pt-112"),
    (INT8_V2, ORT, "arcface-5pt-112"),
    (DLIB_INT8, DLIB, "dlib-chip-150-pad0.25"),
]


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


def _prelu_net(slopes_a: np.ndarray, slopes_b: np.ndarray) -> onnx.ModelProto:
    """Conv -> PRelu -> depthwise Conv -> PRelu -> BatchNormalization, random weights."""
    rng = np.random.default_rng(3)
    c = len(slopes_a)
    init = {
        "w1": rng.normal(size=(c, 3, 3, 3)),
        "b1": rng.normal(size=c),
        "s1": slopes_a.reshape(c, 1, 1),
        "w2": rng.normal(size=(c, 1, 3, 3)),
        "b2": rng.normal(size=c),
        "s2": slopes_b.reshape(c, 1, 1),
        "gamma": rng.uniform(0.5, 2.0, c),
        "beta": rng.normal(size=c),
        "mean": rng.normal(size=c),
        "var": rng.uniform(0.5, 2.0, c),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("PRelu", ["c1", "s1"], ["p1"]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], group=c, pads=[1, 1, 1, 1]),
        helper.make_node("PRelu", ["c2", "s2"], ["p2"]),
        helper.make_node("BatchNormalization", ["p2", "gamma", "beta", "mean", "var"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, c, 8, 8])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in init.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_residual_prelu_is_the_same_function_for_any_slope():
    """Slopes below 0, in [0, 1], exactly 1 and above 1 (the negated channels)."""
    slopes = np.array([-0.6, 0.0, 0.25, 1.0, 1.3, 2.5], np.float32)
    model = _prelu_net(slopes, slopes[::-1].copy())
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    assert residual_prelu(rewritten) == 2
    assert "PRelu" not in {n.op_type for n in rewritten.graph.node}
    onnx.checker.check_model(rewritten, full_check=True)
    x = np.random.default_rng(4).normal(size=(2, 3, 8, 8)).astype(np.float32)
    expected = _session(model).run(None, {"x": x})[0]
    got = _session(rewritten).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-5)


def test_residual_prelu_refuses_what_it_cannot_rescale():
    """A slope > 1 on a graph output leaves no reader to take the factor: an error."""
    model = _prelu_net(np.array([0.5, 1.5], np.float32), np.array([0.5, 1.5], np.float32))
    del model.graph.node[-1]
    model.graph.output[0].name = "p2"
    with pytest.raises(ValueError, match="slope > 1"):
        residual_prelu(model)


@pytest.mark.models
class TestFuseFloat:
    @pytest.mark.parametrize("prelu", ["expand", "residual"])
    def test_same_function(self, registry, faces, prelu):
        source = onnx.load(str(registry.path(ORT)))
        fused = fuse_float(source, prelu)
        ops = {n.op_type for n in fused.graph.node}
        assert not ops & {"PRelu", "Dropout"}
        assert sum(n.op_type == "BatchNormalization" for n in fused.graph.node) <= 1
        expected = _session(str(registry.path(ORT))).run(None, {"data": faces})[0]
        got = _session(fused).run(None, {"data": faces})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


@pytest.mark.models
@pytest.mark.slow
class TestInt8:
    @pytest.mark.parametrize(("model_id", "source", "_chip"), BUILDS)
    def test_build_reproduces_the_manifest(self, registry, tmp_path, model_id, source, _chip):
        spec = registry.spec(model_id)
        options = dict(spec.extra["convert_options"])
        result = convert(registry.path(source), tmp_path / "int8.onnx", **options)
        assert (result.sha256, result.size_bytes) == (spec.sha256, spec.size)

    @pytest.mark.parametrize("model_id", [INT8, INT8_V2])
    def test_close_to_float(self, registry, faces, model_id):
        """Sanity, not accuracy (that is ``ekyc bench match``): same face, same direction.

        Measured (@1): cosine to the float model 0.959-0.99 on 198 LFW crops (median 0.981);
        0.9 still says "the same image", far above SFace's FMR-1e-3 threshold (~0.37).
        """
        if not registry.locate(model_id).exists():
            pytest.skip(f"{registry.locate(model_id)} is not built (python -m models.prepare)")
        a = _session(str(registry.path(ORT))).run(None, {"data": faces})[0]
        b = _session(str(registry.path(model_id))).run(None, {"data": faces})[0]
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert cos.min() > 0.9
        graph = onnx.load(str(registry.path(model_id))).graph
        assert any(n.op_type == "QuantizeLinear" for n in graph.node)

    def test_dlib_close_to_float(self, registry):
        """dlib's chip of the astronaut and variants: the int8 descriptor lies within 0.1 of
        the float one (Euclidean; dlib's impostor pairs are ~0.82 apart, its FMR-1e-3
        threshold 0.57). Measured: 0.03-0.05 on these, pair distances moved 0.007 on average
        over 300 LFW pairs."""
        from benchmarks.synth.selfie import astronaut_face
        from ekyc.match import TEMPLATES, align_face

        if not registry.locate(DLIB_INT8).exists():
            pytest.skip(f"{registry.locate(DLIB_INT8)} is not built (python -m models.prepare)")
        face = astronaut_face()
        arcface = TEMPLATES["arcface-5pt-112"]
        chips = [align_face(f, arcface.points, "dlib-chip-150-pad0.25")
                 for f in (face, np.ascontiguousarray(face[:, ::-1]))]  # fmt: skip
        x = np.ascontiguousarray(np.stack(chips).astype(np.float32).transpose(0, 3, 1, 2))
        a = _session(str(registry.path(DLIB))).run(None, {"input": x})[0]
        b = _session(str(registry.path(DLIB_INT8))).run(None, {"input": x})[0]
        assert np.linalg.norm(a - b, axis=1).max() < 0.1


@pytest.mark.models
@pytest.mark.dataset
@pytest.mark.slow
@pytest.mark.parametrize(("model_id", "source", "chip"), BUILDS)
def test_committed_ranges_cover_their_faces(registry, shared_data, model_id, source, chip):
    """Ranges from 8 of the listed calibration faces lie inside the committed ranges."""
    options = registry.spec(model_id).extra["convert_options"]
    assert model_id != INT8 or options["ranges"] == DEFAULT_RANGES
    doc = json.loads((MODELS_DIR / options["ranges"]).read_text(encoding="utf-8"))
    committed = load_ranges(MODELS_DIR / options["ranges"])
    faces, used = calibration_faces(shared_data, count=200, chip=chip)
    assert used == doc["face_files"]  # the selection is deterministic
    prelu = options.get("prelu", "expand")
    ranges = calibrate(fuse_float(onnx.load(str(registry.path(source))), prelu), faces[::25])
    assert set(ranges) == set(committed)
    for name, (lo, hi) in ranges.items():
        assert committed[name][0] <= lo <= hi <= committed[name][1], name
