"""The card-portrait cut benchmark: its cuts are the shipped crop, warped the stated ways."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import match_portrait as mp


@pytest.fixture(scope="module")
def astronaut_card():
    from benchmarks.synth.selfie import astronaut_face
    from ekyc.match import YuNetDetector, align_face, refine_face
    from ekyc.registry import Registry

    detector = YuNetDetector(Registry.from_manifest(threads=1))
    face = astronaut_face()
    name = "images/Astro/Astro_0001.jpg"
    cuts = mp.cut_variants(face, name, detector)
    _, card, _ = mp.card_shot(face, name)
    best = max(detector.detect(card.image), key=lambda f: f.score)
    refined = refine_face(detector, card.image, best)
    return (cuts, align_face(card.image, best.landmarks, "arcface-5pt-112"),
            align_face(card.image, refined.landmarks, "arcface-5pt-112"))  # fmt: skip


@pytest.mark.models
def test_rectified_cut_is_the_shipped_crop(astronaut_card):
    cuts, shipped, refined = astronaut_card
    assert int(cuts["found"]) >= 1
    assert np.array_equal(cuts["rectified"], shipped)
    # The refine cut is ekyc.match.refine_face's look at the shipped detection, nothing else.
    assert np.array_equal(cuts["refine"], refined)
    assert not np.array_equal(cuts["refine"], shipped)


@pytest.mark.models
def test_other_cuts_show_the_same_face(astronaut_card):
    cuts, shipped, _ = astronaut_card
    # A one-pixel shift of this crop differs by ~4.4-4.9 grey levels on average: another
    # resampling of the same face must stay well under that (not a shifted face).
    shift = min(np.abs(np.roll(shipped, 1, axis=a).astype(np.int16) - shipped).mean()
                for a in (0, 1))  # fmt: skip
    for key in ("rectified-aa", "frame", "frame-aa"):
        assert cuts[key].shape == (112, 112, 3)
        diff = np.abs(cuts[key].astype(np.int16) - shipped).mean()
        assert 0.0 < diff < shift / 4, (key, diff, shift)


def test_warp_chip_supersampled_counts_every_source_pixel():
    stripes = np.zeros((48, 48, 3), np.uint8)
    stripes[:, ::3] = 255  # one white column in three, shrunk 3x
    shrink = np.diag([1 / 3, 1 / 3, 1.0])
    plain = mp.warp_chip(stripes, shrink, 16)[2:-2, 2:-2]
    smooth = mp.warp_chip(stripes, shrink, 16, supersample=3)[2:-2, 2:-2]
    assert plain.max() == 0  # bilinear samples fall between the white columns: lost
    np.testing.assert_allclose(smooth, 85, atol=1)  # every column counted


def test_mean_descriptor_per_member():
    metric = "zsum:cosine,2,0.1,0.1;euclidean,2,-0.8,0.1"
    a = np.array([[2.0, 0.0, 1.0, 1.0]], np.float32)
    b = np.array([[0.0, 3.0, 3.0, 5.0]], np.float32)
    out = mp.mean_descriptor(a, b, metric)
    np.testing.assert_allclose(out, [[0.5, 0.5, 2.0, 3.0]])
    np.testing.assert_allclose(mp.mean_descriptor(a, b, "euclidean"), (a + b) / 2)


@pytest.mark.parametrize("fn", [mp.grayworld, mp.unsharp, mp.clahe, mp.stretch])
def test_preprocessing_keeps_a_flat_crop_flat_and_its_shape(fn):
    crop = np.full((112, 112, 3), 120, np.uint8)
    out = fn(crop)
    assert out.shape == crop.shape
    assert out.dtype == np.uint8
    assert np.ptp(out) <= 1


def test_grayworld_removes_a_colour_cast():
    rng = np.random.default_rng(0)
    grey = rng.integers(60, 200, (112, 112, 1)).astype(np.float32)
    cast = np.clip(grey * np.array([1.3, 1.0, 0.7]), 0, 255).astype(np.uint8)
    means = mp.grayworld(cast)[24:100, 24:88].reshape(-1, 3).mean(axis=0)
    assert np.ptp(means) < 2.0
