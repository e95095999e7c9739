"""benchmarks.embed_profile: multiply-adds and node kinds from a graph, profiled shares."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from benchmarks.embed_profile import budget_model, conv_kinds, profile
from models.quantize import calibrate, quantize_int8


def _tiny() -> object:
    """3x3 conv 3->8 at 16 px, 3x3 depthwise stride 2, 1x1 8->16, fc 16*8*8 -> 4."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)
        for name, shape in (("w1", (8, 3, 3, 3)), ("w2", (8, 1, 3, 3)), ("w3", (16, 8, 1, 1)),
                            ("fc", (4, 1024)))
    ]  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1", kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Relu", ["a"], ["a_r"], name="c1_relu"),
        helper.make_node(
            "Conv",
            ["a_r", "w2"],
            ["b"],
            name="dw",
            kernel_shape=[3, 3],
            pads=[1] * 4,
            strides=[2, 2],
            group=8,
        ),
        helper.make_node("Relu", ["b"], ["b_r"], name="dw_relu"),
        helper.make_node("Conv", ["b_r", "w3"], ["c"], name="pw", kernel_shape=[1, 1]),
        helper.make_node("Flatten", ["c"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc1", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


# Per face: 16*16*8*27 + 8*8*8*9 + 8*8*16*8 + 4*1024
TINY_MACS = 55296 + 4608 + 8192 + 4096


def test_kinds_and_multiply_adds_in_float_and_int8():
    model = _tiny()
    expected = {"c1": "kxk conv", "dw": "depthwise conv", "pw": "pointwise conv", "fc1": "fc"}
    kinds, macs = conv_kinds(model)
    assert macs == TINY_MACS
    assert {name: kinds[name] for name in expected} == expected
    # onnxruntime names a fused Conv + Relu after the Relu's output: that is the conv too
    assert kinds["a_r"] == "kxk conv"
    faces = np.random.default_rng(1).uniform(0, 255, (2, 3, 16, 16)).astype(np.float32)
    kinds8, macs8 = conv_kinds(quantize_int8(model, calibrate(model, faces)))
    assert macs8 == TINY_MACS  # weights read through DequantizeLinear
    assert {name: kinds8[name] for name in expected} == expected


def test_profile_shares(tmp_path):
    import onnx

    path = tmp_path / "tiny.onnx"
    onnx.save(_tiny(), str(path))
    r = profile(str(path), batch=2, runs=3)
    assert r["macs_per_face"] == TINY_MACS
    assert r["cpu_ms_per_face"] >= 0.0
    assert sum(r["share"].values()) == pytest.approx(1.0)
    assert {"kxk conv", "depthwise conv", "pointwise conv"} <= set(r["share"])


def test_budget_model_is_sface_chain_at_width():
    kinds, macs = conv_kinds(budget_model(0.25))
    assert all(kinds[f"dw_{i}"] == "depthwise conv" for i in range(13))
    assert all(kinds[f"pw_{i}"] == "pointwise conv" for i in range(13))
    # SFace's 574 M multiply-adds scale with the square of the width, roughly (first conv,
    # depthwise and fc scale linearly): a quarter of the width is ~1/16.
    assert 574e6 / 20 < macs < 574e6 / 12
