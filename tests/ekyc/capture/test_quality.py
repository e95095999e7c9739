from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from ekyc.capture.decode import decode_image
from ekyc.capture.quality import assess_quality, glare_mask
from ekyc.config import QualityThresholds
from ekyc.demo import _with_glare, render_sample_scene
from ekyc.types import CardQuad
from tests.factories import jpeg_with_exif


def _photos() -> dict[str, np.ndarray]:
    """Public-domain photos shipped by scikit-image, at phone-preview size."""
    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        img = getattr(skdata, name)()
        out[name] = cv2.resize(
            img, (1280, round(1280 * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_CUBIC
        )
    return out


PHOTOS = _photos()


def _noisy(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


class TestAssessQuality:
    def test_smoke(self):
        frame = decode_image(jpeg_with_exif(render_sample_scene()))
        report = assess_quality(frame)
        assert report.passed, report.failures
        assert set(report.checks) == {
            "sharpness",
            "underexposure",
            "overexposure",
            "glare",
            "noise",
            "resolution",
        }
        assert report.glare_in_region is None

    def test_sharpness_is_scale_invariant(self):
        # The same vector scene rendered natively at four resolutions.
        values = [
            assess_quality(render_sample_scene(size=(w, round(w * 9 / 16)))).sharpness.value
            for w in (1280, 1920, 2560, 4032)
        ]
        assert max(values) / min(values) < 1.3, values

    @pytest.mark.parametrize("name", sorted(PHOTOS))
    def test_blur_lowers_sharpness_until_it_fails(self, name):
        img = PHOTOS[name]
        px = max(img.shape[:2]) / QualityThresholds().working_side_px  # 1 px at 640 px
        values = [
            assess_quality(cv2.GaussianBlur(img, (0, 0), s * px) if s else img).sharpness
            for s in (0, 1, 2, 3)
        ]
        assert [v.value for v in values] == sorted((v.value for v in values), reverse=True)
        assert values[0].passed
        assert not values[2].passed
        assert not values[3].passed

    @pytest.mark.parametrize(
        ("gain", "under", "over"),
        [(0.1, False, True), (1.0, True, True), (3.5, True, False)],
    )
    def test_exposure(self, gain, under, over):
        img = np.clip(PHOTOS["coffee"].astype(np.float32) * gain, 0, 255).astype(np.uint8)
        report = assess_quality(img)
        assert report.underexposure.passed is under
        assert report.overexposure.passed is over

    def test_glare_on_the_card_fails_the_region_check(self):
        img = render_sample_scene()
        card = np.array([[320, 158], [960, 158], [960, 562], [320, 562]], np.float32)
        on_card = assess_quality(_with_glare(img, (600, 330), 60), region=CardQuad(card, 1.0))
        off_card = assess_quality(_with_glare(img, (100, 80), 60), region=card)
        assert on_card.glare_in_region is not None
        assert off_card.glare_in_region is not None
        assert not on_card.glare_in_region.passed
        assert off_card.glare_in_region.passed
        assert off_card.glare.value > 0  # measured, just not on the card

    def test_blurred_card_on_a_sharp_background_fails_the_region_check(self):
        # The bug: the frame's sharpness is mostly the background's, so a card too blurred
        # for OCR (36 % of fields read on such scenes) passed the gate.
        img = render_sample_scene()
        card = np.array([[320, 158], [960, 158], [960, 562], [320, 562]], np.float32)
        blurred = img.copy()
        blurred[158:562, 320:960] = cv2.GaussianBlur(img, (0, 0), 2.5)[158:562, 320:960]
        sharp, soft = assess_quality(img, region=card), assess_quality(blurred, region=card)
        assert sharp.sharpness_in_region is not None
        assert soft.sharpness_in_region is not None
        assert sharp.passed, sharp.failures
        assert soft.sharpness.passed  # the frame-wide figure alone let it through
        assert soft.failures == ("sharpness_in_region",)

    def test_region_sharpness_ignores_corner_order(self):
        img = render_sample_scene()
        card = np.array([[320, 158], [960, 158], [960, 562], [320, 562]], np.float32)
        values = [
            assess_quality(img, region=np.roll(card, k, axis=0)).sharpness_in_region
            for k in range(4)
        ]
        assert all(v is not None for v in values)
        assert np.ptp([v.value for v in values if v is not None]) < 1e-3

    def test_card_too_small_in_the_frame_fails_the_region_check(self):
        img = render_sample_scene()
        card = np.array([[320, 158], [960, 158], [960, 562], [320, 562]], np.float32)
        small = cv2.resize(img, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
        frame = np.full_like(img, 200)
        frame[: small.shape[0], : small.shape[1]] = small  # a card ~190 px wide, 2.2 px/mm
        report = assess_quality(frame, region=card * 0.3)
        assert report.sharpness_in_region is not None
        assert not report.sharpness_in_region.passed

    def test_large_glare_fails_overall(self):
        report = assess_quality(_with_glare(render_sample_scene(), (600, 330), 150))
        assert report.failures == ("glare",)

    def test_white_paper_is_not_glare(self):
        paper = np.full((720, 1280, 3), 238, np.uint8)
        paper[300:320, 200:1000] = 40  # a line of text
        assert not glare_mask(paper).any()
        assert assess_quality(paper).glare.value == 0.0

    @pytest.mark.parametrize("sigma", [3.0, 6.0, 10.0])
    def test_noise_estimate_known_values(self, sigma):
        # Grey-level noise on a smooth image: the estimate should recover sigma.
        ramp = np.tile(np.linspace(60, 190, 640, dtype=np.float32), (360, 1))
        img = _noisy(np.repeat(ramp[:, :, None], 3, axis=2), 0)  # no noise yet
        grey_noise = np.random.default_rng(1).normal(0, sigma, ramp.shape)[:, :, None]
        noisy = np.clip(img + grey_noise, 0, 255).astype(np.uint8)
        assert assess_quality(noisy).noise.value == pytest.approx(sigma, rel=0.15)

    @pytest.mark.parametrize("name", sorted(PHOTOS))
    def test_noise_check(self, name):
        img = PHOTOS[name]
        small = cv2.resize(
            img, (640, round(640 * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_AREA
        )
        assert assess_quality(small).noise.passed
        assert not assess_quality(_noisy(small, 12)).noise.passed

    @pytest.mark.parametrize(
        ("size", "passed"), [((640, 480), False), ((1280, 720), True), ((720, 1280), True)]
    )
    def test_resolution(self, size, passed):
        img = render_sample_scene(size=size)
        assert assess_quality(img).resolution.passed is passed

    def test_flat_frame_has_no_sharpness(self):
        report = assess_quality(np.full((720, 1280, 3), 128, np.uint8))
        assert report.sharpness.value == 0.0
        assert "sharpness" in report.failures

    def test_thresholds_are_configuration(self):
        img = render_sample_scene()
        strict = QualityThresholds(min_sharpness=1e6)
        assert assess_quality(img).sharpness.passed
        assert not assess_quality(img, strict).sharpness.passed
        assert assess_quality(img, strict).sharpness.threshold == 1e6

    @pytest.mark.parametrize(
        "bad",
        [
            np.zeros((10, 10), np.uint8),
            np.zeros((10, 10, 3), np.float32),
            np.zeros((10, 10, 4), np.uint8),
        ],
    )
    def test_exception(self, bad):
        with pytest.raises(ValueError, match="uint8"):
            assess_quality(bad)
