from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ekyc.errors import ChecksumMismatch, ModelNotFound, ProviderUnavailable
from ekyc.registry import Registry, default_manifest_path
from tests.conftest import REPO

YUNET = "face-detect/yunet-2023mar-int8bq@1"
SFACE = "face-embed/sface-2021dec-int8bq@1"
DLIB = "face-embed/dlib-resnet-v1@1"


def _manifest(tmp_path, file: str, sha256: str, size: int) -> Registry:
    path = tmp_path / "manifest.toml"
    path.write_text(
        textwrap.dedent(f"""
        [[model]]
        id = "test/copy@1"
        task = "face-detect"
        format = "onnx"
        file = "{file}"
        sha256 = "{sha256}"
        size = {size}
        source = "test"
        license = "MIT"
        threshold = 0.5
        input = {{ name = "input", shape = [1, 3, "H", "W"], color_order = "BGR" }}
    """)
    )
    return Registry.from_manifest(path)


def _tiny_onnx(path):
    """A one-node model (y = 2x), so session tests need no shipped weights."""
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 6])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "two"], ["output"])], "double", [x], [y], [two]
    )
    save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        str(path),
    )
    return path


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def yunet_copy(tmp_path):
    registry = Registry.from_manifest()
    src = registry.path(YUNET)
    dst = tmp_path / "model.onnx"
    shutil.copyfile(src, dst)
    spec = registry.spec(YUNET)
    return dst, spec


class TestRegistry:
    def test_smoke(self):
        registry = Registry.from_manifest()
        assert default_manifest_path().is_file()
        ids = [spec.id for spec in registry.specs]
        assert YUNET in ids
        assert SFACE in ids
        for spec in registry.specs:
            assert len(spec.sha256) == 64
            assert spec.size > 0
            assert spec.license
            assert spec.source

    @pytest.mark.models
    def test_every_entry_matches_its_file(self):
        registry = Registry.from_manifest()
        for spec in registry.specs:
            if spec.file.startswith("build:") and not registry.locate(spec.id).exists():
                continue  # conversion outputs are checked by their own tests
            assert registry.path(spec.id).is_file()

    @pytest.mark.models
    @pytest.mark.parametrize("model_id", [YUNET, SFACE, DLIB])
    def test_declared_input_matches_the_graph(self, model_id):
        import onnx

        registry = Registry.from_manifest()
        spec = registry.spec(model_id)
        graph = onnx.load(str(registry.path(model_id))).graph
        first = graph.input[0]
        dims = [d.dim_value or d.dim_param for d in first.type.tensor_type.shape.dim]
        assert spec.input is not None
        assert first.name == spec.input.name
        assert dims == list(spec.input.shape)

    def test_session_is_cached_and_runs(self, tmp_path):
        model = _tiny_onnx(tmp_path / "double.onnx")
        registry = _manifest(tmp_path, model.name, _sha256(model), model.stat().st_size)
        session = registry.session("test/copy@1")
        assert registry.session("test/copy@1") is session
        assert registry.session("test/copy@1", providers=("CPUExecutionProvider",)) is session
        out = session.run(None, {"input": np.arange(6, dtype=np.float32).reshape(1, 6)})
        np.testing.assert_array_equal(out[0], np.arange(6, dtype=np.float32).reshape(1, 6) * 2)

    def test_extra_keys_and_declared_input(self, yunet_copy, tmp_path):
        file, spec = yunet_copy
        registry = _manifest(tmp_path, file.name, spec.sha256, spec.size)
        entry = registry.spec("test/copy@1")
        assert entry.extra["threshold"] == 0.5
        assert entry.input is not None
        assert entry.input.color_order == "BGR"
        assert entry.ref.id == "test/copy@1"

    def test_checksum_mismatch_is_refused(self, yunet_copy, tmp_path):
        file, spec = yunet_copy
        data = bytearray(file.read_bytes())
        data[1000] ^= 0xFF  # same size, one byte changed
        file.write_bytes(bytes(data))
        registry = _manifest(tmp_path, file.name, spec.sha256, spec.size)
        with pytest.raises(ChecksumMismatch) as info:
            registry.path("test/copy@1")
        assert info.value.context["expected_sha256"] == spec.sha256
        with pytest.raises(ChecksumMismatch):
            registry.session("test/copy@1")

    def test_size_mismatch_is_refused(self, yunet_copy, tmp_path):
        file, spec = yunet_copy
        registry = _manifest(tmp_path, file.name, spec.sha256, spec.size + 1)
        with pytest.raises(ChecksumMismatch):
            registry.path("test/copy@1")

    @pytest.mark.parametrize(
        ("file", "model_id"),
        [
            ("missing.onnx", "test/copy@1"),
            ("nosuchpackage_xyz:model.onnx", "test/copy@1"),
            ("build:not-built.onnx", "test/copy@1"),
            ("missing.onnx", "test/unknown@1"),
        ],
    )
    def test_not_found(self, tmp_path, file, model_id):
        registry = _manifest(tmp_path, file, "0" * 64, 1)
        with pytest.raises(ModelNotFound):
            registry.path(model_id)

    def test_missing_manifest(self, tmp_path):
        with pytest.raises(ModelNotFound):
            Registry.from_manifest(tmp_path / "nope.toml")

    def test_unavailable_provider_is_loud(self):
        registry = Registry.from_manifest()
        with pytest.raises(ProviderUnavailable) as info:
            registry.session(YUNET, providers=("NoSuchExecutionProvider",))
        assert "CPUExecutionProvider" in info.value.context["available"]


def test_import_ekyc_loads_no_model_runtime():
    code = (
        "import sys, ekyc, ekyc.registry, ekyc.types, ekyc.errors, ekyc.config; "
        "heavy = {'onnxruntime', 'mediapipe', 'dlib', 'cv2', 'PIL'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
