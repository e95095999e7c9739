"""The ink-tone features of ``pad_features``: known values on a drawn face, what ink and
exposure do to them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.liveness.passive import _ink_tone

# eyes, nose tip, mouth corners (x, y): eye distance 60, so the eye windows are 0.44 * 60 px
LANDMARKS = np.array([[70, 80], [130, 80], [100, 110], [80, 140], [120, 140]], np.float32)
SKIN = (180, 140, 120)


def _face(skin=SKIN, pupil=10, nostril=40):
    img = np.empty((200, 200, 3), np.uint8)
    img[:] = skin
    for x, y in ((70, 80), (130, 80)):
        img[y - 3 : y + 4, x - 3 : x + 4] = pupil  # 7 x 7 of each ~27 x 27 eye window
    img[114:121, 97:104] = nostril  # 0.12 * 60 px under the nose tip
    return img


def _grey(rgb):
    return float(cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2GRAY)[0, 0])


NAMES = ("eye_dark", "skin_cr", "nostril_dark", "eye_range", "eye_std", "eye_bright")


def _tone(img, landmarks=LANDMARKS):
    return dict(zip(NAMES, _ink_tone(img, landmarks), strict=True))


def test_names_follow_the_feature_vector():
    from ekyc.liveness.passive import FEATURE_SETS

    assert FEATURE_SETS[3][-len(NAMES) :] == NAMES  # @3's last six
    at = len(FEATURE_SETS[3]) - len(NAMES)
    assert FEATURE_SETS[4][at : at + len(NAMES)] == NAMES  # set 4 appends after them


def test_known_values():
    tone = _tone(_face())
    skin = _grey(SKIN)
    assert tone["eye_dark"] == pytest.approx(np.log((10 + 2) / (skin + 2)))
    assert tone["nostril_dark"] == pytest.approx(np.log((40 + 2) / (skin + 2)))
    # each eye window is 28 x 28 px (0.22 * 60 each side of the eye, truncated), 49 of them
    # pupil: the 98th percentile is skin, the spread that of a two-level window
    share = 49 / 28**2
    assert tone["eye_bright"] == pytest.approx(0.0)
    assert tone["eye_range"] == pytest.approx((skin - 10) / (skin + 2))
    two_level_std = np.sqrt(share * (1 - share)) * (skin - 10)
    assert tone["eye_std"] == pytest.approx(two_level_std / (skin + 2), rel=1e-4)
    cr = float(cv2.cvtColor(np.array([[SKIN]], np.uint8), cv2.COLOR_RGB2YCrCb)[0, 0, 1])
    assert tone["skin_cr"] == pytest.approx((cr - 128) / 255)
    assert tone["skin_cr"] > 0.05  # reddish skin
    assert _tone(_face(skin=(150, 150, 150)))["skin_cr"] == pytest.approx(0.0)


def _ink(img, saturation=0.7, contrast=0.85):
    """benchmarks.synth's ink: colours washed towards grey, black lifted to 20."""
    f = img.astype(np.float32)
    grey = f.mean(axis=2, keepdims=True)
    return np.clip(20 + (grey + (f - grey) * saturation) * contrast, 0, 255).astype(np.uint8)


def test_ink_lifts_the_dark_features_and_pales_the_skin():
    live, printed = _tone(_face()), _tone(_ink(_face()))
    assert printed["eye_dark"] > live["eye_dark"] + 0.5  # log 12/152 -> ~log 31/150
    assert printed["nostril_dark"] > live["nostril_dark"] + 0.3
    assert printed["eye_range"] < 0.9 * live["eye_range"]  # 0.92 -> 0.80
    assert printed["eye_std"] < 0.9 * live["eye_std"]
    assert printed["skin_cr"] < 0.75 * live["skin_cr"]


def test_exposure_barely_moves_them():
    face = _face()
    darker = np.round(face.astype(np.float32) * 0.6).astype(np.uint8)
    before, after = _tone(face), _tone(darker)
    for name in NAMES[:1] + NAMES[2:]:  # ratios of grey levels: only the +2 guard and
        assert abs(before[name] - after[name]) < 0.12, name  # the rounding move them
    # redness is a difference: it dims with the light, less than ink's washing-out does
    assert 0.5 * before["skin_cr"] < after["skin_cr"] < before["skin_cr"]


def test_landmarks_at_the_border_still_give_finite_values():
    lm = LANDMARKS.copy()
    lm[:, 0] -= 95  # the left eye and mouth corner fall off the image
    assert np.all(np.isfinite(_ink_tone(_face(), lm)))
