"""The close-up print attack: frame-filling, washed-out, reproducible."""

from __future__ import annotations

import numpy as np

from benchmarks.synth.close_print import render_close_print
from benchmarks.synth.selfie import render_face_attack, render_selfie


def test_the_print_fills_the_frame_and_is_reproducible(face) -> None:
    for seed in range(4):
        img, info = render_close_print(face, (480, 640), np.random.default_rng(seed))
        assert img.shape == (640, 480, 3)
        assert img.dtype == np.uint8
        corners = np.asarray(info["print_corners"])
        # the print covers the frame: its corners lie at or beyond the frame's, give or take
        # the 6 % jitter, unlike the arm's-length print_face whose whole sheet is in view
        assert corners[:, 0].min() <= 0.07 * 480
        assert corners[:, 0].max() >= 0.93 * 480
        assert corners[:, 1].min() <= 0.07 * 640
        assert corners[:, 1].max() >= 0.93 * 640
        assert info["attack"] == "print_close"
        again, _ = render_close_print(face, (480, 640), np.random.default_rng(seed))
        assert np.array_equal(img, again)


def test_ink_washes_out_the_colours(face) -> None:
    def saturation(img: np.ndarray) -> float:
        rgb = img.astype(np.float32)
        return float(np.mean(rgb.max(axis=2) - rgb.min(axis=2)))

    rng = np.random.default_rng
    printed = [saturation(render_close_print(face, (480, 640), rng(s))[0]) for s in range(3)]
    live = [saturation(render_selfie(face, (480, 640), rng(s))[0]) for s in range(3)]
    assert np.mean(printed) < np.mean(live)


def test_unlike_the_arms_length_print(face) -> None:
    _, far = render_face_attack("print_face", face, (480, 640), np.random.default_rng(0))
    far_corners = np.asarray(far["display_corners"])
    # the arm's-length print sits inside the frame; the close one spills over it
    assert far_corners[:, 0].min() > 0
    assert far_corners[:, 0].max() < 480
    _, close = render_close_print(face, (480, 640), np.random.default_rng(0))
    spill = np.asarray(close["print_corners"])
    assert np.ptp(spill[:, 0]) > np.ptp(far_corners[:, 0]) * 1.5
