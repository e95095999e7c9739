"""Where a face embedder's CPU time goes, and how fast a smaller network would be (#5).

    python -m benchmarks.embed_profile [--models ID,ID] [--batches 1,8,32] [--runs 48]
                                       [--budget 1,0.75,0.5] [--out DIR]

Per ONNX embedder of the registry (a fusion: each member; default: the default embedder's),
one onnxruntime intra-op thread, the registry's session options, random 0..255 input at the
model's size: process CPU ms per face (median of unprofiled calls), multiply-adds per face
(Conv, Gemm and MatMul, from the graph's shapes at batch 1), the rate that makes, and the
profiler's kernel time split by what the node is (``kind``): ``kxk conv`` (3x3, 7x7 ...
convolutions with more than one input channel per group), ``pointwise conv`` (1x1),
``depthwise conv``, ``prelu rewrite`` (``models/quantize.py``'s ``x + Relu(w * x)``: its 1x1
depthwise conv and its add), ``add`` (other adds: residual joins), ``fc`` and everything
else by its operator. Shares are of the profiled run; the CPU column is the unprofiled one.

``--budget W,W`` adds SFace's layer chain (MobileNet-V1 style at 112 px, 3x3 depthwise + 1x1
pointwise, 32 -> 1024 channels) rebuilt with ReLU instead of PRelu at each width
multiplier W, random weights, quantized as ``models/quantize.py`` quantizes the embedders
(static QDQ, int8 per-channel 7-bit weights, uint8 activations; ranges from random input):
timing only, it answers "how small must a network be for N ms per face here". Compare
figures within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import Report, suite_main
from ekyc.registry import Registry

# SFace 2021dec's chain after its first 3x3 conv (32 channels): (pointwise out, dw stride).
_ACTIVATIONS = ("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid")

SFACE_CHAIN = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
               (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))  # fmt: skip


def conv_kinds(model: Any) -> tuple[dict[str, str], int]:
    """``{node name: kind}`` for every node, and multiply-adds per face (batch 1).

    Works on float and QDQ graphs alike: a Conv's weight shape is read through its
    DequantizeLinear, spatial sizes come from onnx's shape inference.
    """
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.ModelProto.FromString(model.SerializeToString())
    for dim in model.graph.input[0].type.tensor_type.shape.dim[:1]:
        dim.ClearField("dim_param")
        dim.dim_value = 1
    model = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*model.graph.value_info, *model.graph.output]}  # fmt: skip
    weights = {t.name: list(numpy_helper.to_array(t).shape) for t in model.graph.initializer}
    through = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    kinds: dict[str, str] = {}
    macs = 0
    for node in model.graph.node:
        name, op = node.name, node.op_type
        if op in ("Conv", "Gemm", "MatMul"):
            w = weights.get(through.get(node.input[1], node.input[1]))
            if w is None:
                kinds[name] = op
                continue
            if op == "Conv":
                group = next((a.i for a in node.attribute if a.name == "group"), 1)
                out = shapes.get(node.output[0], [])
                macs += int(np.prod(out)) * int(np.prod(w[1:])) if out else 0
                if "resid_conv" in name:
                    kinds[name] = "prelu rewrite"
                elif group > 1 and w[1] == 1:
                    kinds[name] = "depthwise conv"
                else:
                    kinds[name] = "pointwise conv" if w[2:] == [1, 1] else "kxk conv"
            else:
                macs += int(np.prod(w))
                kinds[name] = "fc"
        elif op == "Add":
            kinds[name] = "prelu rewrite" if "resid_add" in name else "add"
        if name in kinds:  # onnxruntime may name a fused node after its output
            kinds.setdefault(node.output[0], kinds[name])
        elif op in _ACTIVATIONS and node.input[0] in kinds:  # fused into the conv before it
            kinds[name] = kinds[node.output[0]] = kinds[node.input[0]]
    return kinds, macs


def _kind(node: str, op: str, kinds: dict[str, str]) -> str:
    """The kind of a profiled kernel, by the graph node or output it was named after."""
    base = node.split("_token_")[0]
    for name in (node, base, base.removesuffix("_QuantizeLinear"), base.removesuffix("_nchwc")):
        if name in kinds:
            return kinds[name]
    return op


def profile(path: str, batch: int, runs: int) -> dict[str, Any]:
    """CPU ms per face (unprofiled median) and profiled kernel time per kind for one model."""
    import onnx
    import onnxruntime as ort

    kinds, macs = conv_kinds(onnx.load(path))

    def session(profiled: bool, prefix: str = "") -> Any:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        if profiled:
            options.enable_profiling = True
            options.profile_file_prefix = prefix
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    plain = session(False)
    inp = plain.get_inputs()[0]
    side = next((d for d in inp.shape[2:] if isinstance(d, int)), 112)
    x = np.random.default_rng(0).uniform(0, 255, (batch, 3, side, side)).astype(np.float32)
    feed = {inp.name: x}
    for _ in range(2):
        plain.run(None, feed)
    cpu = []
    for _ in range(runs):
        start = time.process_time()
        plain.run(None, feed)
        cpu.append((time.process_time() - start) * 1000.0 / batch)
    with tempfile.TemporaryDirectory(prefix="ekyc-prof-") as tmp:
        profiled = session(True, str(Path(tmp, "p")))
        for _ in range(runs + 1):  # the first, a warm-up, is left out below
            profiled.run(None, feed)
        events = json.loads(Path(profiled.end_profiling()).read_text(encoding="utf-8"))
    per_kind: Counter[str] = Counter()
    runs_seen = [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
    first_timed = runs_seen[1]["ts"] if len(runs_seen) > 1 else 0
    suffix = "_kernel_time"
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith(suffix) and e["ts"] >= first_timed:
            per_kind[_kind(e["name"][: -len(suffix)], e["args"]["op_name"], kinds)] += e["dur"]
    total = sum(per_kind.values()) or 1
    ms_face = float(np.median(cpu))
    return {
        "cpu_ms_per_face": ms_face,
        "macs_per_face": macs,
        "gmacs_per_s": macs / ms_face / 1e6 if ms_face > 0 else 0.0,
        "share": {k: v / total for k, v in per_kind.most_common()},
    }


def budget_model(width: float, seed: int = 0) -> Any:
    """SFace's chain with ReLU at ``width`` x its channels, random weights, int8 (see module)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from models.quantize import calibrate, quantize_int8

    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def conv(x: str, c_in: int, c_out: int, k: int, stride: int, group: int, name: str) -> str:
        w = rng.normal(size=(c_out, c_in // group, k, k)) * np.sqrt(2.0 / (c_in // group * k * k))
        inits.append(numpy_helper.from_array(w.astype(np.float32), f"{name}_w"))
        inits.append(numpy_helper.from_array(np.zeros(c_out, np.float32), f"{name}_b"))
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [name], name=name,
                                      kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4, group=group))  # fmt: skip
        nodes.append(helper.make_node("Relu", [name], [f"{name}_r"], name=f"{name}_relu"))
        return f"{name}_r"

    c, side = max(8, int(32 * width)), 112
    x = conv("data", 3, c, 3, 1, 1, "conv_1")
    for i, (out, stride) in enumerate(SFACE_CHAIN):
        x = conv(x, c, c, 3, stride, c, f"dw_{i}")
        x = conv(x, c, max(8, int(out * width)), 1, 1, 1, f"pw_{i}")
        c, side = max(8, int(out * width)), (side + stride - 1) // stride
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten", axis=1))
    fc = rng.normal(size=(128, c * side * side)) / np.sqrt(c * side * side)
    inits.append(numpy_helper.from_array(fc.astype(np.float32), "fc_w"))
    inits.append(numpy_helper.from_array(np.zeros(128, np.float32), "fc_b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc1"], name="fc", transB=1))
    graph = helper.make_graph(
        nodes, "budget",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 128])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    faces = rng.uniform(0, 255, (4, 3, 112, 112)).astype(np.float32)
    return quantize_int8(model, calibrate(model, faces))


def _members(registry: Registry, model_id: str) -> list[str]:
    spec = registry.spec(model_id)
    if spec.format == "onnx":
        return [model_id]
    if spec.format == "fusion":
        raw = json.loads(registry.path(model_id).read_text(encoding="utf-8"))
        return [str(m["id"]) for m in raw["members"]]
    raise ValueError(f"{model_id}: format {spec.format!r} has no ONNX graph to profile")


def run(args: argparse.Namespace, report: Report) -> None:
    from ekyc.match import DEFAULT_EMBEDDER

    registry = Registry.from_manifest(threads=1)
    targets: list[tuple[str, Callable[[], str]]] = []
    for model_id in args.models or [DEFAULT_EMBEDDER]:
        for member in _members(registry, model_id):
            targets.append((member, lambda m=member: str(registry.path(m))))
    tmp = tempfile.TemporaryDirectory(prefix="ekyc-budget-")
    for width in args.budget:

        def build(w: float = width) -> str:
            import onnx

            path = Path(tmp.name, f"budget-{w}.onnx")
            onnx.save(budget_model(w), str(path))
            return str(path)

        targets.append((f"budget: SFace chain x{width}, ReLU, int8, random weights", build))
    measured: list[tuple[str, int, dict[str, Any]]] = []
    results: dict[str, Any] = {}
    kinds_seen: list[str] = []
    load = os.getloadavg()[0]
    try:
        for name, path_of in targets:
            path = path_of()
            for batch in args.batches:
                r = profile(path, batch, max(3, args.runs // batch))
                results[f"{name} batch {batch}"] = r
                kinds_seen += [k for k in r["share"] if k not in kinds_seen]
                measured.append((name, batch, r))
    finally:
        tmp.cleanup()
    # A column per kind that takes >= 1 % somewhere; the rest summed as "other".
    shown = [k for k in kinds_seen if any(r["share"].get(k, 0.0) >= 0.01 for *_, r in measured)]
    table: list[list[object]] = [
        [name, batch, f"{r['cpu_ms_per_face']:.2f}", f"{r['macs_per_face'] / 1e6:.0f}",
         f"{r['gmacs_per_s']:.1f}", *(f"{100 * r['share'].get(k, 0.0):.1f}" for k in shown),
         f"{100 * sum(v for k, v in r['share'].items() if k not in shown):.1f}"]
        for name, batch, r in measured
    ]  # fmt: skip
    report.section("Where the time goes", f"one intra-op thread; CPU: process ms per face, "
                   f"median of unprofiled calls; M MACs: multiply-adds per face; shares: % of "
                   f"profiled kernel time. Load {load:.1f} at the start, "
                   f"{os.getloadavg()[0]:.1f} at the end.")  # fmt: skip
    report.table(["model", "batch", "CPU ms/face", "M MACs", "GMAC/s", *shown, "other"], table)
    report.results["embed_profile"] = results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=lambda s: s.split(","), default=None)
    parser.add_argument("--batches", type=lambda s: [int(v) for v in s.split(",")],
                        default=[1, 8, 32])  # fmt: skip
    parser.add_argument("--runs", type=int, default=48, help="calls at batch 1 (fewer at larger)")
    parser.add_argument("--budget", type=lambda s: [float(v) for v in s.split(",") if v],
                        default=[])  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.embed_profile", __doc__, add_arguments, run,
                      "ekyc embedding profile", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
