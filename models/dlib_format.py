"""Reader for dlib's binary DNN serialization, enough for the face-recognition ResNet.

Why our own reader: dlib's C++ deserializer needs the network *type* at compile time, and
the Python bindings expose no weights. This module parses the stream generically (dlib's
`serialize.h`, `dnn/core.h`, `dnn/layers.h`) and returns the layers in forward order.

Stream layout, outermost object first:
    add_loss_layer: version, loss details ("loss_metric_2", margin, dist_thresh), subnet
    add_layer / add_tag_layer / add_skip_layer: version, subnet, ... (recursively)
    input layer ("input_rgb_image_sized", means, rows, cols)
    then, innermost first, each add_layer's details + trailer (flags and cached tensors);
    tag and skip layers write only their version, so they appear as bare `Marker`s.

Primitive encodings: an integer is a control byte (low 4 bits = byte count, 0x80 = negative)
followed by that many little-endian bytes; a float is mantissa then exponent (value =
m * 2**e); a bool is the character '0' or '1'; a string is its length then its bytes; a
tensor is version 2, dims (n, k, nr, nc), then little-endian float32 data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# dlib's float_details marks non-finite values with these exponents.
_SPECIAL_EXPONENTS = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
_INPUT_LAYER = "input_rgb_image_sized"
_MAX_WRAPPER_DEPTH = 10_000  # far above any real network; stops garbage from looping


class DlibFormatError(ValueError):
    """The bytes are not a dlib network this reader understands (truncated, corrupt, other)."""


@dataclass(frozen=True, slots=True)
class InputRGB:
    """`input_rgb_image_sized`: the network sees (pixel - mean) / 256 per channel, RGB order."""

    mean_rgb: tuple[float, float, float]
    rows: int
    cols: int


@dataclass(frozen=True, slots=True)
class Conv:
    """`con_`: filters (out, in, kh, kw) as in ONNX, plus a bias per output channel."""

    filters: F32
    bias: F32
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Affine:
    """`affine_` in conv mode: y = x * gamma[c] + beta[c] (a frozen batch norm)."""

    gamma: F32
    beta: F32


@dataclass(frozen=True, slots=True)
class Relu:
    """`relu_`."""


@dataclass(frozen=True, slots=True)
class AddPrev:
    """`add_prev_`: adds a tagged earlier output, zero-padding the smaller tensor at the end."""


@dataclass(frozen=True, slots=True)
class Pool:
    """`max_pool_` / `avg_pool_`; size (0, 0) means pool over the whole plane."""

    kind: str  # "max" or "avg"
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, slots=True)
class FullyConnected:
    """`fc_`: weights (in, out), so y = x @ weights (+ bias when dlib stored one)."""

    weights: F32
    bias: F32 | None


@dataclass(frozen=True, slots=True)
class Marker:
    """A tag or skip layer. The file stores only a version number, so the two look alike."""


Layer = Conv | Affine | Relu | AddPrev | Pool | FullyConnected | Marker


@dataclass(frozen=True, slots=True)
class DlibNet:
    """A parsed network: its loss settings, input layer and layers in forward order."""

    loss: str
    margin: float
    dist_thresh: float
    input: InputRGB
    layers: tuple[Layer, ...]


class _Reader:
    """Cursor over the bytes; every read is bounds-checked so bad input raises our error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DlibFormatError(
                f"truncated: needed {n} bytes for {what} at offset {self.pos}, "
                f"file has {len(self.data)}"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int_(self, what: str = "integer") -> int:
        start = self.pos
        control = self.take(1, what)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte 0x{control:02x} at offset {start}")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if control & 0x80 else value

    def float_(self, what: str = "float") -> float:
        mantissa = self.int_(what)
        exponent = self.int_(what)
        if exponent in _SPECIAL_EXPONENTS:
            return _SPECIAL_EXPONENTS[exponent]
        return math.ldexp(mantissa, exponent)

    def bool_(self, what: str = "bool") -> bool:
        char = self.take(1, what)
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool byte {char!r} at offset {self.pos - 1}")
        return char == b"1"

    def string(self, what: str = "string") -> str:
        length = self.int_(what)
        try:
            return self.take(length, what).decode("ascii")
        except UnicodeDecodeError as exc:
            raise DlibFormatError(f"non-ASCII {what} before offset {self.pos}") from exc

    def peek_string(self) -> str | None:
        """The string at the cursor if one plausibly starts here; the cursor does not move."""
        start = self.pos
        try:
            return self.string()
        except DlibFormatError:
            return None
        finally:
            self.pos = start

    def dims(self, what: str) -> tuple[int, int, int, int]:
        n, k, nr, nc = (self.int_(what) for _ in range(4))
        if min(n, k, nr, nc) < 0:
            raise DlibFormatError(f"negative {what} dims {(n, k, nr, nc)}")
        return n, k, nr, nc

    def tensor(self, what: str = "tensor") -> F32:
        version = self.int_(what)
        if version != 2:
            raise DlibFormatError(f"unsupported {what} version {version} (expected 2)")
        shape = self.dims(what)
        raw = self.take(4 * math.prod(shape), what)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self, what: str = "alias_tensor") -> tuple[int, int, int, int]:
        version = self.int_(what)
        if version != 1:
            raise DlibFormatError(f"unsupported {what} version {version} (expected 1)")
        return self.dims(what)


def _conv(r: _Reader, version: str) -> Conv:
    params = r.tensor("con_ params").ravel()
    num_filters = r.int_()
    nr, nc, stride_y, stride_x, pad_y, pad_x = (r.int_() for _ in range(6))
    filt = r.alias("con_ filters")
    bias = r.alias("con_ biases")
    for _ in range(4):
        r.float_()  # learning-rate and weight-decay multipliers: training only
    use_bias = r.bool_() if version == "con_5" else True
    n_filt, n_bias = math.prod(filt), math.prod(bias) if use_bias else 0
    if filt[0] != num_filters or filt[2:] != (nr, nc) or params.size != n_filt + n_bias:
        raise DlibFormatError(f"con_ sizes disagree: filters {filt}, params {params.size}")
    weights = params[:n_filt].reshape(filt)
    biases = params[n_filt:] if use_bias else np.zeros(num_filters, np.float32)
    return Conv(weights, biases, (stride_y, stride_x), (pad_y, pad_x))


def _affine(r: _Reader) -> Affine:
    params = r.tensor("affine_ params").ravel()
    gamma, beta = math.prod(r.alias()), math.prod(r.alias())
    mode = r.int_()
    if mode != 0 or gamma != beta or params.size != gamma + beta:
        raise DlibFormatError(f"unsupported affine_ (mode {mode}, sizes {gamma}/{beta})")
    return Affine(params[:gamma].copy(), params[gamma:].copy())


def _pool(r: _Reader, kind: str) -> Pool:
    nr, nc, stride_y, stride_x, pad_y, pad_x = (r.int_() for _ in range(6))
    return Pool(kind, (nr, nc), (stride_y, stride_x), (pad_y, pad_x))


def _fc(r: _Reader) -> FullyConnected:
    n_out, n_in = r.int_(), r.int_()
    params = r.tensor("fc_ params").ravel()
    weights = r.alias()
    r.alias()  # bias shape: implied by bias_mode
    bias_mode = r.int_()  # 0: has bias, 1: no bias
    for _ in range(4):
        r.float_()
    n_bias = n_out if bias_mode == 0 else 0
    if weights[:2] != (n_in, n_out) or params.size != n_in * n_out + n_bias:
        raise DlibFormatError(f"fc_ sizes disagree: weights {weights}, params {params.size}")
    bias = params[n_in * n_out :].copy() if bias_mode == 0 else None
    return FullyConnected(params[: n_in * n_out].reshape(n_in, n_out), bias)


def _layer_details(r: _Reader) -> Layer:
    start = r.pos
    name = r.string("layer name")
    if name in ("con_4", "con_5"):
        return _conv(r, name)
    if name == "affine_":
        return _affine(r)
    if name == "relu_":
        return Relu()
    if name == "add_prev_":
        return AddPrev()
    if name in ("max_pool_2", "avg_pool_2"):
        return _pool(r, name[:3])
    if name == "fc_2":
        return _fc(r)
    raise DlibFormatError(f"unsupported layer {name!r} at offset {start}")


def _trailer(r: _Reader, version: int) -> None:
    """Skip add_layer's training state: three flags and cached tensors."""
    for _ in range(3):
        r.bool_()
    for _ in range(3):  # x_grad, cached_output, then params_grad (v2) or grad_final (v3)
        r.tensor("cached tensor")
    if version == 3:
        r.int_("sample_expansion_factor")


def parse_dlib_net(data: bytes) -> DlibNet:
    """Parse a serialized `loss_metric` network; every byte must be consumed.

    Raises:
        DlibFormatError: truncated, corrupt, trailing bytes, or an unsupported layer.
    """
    r = _Reader(data)
    if r.int_("loss wrapper version") != 1:
        raise DlibFormatError("not a dlib network: add_loss_layer version is not 1")
    loss = r.string("loss name")
    if loss != "loss_metric_2":
        raise DlibFormatError(f"unsupported loss {loss!r} (expected 'loss_metric_2')")
    margin, dist_thresh = r.float_(), r.float_()

    wrappers: list[int] = []  # outermost first: 1 = tag/skip, 2 = add_layer, 3 = innermost
    while r.peek_string() != _INPUT_LAYER:
        version = r.int_("wrapper version")
        if version not in (1, 2, 3) or len(wrappers) > _MAX_WRAPPER_DEPTH:
            raise DlibFormatError(f"unexpected wrapper version {version} at offset {r.pos}")
        wrappers.append(version)
    r.string()
    means = (r.float_(), r.float_(), r.float_())
    net_input = InputRGB(means, r.int_(), r.int_())
    if not wrappers or wrappers[-1] != 3:
        raise DlibFormatError("the innermost layer wrapper must be add_layer version 3")

    layers: list[Layer] = []
    for version in reversed(wrappers):
        if version == 1:
            layers.append(Marker())
            continue
        layers.append(_layer_details(r))
        _trailer(r, version)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} unparsed bytes after offset {r.pos}")
    return DlibNet(loss, margin, dist_thresh, net_input, tuple(layers))


def load_dlib_net(path: Path) -> DlibNet:
    """Read and parse a `.dat` network file."""
    return parse_dlib_net(path.read_bytes())
