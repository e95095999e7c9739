from __future__ import annotations

import hashlib
import io
from contextlib import nullcontext
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image, ImageOps

from ekyc.capture.decode import decode_image, sniff_format
from ekyc.config import DecodeLimits
from ekyc.demo import _bomb_png
from ekyc.errors import (
    CorruptImage,
    DecompressionBomb,
    EkycError,
    ImageTooLarge,
    UnsupportedFormat,
)
from tests.factories import encode, jpeg_with_exif, scene


def _asymmetric(width: int = 40, height: int = 24) -> np.ndarray:
    """Every pixel distinct enough that any flip or rotation is detected exactly."""
    yy, xx = np.mgrid[:height, :width]
    return np.stack([xx * 6, yy * 10, (xx + yy) % 256], axis=2).astype(np.uint8)


class TestDecodeImage:
    @pytest.mark.parametrize(
        ("fmt", "params"),
        [
            ("JPEG", {"quality": 95}),
            ("PNG", {}),
            ("WEBP", {"lossless": True}),
            ("HEIF", {}),
            ("TIFF", {}),
            ("PDF", {"resolution": 72.0}),
        ],
    )
    def test_smoke(self, fmt, params):
        img = scene(160, 90)
        frame = decode_image(encode(img, fmt, **params))
        assert frame.image.dtype == np.uint8
        assert frame.image.ndim == 3
        assert frame.image.shape[2] == 3
        assert frame.metadata.source_format == fmt
        if fmt in ("PNG", "TIFF") or (fmt == "WEBP" and params.get("lossless")):
            np.testing.assert_array_equal(frame.image, img)
        elif fmt != "PDF":
            assert frame.image.shape == img.shape
            assert np.abs(frame.image.astype(int) - img).mean() < 6

    @pytest.mark.parametrize(
        ("page_pt", "expected_side"),
        [((640, 360), 800), ((160, 90), 667)],  # 160 pt at the 300 dpi ceiling: 666.7 px
    )
    def test_pdf_page_size(self, page_pt, expected_side):
        frame = decode_image(
            encode(scene(*page_pt), "PDF", resolution=72.0), DecodeLimits(pdf_render_max_side=800)
        )
        assert max(frame.width, frame.height) == expected_side
        # Same picture, in RGB order (pdfium's native order is BGR).
        back = np.asarray(Image.fromarray(frame.image).resize(page_pt, Image.Resampling.BOX))
        assert np.abs(back.astype(int) - scene(*page_pt)).mean() < 8

    def test_sha256_is_of_the_input_bytes(self):
        data = encode(scene(), "PNG")
        assert decode_image(data).source_sha256 == hashlib.sha256(data).hexdigest()

    def test_path_and_bytes_agree(self, tmp_path):
        data = encode(scene(), "PNG")
        path = tmp_path / "shot.jpg"  # wrong extension on purpose: content decides
        path.write_bytes(data)
        np.testing.assert_array_equal(decode_image(path).image, decode_image(data).image)
        np.testing.assert_array_equal(decode_image(str(path)).image, decode_image(data).image)


class TestOrientation:
    # How each EXIF orientation stores an upright image (the inverse of exif_transpose).
    STORED: ClassVar[dict[int, Image.Transpose | None]] = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_known_values(self, orientation):
        upright = _asymmetric()
        pil = Image.fromarray(upright)
        op = self.STORED[orientation]
        stored = pil.transpose(op) if op is not None else pil
        exif = Image.Exif()
        exif[0x0112] = orientation
        frame = decode_image(encode(stored, "PNG", exif=exif))
        np.testing.assert_array_equal(frame.image, upright)
        assert frame.metadata.exif_orientation == orientation
        assert frame.metadata.original_size == stored.size

    def test_invalid_orientation_tag_is_ignored(self):
        exif = Image.Exif()
        exif[0x0112] = 42
        frame = decode_image(encode(_asymmetric(), "PNG", exif=exif))
        np.testing.assert_array_equal(frame.image, _asymmetric())
        assert frame.metadata.exif_orientation == 1


class TestMetadata:
    def test_known_values(self):
        meta = decode_image(
            jpeg_with_exif(scene(), make="Apple", model="iPhone 15", focal_35mm=26)
        ).metadata
        assert meta.camera_make == "Apple"
        assert meta.camera_model == "iPhone 15"
        assert meta.focal_length_35mm == 26.0
        assert meta.taken_at is not None
        assert meta.taken_at.isoformat() == "2026-11-26T10:00:00"

    def test_absent_exif_leaves_none(self):
        meta = decode_image(encode(scene(), "PNG")).metadata
        assert (meta.camera_make, meta.focal_length_35mm, meta.taken_at) == (None, None, None)

    def test_garbage_exif_values_are_dropped(self):
        data = jpeg_with_exif(scene(), taken="not a date", focal_35mm=0)
        meta = decode_image(data).metadata
        assert meta.taken_at is None
        assert meta.focal_length_35mm is None

    def test_heif_keeps_exif(self):
        import pillow_heif

        exif = Image.Exif()
        exif[0x010F] = "Apple"
        buf = io.BytesIO()
        pillow_heif.from_pillow(Image.fromarray(scene())).save(buf, exif=exif.tobytes())
        assert decode_image(buf.getvalue()).metadata.camera_make == "Apple"


class TestColourModes:
    def test_grey(self):
        grey = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16))
        frame = decode_image(encode(grey, "PNG"))
        assert frame.image.shape == (16, 16, 3)
        np.testing.assert_array_equal(frame.image[:, :, 1], np.asarray(grey))

    def test_sixteen_bit_is_scaled_not_clipped(self):
        values = np.array([[0, 32768, 65535]], dtype=np.uint16)
        frame = decode_image(encode(Image.fromarray(values), "PNG"))
        np.testing.assert_array_equal(frame.image[0, :, 0], [0, 128, 255])

    def test_alpha_is_composited_on_white(self):
        rgba = np.zeros((4, 4, 4), dtype=np.uint8)
        rgba[:2, :, :] = (255, 0, 0, 255)  # opaque red top half, transparent bottom
        frame = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
        np.testing.assert_array_equal(frame.image[0, 0], [255, 0, 0])
        np.testing.assert_array_equal(frame.image[3, 3], [255, 255, 255])

    def test_palette_with_transparency(self):
        pal = Image.new("P", (4, 4), 0)
        pal.putpalette([0, 0, 255] + [0, 255, 0] * 255)
        pal.putpixel((0, 0), 1)
        data = encode(pal, "PNG", transparency=0)
        frame = decode_image(data)
        np.testing.assert_array_equal(frame.image[0, 0], [0, 255, 0])
        np.testing.assert_array_equal(frame.image[1, 1], [255, 255, 255])

    def test_cmyk_jpeg(self):
        cmyk = Image.fromarray(scene()).convert("CMYK")
        frame = decode_image(encode(cmyk, "JPEG", quality=95))
        assert frame.image.shape == (180, 320, 3)
        assert np.abs(frame.image.astype(int) - scene()).mean() < 12

    def test_one_bit(self):
        bw = Image.fromarray(np.eye(8, dtype=bool))
        frame = decode_image(encode(bw, "PNG"))
        np.testing.assert_array_equal(frame.image[:, :, 0], np.eye(8) * 255)

    def test_animated_webp_gives_the_first_frame(self):
        frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
        buf = io.BytesIO()
        frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
        frame = decode_image(buf.getvalue())
        np.testing.assert_array_equal(frame.image[8, 8], [255, 0, 0])


class TestException:
    @pytest.mark.parametrize(
        ("data", "limits", "expected"),
        [
            (b"", None, pytest.raises(CorruptImage)),
            (b"hello, this is text", None, pytest.raises(UnsupportedFormat)),
            (encode(scene(), "GIF"), None, pytest.raises(UnsupportedFormat)),
            (encode(scene(), "BMP"), None, pytest.raises(UnsupportedFormat)),
            (encode(scene(), "JPEG")[:400], None, pytest.raises(CorruptImage)),
            (encode(scene(), "PNG")[:-40], None, pytest.raises(CorruptImage)),
            (encode(scene(), "HEIF")[:300], None, pytest.raises(CorruptImage)),
            (b"%PDF-1.4 garbage", None, pytest.raises(CorruptImage)),
            (_bomb_png(), None, pytest.raises(DecompressionBomb)),
            (_bomb_png(20_000, 20_000), None, pytest.raises(DecompressionBomb)),
            (
                encode(scene(), "PNG"),
                DecodeLimits(max_pixels=1000),
                pytest.raises(DecompressionBomb),
            ),
            (encode(scene(), "PNG"), DecodeLimits(max_bytes=100), pytest.raises(ImageTooLarge)),
            (
                encode(scene(), "PDF"),
                DecodeLimits(allowed_formats=frozenset({"JPEG"})),
                pytest.raises(UnsupportedFormat),
            ),
            (encode(scene(), "PNG"), None, nullcontext()),
        ],
    )
    def test_exception(self, data, limits, expected):
        with expected:
            decode_image(data, limits)

    def test_errors_carry_codes_and_context(self):
        with pytest.raises(ImageTooLarge) as info:
            decode_image(b"\xff\xd8\xff" + b"\0" * 200, DecodeLimits(max_bytes=100))
        assert info.value.code == "image_too_large"
        assert info.value.context["max_bytes"] == 100
        assert info.value.to_dict() == {"code": "image_too_large", "message": info.value.message}

    def test_oversized_file_is_not_read_whole(self, tmp_path):
        path = tmp_path / "huge.jpg"
        with path.open("wb") as fh:
            fh.write(b"\xff\xd8\xff")
            fh.seek(50 * 1024 * 1024)
            fh.write(b"\0")
        with pytest.raises(ImageTooLarge):
            decode_image(path)

    @pytest.mark.parametrize("kind", ["missing", "directory"])
    def test_unreadable_paths(self, tmp_path, kind):
        path = tmp_path / "nothing.jpg"
        if kind == "directory":
            path.mkdir()
        with pytest.raises(EkycError) as info:
            decode_image(path)
        assert info.value.code == "corrupt_image"


class TestSniffFormat:
    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (b"\xff\xd8\xff\xe0", "JPEG"),
            (b"\x89PNG\r\n\x1a\n", "PNG"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "WEBP"),
            (b"\0\0\0\x18ftypheic\0\0\0\0", "HEIF"),
            (b"\0\0\0\x18ftypmif1\0\0\0\0", "HEIF"),
            (b"\0\0\0\x18ftypavif\0\0\0\0", "AVIF"),
            (b"II*\0", "TIFF"),
            (b"%PDF-1.7", "PDF"),
            (b"GIF89a", "GIF"),
            (b"", None),
            (b"\0" * 16, None),
        ],
    )
    def test_known_values(self, head, expected):
        assert sniff_format(head) == expected


class TestMaxSide:
    @pytest.mark.parametrize(
        ("fmt", "max_side", "expected"),
        [
            ("JPEG", None, (720, 1280)),
            ("JPEG", 640, (360, 640)),  # DCT scaling by 2, exactly
            ("JPEG", 500, (281, 500)),  # DCT scaling by 2, then area resampling
            ("PNG", 640, (360, 640)),
            ("JPEG", 4000, (720, 1280)),  # never enlarged
        ],
    )
    def test_known_values(self, fmt, max_side, expected):
        data = encode(scene(1280, 720), fmt)
        frame = decode_image(data, DecodeLimits(max_side=max_side))
        assert frame.image.shape[:2] == expected
        assert frame.metadata.original_size == (1280, 720)

    def test_exception(self):
        with pytest.raises(ValueError, match="max_side"):
            DecodeLimits(max_side=10)


def _pillow_decode(data: bytes, max_side: int | None = None) -> np.ndarray:
    """Pillow's decode of a JPEG as ``decode_image`` made it before OpenCV took colour JPEGs."""
    img = Image.open(io.BytesIO(data))
    width, height = img.size
    if max_side and max(width, height) > max_side:
        factor = min(8, 2 ** round(np.log2(max(width, height) / max_side)))
        img.draft("RGB", (-(-width // factor), -(-height // factor)))
    img.load()
    return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


class TestJpegThroughOpenCV:
    """Colour JPEGs are decoded by OpenCV: the very pixels Pillow's decode gives."""

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_orientation_as_pillow(self, orientation):
        data = jpeg_with_exif(scene(96, 64), orientation=orientation)
        frame = decode_image(data)
        np.testing.assert_array_equal(frame.image, _pillow_decode(data))
        assert frame.image.shape[:2] == ((64, 96) if orientation < 5 else (96, 64))

    @pytest.mark.parametrize(
        "params",
        [{"quality": 90}, {"quality": 95, "subsampling": 0}, {"quality": 80, "progressive": True}],
    )
    @pytest.mark.parametrize(("max_side", "factor"), [(None, 1), (640, 2), (320, 4), (160, 8)])
    def test_dct_scaled_as_pillow(self, params, max_side, factor):
        data = encode(scene(1280, 720), "JPEG", **params)
        frame = decode_image(data, DecodeLimits(max_side=max_side))
        expected = _pillow_decode(data, max_side)
        assert expected.shape[1] == 1280 // factor  # the DCT scale, no resampling after it
        np.testing.assert_array_equal(frame.image, expected)

    def test_grey_and_truncated_jpegs_still_go_to_pillow(self):
        grey = encode(scene(96, 64)[..., 0], "JPEG", quality=90)
        frame = decode_image(grey)
        assert frame.image.shape == (64, 96, 3)
        np.testing.assert_array_equal(frame.image, _pillow_decode(grey))
        whole = encode(scene(320, 180), "JPEG", quality=90)
        with pytest.raises(CorruptImage):
            decode_image(whole[: len(whole) * 2 // 3])

    def test_mpo_first_image_as_pillow(self):
        first, second = Image.fromarray(scene(96, 64)), Image.fromarray(scene(96, 64, seed=3))
        buf = io.BytesIO()
        first.save(buf, "MPO", save_all=True, append_images=[second])
        frame = decode_image(buf.getvalue())
        np.testing.assert_array_equal(frame.image, _pillow_decode(buf.getvalue()))
        assert not np.array_equal(frame.image, _pillow_decode(encode(second, "JPEG")))

    def test_colour_jpeg_takes_the_opencv_path(self):
        from ekyc.capture.decode import _decode_jpeg_cv2

        data = jpeg_with_exif(scene(96, 64), orientation=6)
        img = Image.open(io.BytesIO(data))
        rgb = _decode_jpeg_cv2(data, img, 1)
        assert rgb is not None
        np.testing.assert_array_equal(rgb, _pillow_decode(data))
        assert _decode_jpeg_cv2(data[:-2], Image.open(io.BytesIO(data)), 1) is None  # no EOI
