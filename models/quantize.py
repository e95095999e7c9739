"""Faster face embedders for onnxruntime: BatchNorm folded, PRelu rewritten, optionally int8.

Why: onnxruntime's CPU ``PRelu`` kernel with a per-channel slope is as slow as all the
convolutions of SFace together, and it keeps the convolutions out of onnxruntime's blocked
(NCHWc) layout; the same function as ``Relu(x) + slope * Clip(x, max=0)`` costs a fifth of
it. Clip rather than Min: in the int8 graph onnxruntime turns that Clip into the saturation of
a QuantizeLinear, where a Min stays a float op between a dequantize and a quantize.
Folding each BatchNormalization into the Conv or Gemm next to it removes 28 more nodes.
Both rewrites are exact up to float rounding (tests/models/test_quantize.py).

The int8 model is onnxruntime's static QDQ quantization of that float graph: weights int8
per output channel with 7-bit range (``reduce_range``: x86 CPUs without VNNI add u8 x s8
pairs in int16, which saturates on 8-bit weights; with 7 bits the integer arithmetic is
exact, so every CPU gives the same results), activations uint8 over the ranges in
``calibration/sface-2021dec-int8.json``. Those ranges are the min/max of each tensor over
faces that no match benchmark uses: NUAA webcam frames (``nuaa_imposter_raw``, live and
printed photos of 10 subjects; none of them is in LFW), found by YuNet and aligned to the
ArcFace template. They are committed, so the build needs no data and gives the same bytes on
every machine; ``calibrate`` rewrites them from the data (rounded to 4 significant digits).

``prelu="residual"`` (face-embed/sface-2021dec-int8@2) rewrites each PRelu instead as
``x + Relu(w * x)``, ``w`` per channel done by a 1x1 depthwise Conv (``residual_prelu``). In
the int8 graph that is one QLinearConv with its Relu in the output saturation and one
QLinearAdd, both reading the previous convolution's uint8 output: the expansion above left
two dequantize + requantize pairs, a QLinearMul and a QLinearAdd per PRelu (half of the int8
model's time), and a per-channel Mul on uint8 runs ORT's slow broadcasting kernel. Exact in
float. The same quantization works for graphs without PRelu: dlib's ResNet
(face-embed/dlib-resnet-v1-int8@1, ranges from the same NUAA faces warped onto dlib's chip
through the ArcFace crop, as the fusion feeds it: ``--chip dlib-chip-150-pad0.25``).

    python -m models.quantize build --src models/build/face_recognition_sface_2021dec_ort.onnx \
        --out /tmp/sface-int8.onnx [--ranges calibration/sface-2021dec-int8.json] \
        [--prelu expand|residual]
    python -m models.quantize calibrate --src ... [--data ../shared/data] [--faces 200] \
        [--prelu ...] [--chip arcface-5pt-112|dlib-chip-150-pad0.25] --ranges calibration/X.json
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper, numpy_helper

from models.output import Conversion, write_output

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_RANGES = "calibration/sface-2021dec-int8.json"
PRODUCER_SUFFIX = "+ekyc.models.quantize/1"  # bump when the emitted graph changes
CALIBRATION_FACES = 200
_ZERO = "ekyc_prelu_zero"


def _arrays(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def _bn_scale_shift(node: onnx.NodeProto, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
    gamma, beta, mean, var = (arrays[n].astype(np.float32) for n in node.input[1:5])
    scale = (gamma / np.sqrt(var + np.float32(eps))).astype(np.float32)
    return scale, (beta - mean * scale).astype(np.float32)


def fold_batchnorm(model: onnx.ModelProto) -> int:
    """Fold every BatchNormalization that is the only reader of a Conv's or Gemm's output.

    Conv: weights scaled per output channel, bias ``b * scale + shift``. Gemm (``transB=1``):
    rows scaled the same way. Others stay. Returns how many were folded.
    """
    graph = model.graph
    arrays = _arrays(graph)
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    folded: set[int] = set()
    for index, node in enumerate(graph.node):
        source = producer.get(node.input[0]) if node.op_type == "BatchNormalization" else None
        if source is None or readers[node.input[0]] != 1:
            continue
        trans_b = next((a.i for a in source.attribute if a.name == "transB"), 0)
        if source.op_type not in ("Conv", "Gemm") or (source.op_type == "Gemm" and not trans_b):
            continue
        scale, shift = _bn_scale_shift(node, arrays)
        weight = arrays[source.input[1]]
        bias = arrays[source.input[2]] if len(source.input) > 2 else np.zeros_like(scale)
        shape = (-1,) + (1,) * (weight.ndim - 1)
        weight_name, bias_name = f"{source.input[1]}_bnfold", f"{source.output[0]}_bnfold_bias"
        arrays[weight_name] = (weight * scale.reshape(shape)).astype(np.float32)
        arrays[bias_name] = (bias * scale + shift).astype(np.float32)
        del source.input[1:]
        source.input.extend([weight_name, bias_name])
        source.output[0] = node.output[0]
        folded.add(index)
    kept = [n for i, n in enumerate(graph.node) if i not in folded]
    del graph.node[:]
    graph.node.extend(kept)
    _keep_used_initializers(graph, arrays)
    return len(folded)


def expand_prelu(model: onnx.ModelProto) -> int:
    """Each ``PRelu(x, slope)`` becomes ``Relu(x) + slope * Clip(x, max=0)``; returns the count."""
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        out = node.output[0]
        nodes += [
            helper.make_node("Relu", [x], [f"{out}_pos"], name=f"{out}_relu"),
            helper.make_node("Clip", [x, "", _ZERO], [f"{out}_neg"], name=f"{out}_min"),
            helper.make_node("Mul", [f"{out}_neg", slope], [f"{out}_negs"], name=f"{out}_mul"),
            helper.make_node("Add", [f"{out}_pos", f"{out}_negs"], [out], name=f"{out}_add"),
        ]
        count += 1
    if count:
        graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32), _ZERO))
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def _readers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def _scale_input_channels(node: onnx.NodeProto, k: np.ndarray, arrays: dict[str, np.ndarray]
                          ) -> None:  # fmt: skip
    """``node`` (Conv or BatchNormalization) reads ``x / k`` per channel: same function."""
    if node.op_type == "BatchNormalization":  # gamma * (x - mean) / sd + beta, x = k * x'
        gamma, mean = node.input[1], node.input[3]
        arrays[gamma] = (arrays[gamma] * k).astype(np.float32)
        arrays[mean] = (arrays[mean] / k).astype(np.float32)
        return
    group = next((a.i for a in node.attribute if a.name == "group"), 1)
    weight = arrays[node.input[1]]
    if (
        node.op_type != "Conv"
        or group not in (1, weight.shape[0])
        or weight.shape[1] != (len(k) if group == 1 else 1)
    ):
        raise ValueError(f"{node.name}: cannot rescale the input channels of {node.op_type}")
    shape = (1, -1, 1, 1) if group == 1 else (-1, 1, 1, 1)
    arrays[node.input[1]] = (weight * k.reshape(shape)).astype(np.float32)


def residual_prelu(model: onnx.ModelProto) -> int:
    """Each ``PRelu(x, s)`` becomes ``x + Relu(w * x)`` (w per channel); returns the count.

    For ``s <= 1``: ``w = s - 1``. A channel with ``s > 1`` (a steeper negative side) has no
    such form; there the producing Conv's channel is negated (``x' = -x``, so ``PRelu(x) =
    -s * PRelu(x', 1/s)``), ``w = 1/s - 1``, and the readers (Conv or BatchNormalization)
    take the factor ``-s`` into their weights. ``w * x`` is a 1x1 depthwise Conv, not a Mul:
    onnxruntime's int8 Mul broadcasts per channel slowly; its QLinearConv also takes the
    Relu into its output saturation.
    """
    graph = model.graph
    arrays = _arrays(graph)
    producer = {out: node for node in graph.node for out in node.output}
    readers = _readers(graph)
    nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, out = node.input[0], node.output[0]
        slope = arrays[node.input[1]].astype(np.float64).reshape(-1)
        steep = slope > 1.0
        if steep.any():
            source = producer.get(x)
            outputs = {o.name for o in graph.output}
            if source is None or source.op_type != "Conv" or len(readers[x]) != 1 or out in outputs:
                raise ValueError(f"{node.name}: a slope > 1 needs a Conv before it, a reader after")
            sign = np.where(steep, -1.0, 1.0)
            for name in source.input[1:3]:  # weight, bias if any
                arrays[name] = (arrays[name] * sign.reshape((-1,) + (1,) * (arrays[name].ndim - 1))
                                ).astype(np.float32)  # fmt: skip
            for reader in readers.get(out, []):
                _scale_input_channels(reader, np.where(steep, -slope, 1.0), arrays)
        w_name = f"{out}_resid_w"
        w = np.where(steep, 1.0 / np.where(steep, slope, 1.0), slope) - 1.0
        arrays[w_name] = w.reshape(-1, 1, 1, 1).astype(np.float32)
        nodes += [
            helper.make_node(
                "Conv",
                [x, w_name],
                [f"{out}_scaled"],
                name=f"{out}_resid_conv",
                group=len(w),
                kernel_shape=[1, 1],
            ),
            helper.make_node("Relu", [f"{out}_scaled"], [f"{out}_resid"], name=f"{out}_resid_relu"),
            helper.make_node("Add", [x, f"{out}_resid"], [out], name=f"{out}_resid_add"),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    _keep_used_initializers(graph, arrays)
    return count


def _drop_dropout(graph: onnx.GraphProto) -> None:
    """Inference-mode Dropout is the identity: its readers read its input instead."""
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Dropout"}
    kept = [n for n in graph.node if n.op_type != "Dropout"]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = alias.get(name, name)
    del graph.node[:]
    graph.node.extend(kept)
    _keep_used_initializers(graph, _arrays(graph))


def _keep_used_initializers(graph: onnx.GraphProto, arrays: dict[str, np.ndarray]) -> None:
    used = {name for node in graph.node for name in node.input}
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in arrays.items() if n in used)


PRELU_REWRITES = ("expand", "residual")


def fuse_float(model: onnx.ModelProto, prelu: str = "expand") -> onnx.ModelProto:
    """A copy with Dropout dropped, BatchNorm folded and PRelu rewritten (same function).

    ``prelu``: ``expand`` (``expand_prelu``) or ``residual`` (``residual_prelu``).
    """
    if prelu not in PRELU_REWRITES:
        raise ValueError(f"prelu must be one of {PRELU_REWRITES}, got {prelu!r}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    _drop_dropout(out.graph)
    fold_batchnorm(out)
    (expand_prelu if prelu == "expand" else residual_prelu)(out)
    del out.graph.value_info[:]
    onnx.checker.check_model(out, full_check=True)
    return out


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def load_ranges(path: Path) -> dict[str, tuple[float, float]]:
    """``{tensor: (min, max)}`` from a ranges file written by ``calibrate``."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: (float(lo), float(hi)) for name, (lo, hi) in raw["ranges"].items()}


def quantize_int8(float_model: onnx.ModelProto, ranges: dict[str, tuple[float, float]]
                  ) -> onnx.ModelProto:  # fmt: skip
    """onnxruntime's static QDQ quantization of ``fuse_float``'s graph at the given ranges."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as _quantize_static
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    data = {name: TensorData(lowest=np.float32(lo), highest=np.float32(hi))
            for name, (lo, hi) in sorted(ranges.items())}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ekyc-quant-") as tmp:
        src, dst, cache = Path(tmp, "float.onnx"), Path(tmp, "int8.onnx"), Path(tmp, "r.json")
        onnx.save(float_model, str(src))
        save_tensors_data(TensorsData(CalibrationMethod.MinMax, data), cache)
        with _quiet_root_logger():  # the quantizer logs advice through the root logger
            _quantize_static(
                str(src),
                str(dst),
                None,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                calibration_cache_path=str(cache),
            )
        return onnx.load(str(dst))


def convert_bytes(data: bytes, *, ranges: str | None = None, prelu: str = "expand") -> bytes:
    """The float-fused model, or (``ranges``: a file under models/) its int8 QDQ build."""
    model = fuse_float(onnx.load_from_string(data), prelu)
    if ranges is not None:
        model = quantize_int8(model, load_ranges(MODELS_DIR / ranges))
    model.producer_name = (model.producer_name or "unknown") + PRODUCER_SUFFIX
    return bytes(model.SerializeToString())


def convert(src: Path, out: Path, *, ranges: str | None = None, prelu: str = "expand"
            ) -> Conversion:  # fmt: skip
    """Build from ``src`` (an ONNX embedder) into ``out`` (atomic); see ``convert_bytes``."""
    start = time.perf_counter()
    return write_output(out, convert_bytes(src.read_bytes(), ranges=ranges, prelu=prelu), start)


# --- calibration (needs the evaluation data; its output is committed) ----------------------


def default_data_dir() -> Path:
    """``$EKYC_DATA_DIR``, or ``../shared/data`` beside the checkout (may not exist)."""
    return Path(os.environ.get("EKYC_DATA_DIR", MODELS_DIR.parents[1] / "shared" / "data"))


def calibration_faces(data: Path, count: int = CALIBRATION_FACES, chip: str = "arcface-5pt-112"
                      ) -> tuple[npt.NDArray[np.float32], list[str]]:  # fmt: skip
    """NUAA frames (every k-th of the sorted list), YuNet-found, ArcFace-aligned, NCHW RGB.

    ``chip``: another template's crop is warped from the ArcFace crop (as the fusion does).
    """
    import cv2

    from ekyc.match import TEMPLATES, MatchConfig, YuNetDetector, align_face
    from ekyc.registry import Registry

    root = data / "nuaa_imposter_raw"
    if not (root / "labels.csv").is_file():
        raise FileNotFoundError(f"calibration faces need {root / 'labels.csv'}")
    with open(root / "labels.csv", newline="", encoding="utf-8") as fh:
        paths = sorted(row["path"] for row in csv.DictReader(fh))
    detector = YuNetDetector(Registry.from_manifest(threads=1),
                             config=MatchConfig(detect_max_side=320))  # fmt: skip
    arcface = TEMPLATES["arcface-5pt-112"]
    crops, used = [], []
    for rel in paths[:: max(1, len(paths) // count)][:count]:
        rgb = np.ascontiguousarray(cv2.imread(str(root / rel), cv2.IMREAD_COLOR)[:, :, ::-1])
        faces = detector.detect(rgb)
        if faces:
            crop = align_face(rgb, faces[0].landmarks, arcface.name)
            if chip != arcface.name:
                crop = align_face(crop, arcface.points, chip)
            crops.append(crop)
            used.append(rel)
    batch = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch), used


def _outward(value: float, *, up: bool) -> float:
    """``value`` to 4 significant digits, rounded away from the range's inside."""
    if value == 0.0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 3)
    steps = math.ceil(value / step) if up else math.floor(value / step)
    return float(f"{steps * step:.5g}")


def calibrate(float_model: onnx.ModelProto, faces: npt.NDArray[np.float32]
              ) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Min/max of every tensor onnxruntime's quantizer calibrates, widened to 4 digits."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

    name = float_model.graph.input[0].name

    class _Faces(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it = iter([{name: faces[i : i + 1]} for i in range(len(faces))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="ekyc-calib-") as tmp:
        src = Path(tmp, "float.onnx")
        onnx.save(float_model, str(src))
        calibrator = create_calibrator(src, None, augmented_model_path=str(Path(tmp, "aug.onnx")),
                                       calibrate_method=CalibrationMethod.MinMax)  # fmt: skip
        calibrator.collect_data(_Faces())
        data = calibrator.compute_data()
    out = {}
    for name in sorted(data.data):
        lo, hi = (float(np.ravel(v)[0]) for v in data.data[name].range_value)
        out[name] = (_outward(lo, up=False), _outward(hi, up=True))
    return out


def write_ranges(path: Path, ranges: dict[str, tuple[float, float]], *, source: str,
                 faces: list[str], chip: str = "arcface-5pt-112") -> None:  # fmt: skip
    """The committed ranges file: provenance first, then ``{tensor: [min, max]}``."""
    how = "ArcFace alignment" + ("" if chip == "arcface-5pt-112" else f", warped to {chip}")
    doc = {
        "about": "activation ranges for models/quantize.py (MinMax, 4 significant digits)",
        "model": source,
        "faces": f"{len(faces)} NUAA frames (nuaa_imposter_raw), YuNet + {how}",
        "face_files": faces,
        "ranges": {name: [lo, hi] for name, (lo, hi) in sorted(ranges.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.quantize", description=__doc__)
    parser.add_argument("command", choices=("build", "calibrate"))
    parser.add_argument("--src", type=Path, required=True, help="the float ONNX embedder")
    parser.add_argument("--out", type=Path, help="build: the model file to write")
    parser.add_argument("--ranges", default=DEFAULT_RANGES, help="under models/; 'none': float")
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--faces", type=int, default=CALIBRATION_FACES)
    parser.add_argument("--prelu", choices=PRELU_REWRITES, default="expand")
    parser.add_argument("--chip", default="arcface-5pt-112", help="calibrate: the input's template")
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        faces, used = calibration_faces(args.data, args.faces, args.chip)
        ranges = calibrate(fuse_float(onnx.load(str(args.src)), args.prelu), faces)
        source = f"{args.src.name} sha256 {hashlib.sha256(args.src.read_bytes()).hexdigest()}"
        if args.prelu != "expand":
            source += f" (prelu={args.prelu})"
        write_ranges(MODELS_DIR / args.ranges, ranges, source=source, faces=used, chip=args.chip)
        print(f"{len(ranges)} ranges from {len(used)} faces -> {MODELS_DIR / args.ranges}")
        return 0
    if args.out is None:
        parser.error("build needs --out")
    ranges = None if args.ranges == "none" else args.ranges
    result = convert(args.src, args.out, ranges=ranges, prelu=args.prelu)
    print(f"path    {result.path}\nsha256  {result.sha256}\nsize    {result.size_bytes} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
