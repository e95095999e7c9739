from __future__ import annotations

import numpy as np
import onnx
import pytest

from ekyc.registry import Registry
from models.ort_compat import convert, convert_model

BUILDS = {
    "face-detect/yunet-2023mar-ort@1": "face-detect/yunet-2023mar-int8bq@1",
    "face-embed/sface-2021dec-ort@1": "face-embed/sface-2021dec-int8bq@1",
}


@pytest.mark.models
@pytest.mark.parametrize(("built", "shipped"), sorted(BUILDS.items()))
def test_conversion_reproduces_the_manifest(tmp_path, built, shipped):
    registry = Registry.from_manifest()
    spec = registry.spec(built)
    options = dict(spec.extra["convert_options"])
    result = convert(registry.path(shipped), tmp_path / "out.onnx", **options)
    assert (result.sha256, result.size_bytes) == (spec.sha256, spec.size)
    assert registry.spec(shipped).sha256 != spec.sha256  # the shipped file stays as it is


@pytest.mark.models
def test_shipped_graphs_are_refused_and_converted_ones_run():
    import onnxruntime as ort

    registry = Registry.from_manifest()
    session = ort.InferenceSession(
        str(registry.path("face-embed/sface-2021dec-int8bq@1")), providers=["CPUExecutionProvider"]
    )
    with pytest.raises(Exception, match=r"missing"):
        session.run(None, {"data": np.zeros((1, 3, 112, 112), np.float32)})
    model = convert_model(onnx.load(str(registry.path("face-embed/sface-2021dec-int8bq@1"))))
    assert {i.name for i in model.graph.input} == {"data"}
    assert not any(n.op_type == "DequantizeLinear" for n in model.graph.node)
