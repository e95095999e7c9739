"""Convert dlib's face-recognition ResNet (`.dat`) to ONNX, byte-for-byte reproducibly.

Why: dlib's own forward pass costs ~80 ms per face on CPU and cannot batch well; the same
weights under onnxruntime are several times faster. The weights ship in the public-domain
`face-recognition-models` package, so the project converts them itself instead of
downloading anyone's ONNX file.

Graph contract (what the manifest declares):
    input "input": float32 (N, 3, 150, 150), NCHW, RGB, raw pixel values 0..255, from a
        dlib face chip (dlib.get_face_chip, size 150, padding 0.25). dlib's normalisation
        (pixel - mean) / 256 happens inside the graph, so the manifest's mean is 0, std 1.
    output "embedding": float32 (N, 128), dlib's descriptor as is (not re-normalised);
        compare with Euclidean distance, dlib's threshold 0.6.

Wiring: the file holds no residual wiring (tags and skips are bare version numbers), so it
follows dlib's published `dnn_face_recognition_ex.cpp` definition; the parsed layer
sequence is checked against that definition before anything is built.

    python -m models.convert_dlib [--dat FILE] [--out FILE] [--check --sha256 HEX]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from models.dlib_format import (
    AddPrev,
    Affine,
    Conv,
    DlibFormatError,
    DlibNet,
    FullyConnected,
    Layer,
    Marker,
    Pool,
    Relu,
    parse_dlib_net,
)
from models.output import Conversion, write_output

PRODUCER = "ekyc.models.convert_dlib"
CONVERTER_VERSION = "1"  # bump when the emitted graph changes for the same .dat
OPSET = 17
IR_VERSION = 8  # the IR that introduced opset 17; fixed so new onnx releases don't change bytes
DAT_NAME = "dlib_face_recognition_resnet_model_v1.dat"
DEFAULT_OUT = Path(__file__).resolve().parent / "build" / "dlib_face_recognition_resnet_v1.onnx"

# dnn_face_recognition_ex.cpp: (filters, blocks, first block downsamples) per level, input first.
_LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))


def _expected_kinds() -> list[str]:
    """Layer kinds, forward order, that dlib's published network serializes to."""
    kinds = ["Conv", "Affine", "Relu", "Pool"]
    for _, blocks, down in _LEVELS:
        for i in range(blocks):
            kinds += ["Marker", "Conv", "Affine", "Relu", "Conv", "Affine"]
            kinds += ["Marker", "Marker", "Pool"] if down and i == 0 else []
            kinds += ["AddPrev", "Relu"]
    return [*kinds, "Pool", "FullyConnected"]


@dataclass
class _Graph:
    """Accumulates nodes and initializers with stable, sequential names."""

    nodes: list[onnx.NodeProto]
    inits: list[onnx.TensorProto]
    shapes: dict[str, tuple[int, int, int]]  # (C, H, W) per tensor, batch left out
    counts: dict[str, int]

    def name(self, prefix: str) -> str:
        n = self.counts.get(prefix, 0)
        self.counts[prefix] = n + 1
        return f"{prefix}_{n:02d}"

    def const(self, name: str, value: npt.NDArray[Any]) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op: str, inputs: list[str], shape: tuple[int, int, int], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        self.shapes[out] = shape
        return out


def _pool_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def _conv_affine(g: _Graph, x: str, conv: Conv, affine: Affine) -> str:
    """Conv followed by affine_, folded into one Conv (scale in float64, then float32)."""
    gamma = affine.gamma.astype(np.float64)
    weights = (conv.filters.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
    bias = (conv.bias.astype(np.float64) * gamma + affine.beta).astype(np.float32)
    c_in, h, w = g.shapes[x]
    if conv.filters.shape[1] != c_in:
        raise DlibFormatError(f"conv expects {conv.filters.shape[1]} channels, gets {c_in}")
    out_c, _, kh, kw = conv.filters.shape
    (sy, sx), (py, px) = conv.stride, conv.padding
    shape = (out_c, _pool_out(h, kh, sy, py), _pool_out(w, kw, sx, px))
    prefix = f"conv_{g.counts.get('conv', 0):02d}"
    return g.op(
        "Conv",
        [x, g.const(f"{prefix}.weight", weights), g.const(f"{prefix}.bias", bias)],
        shape,
        kernel_shape=[kh, kw],
        strides=[sy, sx],
        pads=[py, px, py, px],
    )


def _pool(g: _Graph, x: str, pool: Pool) -> str:
    c, h, w = g.shapes[x]
    if pool.size == (0, 0):
        return g.op("GlobalAveragePool", [x], (c, 1, 1))
    (kh, kw), (sy, sx), (py, px) = pool.size, pool.stride, pool.padding
    shape = (c, _pool_out(h, kh, sy, py), _pool_out(w, kw, sx, px))
    op = "MaxPool" if pool.kind == "max" else "AveragePool"
    return g.op(op, [x], shape, kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px])


def _add_prev(g: _Graph, a: str, b: str) -> str:
    """dlib's add_prev: the output takes the larger size per axis; the smaller is zero-padded
    at the end (channels after, rows below, columns right)."""
    (ca, ha, wa), (cb, hb, wb) = g.shapes[a], g.shapes[b]
    target = (max(ca, cb), max(ha, hb), max(wa, wb))
    padded = []
    for name in (a, b):
        extra = [t - s for t, s in zip(target, g.shapes[name], strict=True)]
        if any(extra):
            pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
            padded.append(g.op("Pad", [name, g.const(g.name("pads"), pads)], target))
        else:
            padded.append(name)
    return g.op("Add", padded, target)


def _build_nodes(g: _Graph, x: str, layers: tuple[Layer, ...]) -> str:
    """Walk the layers with dlib's residual wiring: a lone marker is tag1 (block input);
    a marker pair is tag2 (block output) + skip1 (back to the block input)."""
    block_in = block_out = x
    after_skip = False
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, Conv):
            affine = layers[i + 1]
            if not isinstance(affine, Affine):
                raise DlibFormatError(f"layer {i + 1}: expected affine_ after con_")
            x = _conv_affine(g, x, layer, affine)
            i += 1
        elif isinstance(layer, Marker) and isinstance(layers[i + 1], Marker):
            block_out, x, after_skip = x, block_in, True
            i += 1
        elif isinstance(layer, Marker):
            block_in, after_skip = x, False
        elif isinstance(layer, Relu):
            x = g.op("Relu", [x], g.shapes[x])
        elif isinstance(layer, Pool):
            x = _pool(g, x, layer)
        elif isinstance(layer, AddPrev):
            x = _add_prev(g, x, block_out if after_skip else block_in)
        elif isinstance(layer, FullyConnected):
            if layer.bias is not None:
                raise DlibFormatError("fc_ with a bias: the published net has none")
            flat = g.op("Flatten", [x], g.shapes[x], axis=1)
            weights = g.const("fc.weight", layer.weights)
            g.nodes.append(helper.make_node("MatMul", [flat, weights], ["embedding"], name="fc"))
            x = "embedding"
        i += 1
    return x


def build_model(net: DlibNet, *, source_sha256: str) -> onnx.ModelProto:
    """The ONNX model for a parsed dlib face-recognition network."""
    kinds = [type(layer).__name__ for layer in net.layers]
    if kinds != _expected_kinds():
        raise DlibFormatError("layer sequence differs from dlib's dnn_face_recognition_ex net")
    rows, cols = net.input.rows, net.input.cols
    g = _Graph([], [], {"input": (3, rows, cols)}, {})
    mean = np.array(net.input.mean_rgb, dtype=np.float32).reshape(1, 3, 1, 1)
    x = g.op("Sub", ["input", g.const("rgb_mean", mean)], (3, rows, cols))
    x = g.op("Mul", [x, g.const("scale", np.array(1 / 256, dtype=np.float32))], (3, rows, cols))
    out = _build_nodes(g, x, net.layers)
    fc = net.layers[-1]
    if not isinstance(fc, FullyConnected):
        raise DlibFormatError("the last layer must be fc_")
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, rows, cols])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", fc.weights.shape[1]])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=CONVERTER_VERSION,
        doc_string="dlib face-recognition ResNet v1 (public domain); raw RGB 0..255 NCHW in, "
        "128-D descriptor out; Euclidean distance, threshold 0.6.",
    )
    model.ir_version = IR_VERSION
    mean_text = ",".join(f"{m:.6g}" for m in net.input.mean_rgb)
    helper.set_model_props(
        model,
        {"source_sha256": source_sha256, "dlib_mean_rgb": mean_text, "dlib_scale": "1/256"},
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def convert_bytes(dat: bytes) -> bytes:
    """The serialized ONNX model for the bytes of a `.dat` file (deterministic)."""
    model = build_model(parse_dlib_net(dat), source_sha256=hashlib.sha256(dat).hexdigest())
    return bytes(model.SerializeToString())


def default_dat_path() -> Path:
    """The `.dat` shipped by face-recognition-models, found without importing the package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face-recognition-models is not installed (the models extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / DAT_NAME


def convert(dat_path: Path, out_path: Path) -> Conversion:
    """Convert `dat_path` and write the ONNX model to `out_path` (parents created)."""
    start = time.perf_counter()
    data = convert_bytes(dat_path.read_bytes())
    return write_output(out_path, data, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.convert_dlib", description=__doc__)
    parser.add_argument("--dat", type=Path, help=f"default: face-recognition-models' {DAT_NAME}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail unless sha256 == --sha256")
    parser.add_argument("--sha256", help="expected sha256 of the ONNX output (with --check)")
    args = parser.parse_args(argv)
    if args.check and not args.sha256:
        parser.error("--check needs --sha256")
    result = convert(args.dat or default_dat_path(), args.out)
    print(f"path    {result.path}")
    print(f"sha256  {result.sha256}")
    print(f"size    {result.size_bytes} bytes ({result.elapsed_s:.2f} s)")
    if args.check and result.sha256 != args.sha256.lower():
        print(f"MISMATCH: expected sha256 {args.sha256}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
