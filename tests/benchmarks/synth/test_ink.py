"""Prints made of ink on paper: lifted blacks, paper white, dots, and how they are held."""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmarks.synth.close_print import render_ink_print
from benchmarks.synth.ink import Medium, ink_texture, sample_medium


def _medium(name: str, **changes: object) -> Medium:
    for seed in range(200):
        m = sample_medium(np.random.default_rng(seed))
        if m.name == name:
            return dataclasses.replace(m, **changes)  # type: ignore[arg-type]
    raise AssertionError(name)


def _flat(level: int) -> np.ndarray:
    return np.full((64, 48, 3), level, np.uint8)


def _spread(img: np.ndarray) -> float:
    """The largest of the channels' standard deviations over the image."""
    return float(img.astype(float).std(axis=(0, 1)).max())


def test_ink_cannot_print_black_and_paper_is_not_the_scenes_white() -> None:
    rng = np.random.default_rng
    for name in ("photo_paper", "inkjet", "laser"):
        m = _medium(name)
        black = ink_texture(_flat(0), (40.0, 53.0), 3.0, m, rng(0)).astype(float)
        white = ink_texture(_flat(255), (40.0, 53.0), 3.0, m, rng(0)).astype(float)
        assert black.mean() > 12  # the paper's surface reflects before any ink
        assert white.mean() < 250  # the paper's white, 0.80-0.92 of a white reflector
    matte = ink_texture(_flat(0), (40.0, 53.0), 3.0, _medium("inkjet"), rng(0)).mean()
    glossy = ink_texture(_flat(0), (40.0, 53.0), 3.0, _medium("photo_paper"), rng(0)).mean()
    assert matte > glossy + 10  # matte paper's "black" is grey


def test_dots_at_print_resolution_average_out_at_the_cameras() -> None:
    grey = _flat(200)  # about half of each ink's coverage
    for name, ppm in (("inkjet", 12.0), ("laser", 16.0)):
        m = _medium(name, grain=0.0)
        dots = _spread(ink_texture(grey, (40.0, 53.0), ppm, m, np.random.default_rng(1)))
        seen = _spread(ink_texture(grey, (40.0, 53.0), 3.0, m, np.random.default_rng(1)))
        assert dots > 30  # ink or paper, dot by dot
        assert seen < dots / 2  # finer than a camera pixel: grain, not dots
    photo = _medium("photo_paper", grain=0.0)
    tone = ink_texture(grey, (40.0, 53.0), 16.0, photo, np.random.default_rng(1))
    assert _spread(tone) < 2  # continuous tone: no dots


def test_a_laser_screen_shows_its_ruling() -> None:
    m = _medium("laser", grain=0.0, lpi=100.0)
    tex = ink_texture(_flat(150), (48.0, 48.0), 16.0, m, np.random.default_rng(0))
    grey = tex.astype(float).mean(axis=2)
    spectrum = np.abs(np.fft.fft2(grey - grey.mean()))
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[0]), np.fft.fftfreq(grey.shape[1]),
                         indexing="ij")  # fmt: skip
    radius = np.hypot(fx, fy) * 16.0 * 25.4  # cycles per inch
    peak = radius[np.unravel_index(np.argmax(spectrum), spectrum.shape)]
    assert 60 < peak < 160  # the screen's lines (100 lpi) or their sum/difference


def test_prints_are_held_close_or_at_arms_length_reproducibly(face) -> None:
    held = set()
    for seed in range(3):
        img, info = render_ink_print(face, (480, 640), np.random.default_rng(seed))
        assert img.shape == (640, 480, 3)
        held.add(info["held"])
        if info["held"] == "close":
            corners = np.asarray(info["print_corners"])
            assert corners[:, 0].min() <= 0.07 * 480  # the print spills past the frame
            assert corners[:, 0].max() >= 0.93 * 480
            lm = np.asarray(info["landmarks"])
            assert 0.12 * 480 < np.ptp(lm[:, 0]) < 0.5 * 480  # a selfie-size face
        else:
            corners = np.asarray(info["display_corners"])
            assert corners[:, 0].min() > 0  # the whole sheet in view
            assert corners[:, 0].max() < 480
        if seed == 0:
            again, _ = render_ink_print(face, (480, 640), np.random.default_rng(seed))
            assert np.array_equal(img, again)
    assert held == {"close", "arm's length"}
