from __future__ import annotations

import functools
from contextlib import nullcontext
from dataclasses import replace

import cv2
import numpy as np
import pytest

from benchmarks.synth import Pose, make_identity, render_scene, sample_spec
from benchmarks.synth.scene import Effects
from benchmarks.synth.selfie import astronaut_face
from ekyc.capture import (
    CaptureConfig,
    FrameGuidance,
    GuidanceCode,
    Guide,
    assess_frame,
    hold_guidance,
    should_capture,
)
from ekyc.types import DocumentType

GUIDE = Guide.centred(1280, 720)
CLEAN = Effects(jpeg_quality=95)
DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD)


@functools.cache
def preview(
    doc: DocumentType,
    scale: float = 1.0,
    dx_px: float = 0.0,
    roll_deg: float = 0.0,
    effects: Effects = CLEAN,
    seed: int = 3,
    background: str = "table",
) -> tuple[np.ndarray, np.ndarray]:
    """A 1280x720 preview with the card centred in GUIDE at ``scale`` x the guide's width."""
    rng = np.random.default_rng([seed, 1])
    spec = sample_spec("front", make_identity(seed, doc), (1280, 720), rng, clean=True)
    f = spec.camera.focal_px
    distance = f * 85.6 / (GUIDE.width * scale)
    pose = Pose(0.0, 0.0, roll_deg, distance, dx_px * distance / f, 0.0)
    scene = render_scene(
        replace(spec, pose=pose, effects=effects, background=background),
        np.random.default_rng([seed, 2]),
        portrait=astronaut_face(),
    )
    return np.ascontiguousarray(scene.image), np.array(scene.record["corners"], np.float32)


def _printed_card(dx_px: int = 0, seed: int = 0) -> np.ndarray:
    """A pale card in GUIDE (shifted ``dx_px``) on a grey table, rows of dark glyph blocks."""
    rng = np.random.default_rng(seed)
    image = np.full((720, 1280, 3), 90, np.uint8)
    x0, y0 = round(GUIDE.x) + dx_px, round(GUIDE.y)
    x1, y1 = x0 + round(GUIDE.width), y0 + round(GUIDE.height)
    image[y0:y1, x0:x1] = 225
    for row in range(y0 + 60, y1 - 60, 28):
        for col in range(x0 + 60, x1 - 60, 14):
            if rng.random() < 0.7:
                h, w = rng.integers(8, 18), rng.integers(3, 10)
                image[row : row + h, col : col + w] = 40
    return image


def ready(corners: np.ndarray | None = None) -> FrameGuidance:
    c = GUIDE.corners if corners is None else corners
    return FrameGuidance(GuidanceCode.READY, GUIDE, corners=c.astype(np.float32))


class TestAssessFrame:
    @pytest.mark.parametrize("doc", DOCS)
    def test_card_in_guide_is_ready_with_corners(self, doc):
        image, truth = preview(doc)
        g = assess_frame(image, GUIDE)
        assert g.code is GuidanceCode.READY, g
        assert g.corners is not None
        assert np.abs(g.corners - truth).max() < 6.0
        assert min(g.edge_strengths) > 0.9
        assert g.luminance is not None
        assert g.luminance > 150
        assert g.glare_fraction is not None
        assert g.sharpness is not None

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"scale": 0.5}, GuidanceCode.MOVE_CLOSER),
            ({"scale": 1.2}, GuidanceCode.MOVE_AWAY),
            ({"dx_px": 150.0}, GuidanceCode.FIT_FRAME),
            ({"roll_deg": 9.0}, GuidanceCode.FIT_FRAME),
            ({"effects": Effects(defocus_sigma_px=3.5)}, GuidanceCode.BLURRED),
            ({"effects": Effects(glare_spots=2, glare_strength=0.95)}, GuidanceCode.GLARE),
        ],
    )
    @pytest.mark.parametrize("doc", DOCS)
    def test_situations(self, doc, kwargs, expected):
        image, _ = preview(doc, **kwargs)
        assert assess_frame(image, GUIDE).code is expected

    def test_darkened_is_too_dark(self):
        image, _ = preview(DocumentType.DRIVERS_LICENSE)
        dark = (image * 0.25).astype(np.uint8)
        g = assess_frame(dark, GUIDE)
        assert g.code is GuidanceCode.TOO_DARK
        assert g.luminance is not None
        assert g.luminance < CaptureConfig().min_luminance

    def test_background_only_is_no_card(self):
        image, _ = preview(DocumentType.DRIVERS_LICENSE, dx_px=2000.0)  # card out of view
        g = assess_frame(image, GUIDE)
        assert g.code is GuidanceCode.NO_CARD
        assert g.corners is None

    @pytest.mark.parametrize(("background", "seed"), [("wood", 3), ("paper", 4), ("desk", 4)])
    def test_planks_grain_and_page_lines_are_no_card(self, background, seed):
        # Card-free previews that read FIT_FRAME before the step test and the parallel rule:
        # wood grain lined up for the left and right sides, planks or ruled lines for the
        # top and bottom.
        image, _ = preview(
            DocumentType.DRIVERS_LICENSE, dx_px=2000.0, seed=seed, background=background
        )
        assert assess_frame(image, GUIDE).code is GuidanceCode.NO_CARD

    def test_two_parallel_steps_alone_are_no_card(self):
        # A strip across the whole preview (a sheet's edges, a plank) steps at the guide's
        # top and bottom, with nothing across it.
        image = np.full((720, 1280, 3), 150, np.uint8)
        image[round(GUIDE.y) + 20 : round(GUIDE.y + GUIDE.height) - 20] = 200
        g = assess_frame(image, GUIDE)
        assert g.side_offsets[0] is not None
        assert g.side_offsets[2] is not None
        assert g.side_offsets[1] is None
        assert g.side_offsets[3] is None
        assert g.code is GuidanceCode.NO_CARD

    @pytest.mark.parametrize("doc", DOCS)
    def test_motion_blurred_card_is_never_ready(self, doc):
        # An 18 px horizontal streak: the Laplacian keeps the vertical detail (the licence's
        # card region measures ~12.6, over min_sharpness; it read READY before the
        # directional measure), while the horizontal second differences are gone.
        image, _ = preview(doc, effects=Effects(motion_px=18.0, motion_angle_deg=0.0))
        g = assess_frame(image, GUIDE)
        assert g.code is GuidanceCode.BLURRED, g
        assert g.directional_sharpness is not None
        assert g.directional_sharpness < CaptureConfig().min_directional_sharpness

    @pytest.mark.parametrize("doc", DOCS)
    def test_blur_is_named_before_fit(self, doc):
        # Four sides found off the guide on a defocused frame: focus first (the sharp
        # shifted card above stays FIT_FRAME).
        image, _ = preview(doc, dx_px=150.0, effects=Effects(defocus_sigma_px=4.0))
        g = assess_frame(image, GUIDE)
        assert g.code is GuidanceCode.BLURRED, g
        assert g.corners is not None

    @pytest.mark.parametrize(
        ("blur", "dx_px", "expected"),
        [
            (None, 0, GuidanceCode.READY),
            ("x", 0, GuidanceCode.BLURRED),
            ("y", 0, GuidanceCode.BLURRED),
            ("defocus", 0, GuidanceCode.BLURRED),
            (None, 120, GuidanceCode.FIT_FRAME),
            ("defocus", 120, GuidanceCode.BLURRED),
        ],
    )
    def test_generated_card_blur(self, blur, dx_px, expected):
        image = _printed_card(dx_px)
        if blur in ("x", "y"):
            kernel = np.full((1, 15), 1 / 15, np.float32)
            image = cv2.filter2D(image, -1, kernel if blur == "x" else kernel.T)
        elif blur == "defocus":
            image = cv2.GaussianBlur(image, (0, 0), 4.0)
        g = assess_frame(image, GUIDE)
        assert g.code is expected, g
        if blur in ("x", "y"):  # a streak leaves the Laplacian over its threshold
            assert g.sharpness is not None
            assert g.sharpness > CaptureConfig().min_sharpness

    def test_flat_frame_and_portrait_preview(self):
        grey = np.full((1280, 720, 3), 128, np.uint8)
        g = assess_frame(grey, Guide.centred(720, 1280))
        assert g.code is GuidanceCode.NO_CARD
        assert g.edge_strengths == (0.0, 0.0, 0.0, 0.0)

    @pytest.mark.parametrize(
        ("image", "guide", "expectation"),
        [
            (np.zeros((720, 1280, 3), np.uint8), GUIDE, nullcontext()),
            (np.zeros((720, 1280), np.uint8), GUIDE, pytest.raises(ValueError, match="H, W, 3")),
            (np.zeros((720, 1280, 3), np.float32), GUIDE, pytest.raises(ValueError, match="uint8")),
            (np.zeros((360, 640, 3), np.uint8), GUIDE, pytest.raises(ValueError, match="fit")),
        ],
    )
    def test_exception(self, image, guide, expectation):
        with expectation:
            assess_frame(image, guide)


class TestShouldCapture:
    def test_stable_ready_run_captures(self):
        history = [ready() for _ in range(5)]
        assert should_capture(history)
        assert hold_guidance(history) is GuidanceCode.READY

    def test_one_non_ready_frame_blocks(self):
        history = [ready() for _ in range(5)]
        history[2] = FrameGuidance(GuidanceCode.GLARE, GUIDE, corners=GUIDE.corners)
        assert not should_capture(history)
        assert hold_guidance(history) is GuidanceCode.HOLD_STILL

    def test_latest_problem_is_shown(self):
        history = [*(ready() for _ in range(5)), FrameGuidance(GuidanceCode.NO_CARD, GUIDE)]
        assert hold_guidance(history) is GuidanceCode.NO_CARD
        assert not should_capture(history)

    def test_motion_blocks(self):
        step = 0.02 * GUIDE.width  # twice the default max_motion per frame
        history = [ready(GUIDE.corners + i * step) for i in range(5)]
        assert not should_capture(history)
        assert hold_guidance(history) is GuidanceCode.HOLD_STILL
        small = [ready(GUIDE.corners + i * 0.2) for i in range(5)]
        assert should_capture(small)

    def test_too_short(self):
        assert not should_capture([ready() for _ in range(4)])
        assert not should_capture([])
        assert hold_guidance([]) is GuidanceCode.NO_CARD

    @pytest.mark.parametrize(
        ("times", "expected"),
        [
            ([0, 100, 200, 300, 400], True),
            ([0, 100, 200, 300, 399], False),
            ([0, 450], True),  # slow previews: two frames 450 ms apart suffice
        ],
    )
    def test_timestamps(self, times, expected):
        assert should_capture([ready() for _ in times], timestamps_ms=times) is expected

    @pytest.mark.parametrize(
        ("times", "expectation"),
        [
            ([0, 100, 200], nullcontext()),
            ([0, 100], pytest.raises(ValueError, match="3 non-decreasing")),
            ([0, 200, 100], pytest.raises(ValueError, match="non-decreasing")),
        ],
    )
    def test_exception(self, times, expectation):
        with expectation:
            should_capture([ready() for _ in range(3)], timestamps_ms=times)


class TestTypes:
    @pytest.mark.parametrize("code", list(GuidanceCode))
    def test_messages_in_both_languages(self, code):
        assert code.message_ja
        assert code.message_en
        assert any(
            "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in code.message_ja
        )
        assert code.message_en.isascii()

    def test_guide_centred(self):
        g = Guide.centred(1280, 720)
        assert g.height == pytest.approx(576.0)
        assert g.x + g.width / 2 == pytest.approx(640.0)
        portrait = Guide.centred(720, 1280)
        assert portrait.width == pytest.approx(576.0)
        assert GUIDE.corners.shape == (4, 2)

    @pytest.mark.parametrize(
        ("args", "expectation"),
        [
            ((10.0, 10.0, 100.0, 60.0), nullcontext()),
            ((-1.0, 10.0, 100.0, 60.0), pytest.raises(ValueError, match="origin")),
            ((0.0, 0.0, 8.0, 60.0), pytest.raises(ValueError, match="16x16")),
            ((0.0, float("nan"), 100.0, 60.0), pytest.raises(ValueError, match="finite")),
        ],
    )
    def test_guide_exception(self, args, expectation):
        with expectation:
            Guide(*args)

    @pytest.mark.parametrize(
        ("kwargs", "expectation"),
        [
            ({}, nullcontext()),
            (
                {"code": GuidanceCode.READY, "corners": None},
                pytest.raises(ValueError, match="needs corners"),
            ),
            (
                {"corners": np.zeros((3, 2), np.float32)},
                pytest.raises(ValueError, match=r"\(4, 2\)"),
            ),
            ({"corners": np.zeros((4, 2), np.float64)}, pytest.raises(ValueError, match="float32")),
            (
                {"corners": np.full((4, 2), np.nan, np.float32)},
                pytest.raises(ValueError, match="finite"),
            ),
            (
                {"edge_strengths": (0.5, 1.5, 0.0, 0.0)},
                pytest.raises(ValueError, match="edge_strengths"),
            ),
            ({"side_offsets": (None, None)}, pytest.raises(ValueError, match="side_offsets")),
            ({"luminance": 300.0}, pytest.raises(ValueError, match="luminance")),
            ({"glare_fraction": -0.1}, pytest.raises(ValueError, match="glare_fraction")),
            ({"sharpness": float("inf")}, pytest.raises(ValueError, match="sharpness")),
        ],
    )
    def test_frame_guidance_exception(self, kwargs, expectation):
        fields = {"code": GuidanceCode.FIT_FRAME, "guide": GUIDE, **kwargs}
        with expectation:
            FrameGuidance(**fields)

    @pytest.mark.parametrize(
        ("kwargs", "expectation"),
        [
            ({}, nullcontext()),
            ({"band_inward": 0.6}, pytest.raises(ValueError, match=r"\(0, 0\.5\)")),
            ({"min_edge_support": 0.0}, pytest.raises(ValueError, match="min_edge_support")),
            ({"hold_frames": 0}, pytest.raises(ValueError, match="hold_frames")),
            ({"edge_side_px": 800}, pytest.raises(ValueError, match="edge_side_px")),
            ({"vote_angle_step_deg": 0.0}, pytest.raises(ValueError, match="vote_angle")),
            ({"along_step_px": 0}, pytest.raises(ValueError, match="along_step_px")),
        ],
    )
    def test_config_exception(self, kwargs, expectation):
        with expectation:
            CaptureConfig(**kwargs)
