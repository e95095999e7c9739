"""The dlib ResNet -> ONNX converter: parity with dlib, determinism, and format errors."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from models.convert_dlib import (  # noqa: E402 - after the skips, on purpose
    IR_VERSION,
    OPSET,
    PRODUCER,
    build_model,
    convert,
    convert_bytes,
    default_dat_path,
    main,
)
from models.dlib_format import DlibFormatError, parse_dlib_net  # noqa: E402

pytestmark = pytest.mark.models

U8 = npt.NDArray[np.uint8]
Embed = Callable[[list[U8]], npt.NDArray[np.float32]]
PARITY_ATOL = 1e-5  # float32 re-association only; MODELS.md saw 3e-7
LFW_DIR = (
    Path(os.environ.get("EKYC_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "lfw_pairs_aligned112"
    / "images"
)
# Eight people spread over the alphabet, first image of each.
LFW_PEOPLE = (
    "Aaron_Guiel",
    "Brian_Pavlich",
    "Doc_Rivers",
    "Hanns_Schumacher",
    "John_Herrington",
    "Madge_Overhouse",
    "Nina_Jacobson",
    "Roseanne_Barr",
)


@pytest.fixture(scope="session")
def dat_path() -> Path:
    try:
        path = default_dat_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def dat_bytes(dat_path: Path) -> bytes:
    return dat_path.read_bytes()


@pytest.fixture(scope="session")
def onnx_path(dat_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(dat_path, tmp_path_factory.mktemp("onnx") / "dlib_resnet.onnx").path


@pytest.fixture(scope="session")
def embed(onnx_path: Path) -> Embed:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def run(chips: list[U8]) -> npt.NDArray[np.float32]:
        batch = np.stack(chips).transpose(0, 3, 1, 2).astype(np.float32)
        return np.asarray(session.run(["embedding"], {"input": batch})[0], dtype=np.float32)

    return run


class _Dlib:
    """dlib's own pipeline: detector, 5-point landmarks, chip, descriptor."""

    def __init__(self, model_dir: Path) -> None:
        import dlib

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(
            str(model_dir / "shape_predictor_5_face_landmarks.dat")
        )
        self.recognizer = dlib.face_recognition_model_v1(
            str(model_dir / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def chip(self, image: U8, *, whole_image: bool = False) -> U8:
        """150x150 chip; `whole_image` treats a tight crop as the face box (no detection)."""
        if whole_image:
            box = self.dlib.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1)
        else:
            faces = self.detector(image, 1)
            assert faces, "dlib found no face"
            box = max(faces, key=lambda r: r.area())
        shape = self.landmarks(image, box)
        return np.asarray(self.dlib.get_face_chip(image, shape, size=150, padding=0.25))

    def descriptor(self, chip: U8) -> npt.NDArray[np.float64]:
        return np.array(self.recognizer.compute_face_descriptor(chip))


@pytest.fixture(scope="session")
def reference(dat_path: Path) -> _Dlib:
    pytest.importorskip("dlib")
    return _Dlib(dat_path.parent)


def _astronaut_variants() -> dict[str, U8]:
    import cv2
    from skimage import data

    image = data.astronaut()
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0)
    return {
        "original": image,
        "mirrored": np.ascontiguousarray(image[:, ::-1]),
        "rotated_15deg": cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REFLECT),
        "darker": (image * 0.6).astype(np.uint8),
        "brighter": np.clip(image.astype(np.int16) + 50, 0, 255).astype(np.uint8),
    }


def _assert_parity(chips: list[U8], embed: Embed, reference: _Dlib) -> None:
    ours = embed(chips)
    theirs = np.stack([reference.descriptor(chip) for chip in chips])
    assert ours.shape == (len(chips), 128)
    assert ours.dtype == np.float32
    worst = float(np.abs(ours - theirs).max())
    assert worst <= PARITY_ATOL, f"max |onnx - dlib| = {worst:.3g}"


class TestParity:
    def test_astronaut_variants(self, embed: Embed, reference: _Dlib) -> None:
        chips = [reference.chip(image) for image in _astronaut_variants().values()]
        _assert_parity(chips, embed, reference)

    def test_batch_rows_equal_single_runs(self, embed: Embed, reference: _Dlib) -> None:
        chips = [reference.chip(image) for image in _astronaut_variants().values()][:3]
        batched = embed(chips)
        singles = np.concatenate([embed([chip]) for chip in chips])
        assert np.abs(batched - singles).max() <= PARITY_ATOL

    @pytest.mark.dataset
    def test_lfw_tight_crops(self, embed: Embed, reference: _Dlib) -> None:
        if not LFW_DIR.is_dir():
            pytest.skip(f"LFW crops not found at {LFW_DIR} (set EKYC_DATA_DIR)")
        import cv2

        paths = [sorted((LFW_DIR / person).glob("*.jpg"))[0] for person in LFW_PEOPLE]
        images = [np.ascontiguousarray(cv2.imread(str(p))[..., ::-1]) for p in paths]
        chips = [reference.chip(image, whole_image=True) for image in images]
        _assert_parity(chips, embed, reference)


class TestModelContract:
    def test_io_and_metadata(self, onnx_path: Path) -> None:
        model = onnx.load(str(onnx_path))
        (inp,), (out,) = model.graph.input, model.graph.output
        dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
        assert (inp.name, dims) == ("input", ["N", 3, 150, 150])
        dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
        assert (out.name, dims) == ("embedding", ["N", 128])
        assert model.producer_name == PRODUCER
        assert model.ir_version == IR_VERSION
        assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]

    def test_dynamic_batch(self, embed: Embed) -> None:
        rng = np.random.default_rng(0)
        for n in (1, 3):
            chips = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(n)]
            assert embed(chips).shape == (n, 128)


class TestDeterminism:
    def test_same_bytes_twice(self, dat_bytes: bytes, onnx_path: Path) -> None:
        first, second = convert_bytes(dat_bytes), convert_bytes(dat_bytes)
        assert first == second
        assert first == onnx_path.read_bytes()

    def test_cli_check(
        self, dat_path: Path, onnx_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        out = tmp_path / "m.onnx"
        args = ["--dat", str(dat_path), "--out", str(out), "--check", "--sha256"]
        assert main([*args, digest]) == 0
        assert digest in capsys.readouterr().out
        assert main([*args, "0" * 64]) == 1


def _corruptions(data: bytes) -> dict[str, tuple[bytes, str]]:
    """Broken variants of the file, each with the message it must raise."""
    renamed = data.replace(b"input_rgb_image_sized", b"input_rgb_image_sizex", 1)
    # The file ends with fc's trailer: three '0'/'1' flags, then three empty tensors of
    # 10 bytes each; the third flag is at -31.
    bad_flag = data[:-31] + b"x" + data[-30:]
    return {
        "empty": (b"", "truncated"),
        "header_only": (data[:16], "truncated"),
        "half": (data[: len(data) // 2], "truncated"),
        "last_byte_missing": (data[:-1], "truncated"),
        "trailing_byte": (data + b"\x00", "unparsed bytes"),
        "other_loss": (data.replace(b"loss_metric_2", b"loss_mmod___2", 1), "unsupported loss"),
        "unknown_input_layer": (renamed, "wrapper version|truncated"),
        "bad_bool": (bad_flag, "bad bool"),
    }


class TestFormatErrors:
    @pytest.mark.parametrize(
        "case",
        [
            "empty",
            "header_only",
            "half",
            "last_byte_missing",
            "trailing_byte",
            "other_loss",
            "unknown_input_layer",
            "bad_bool",
        ],
    )
    def test_corrupt_file_raises(self, dat_bytes: bytes, case: str) -> None:
        data, message = _corruptions(dat_bytes)[case]
        with pytest.raises(DlibFormatError, match=message):
            parse_dlib_net(data)

    def test_error_is_a_value_error(self) -> None:
        assert issubclass(DlibFormatError, ValueError)

    def test_full_parse(self, dat_bytes: bytes) -> None:
        net = parse_dlib_net(dat_bytes)
        assert (net.loss, net.input.rows, net.input.cols) == ("loss_metric_2", 150, 150)
        assert np.allclose(net.input.mean_rgb, (122.782, 117.001, 104.298))
        assert len(net.layers) == 130

    def test_unexpected_layer_sequence(self, dat_bytes: bytes) -> None:
        net = parse_dlib_net(dat_bytes)
        shorter = dataclasses.replace(net, layers=net.layers[:-1])
        with pytest.raises(DlibFormatError, match="layer sequence"):
            build_model(shorter, source_sha256="0" * 64)
