from __future__ import annotations

import numpy as np
import pytest

from ekyc.detect.steps import blurred_step, fit_three, fit_two, moved_step, thin_line


def test_fit_three_is_least_squares_with_a_constant():
    rng = np.random.default_rng(0)
    x = np.linspace(-10, 10, 41)
    centres = np.array([[0.0], [1.0], [-2.0]])
    sig = np.full((3, 1), 0.6)
    b1 = blurred_step(x, centres, sig)
    b2 = blurred_step(x, centres + 4.0, sig)
    b3 = thin_line(x, centres + 4.0, sig)
    y = rng.normal(0.0, 5.0, (41, 3)) + 40.0 * b1[1, :, None] - 25.0 * b3[1, :, None]
    rss, c1, c2 = fit_three(y, b1, b2, b3)
    for k in range(3):
        design = np.column_stack([np.ones_like(x), b1[k], b2[k], b3[k]])
        coef, res, *_ = np.linalg.lstsq(design, y, rcond=None)
        assert rss[k] == pytest.approx(res.sum(), rel=1e-6)
        assert np.allclose(c1[k], coef[1])
        assert np.allclose(c2[k], coef[2])
    # the line is a nuisance term: with it the fit is never worse than without
    assert np.all(rss <= fit_two(y, b1, b2)[0] + 1e-6)


def test_the_step_is_the_textbook_formula_to_the_bit():
    # ``blurred_step`` works in place for speed: the same floats as the plain expression,
    # on a grid with exact zeros (z == 0), both dtypes, and scalars.
    x = np.arange(-12.0, 12.0, 0.5)
    centre = np.concatenate([np.arange(-3.0, 3.01, 0.25), [0.1, -7.3]])[:, None]
    sigma = np.resize([0.35, 0.5, 0.8, 1.8, 4.0], len(centre))[:, None]

    def textbook(x, centre, sigma):
        z = (x - centre) / (sigma * np.sqrt(2.0))
        a = np.abs(z)
        t = 1.0 / (1.0 + 0.3275911 * a)
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                    + t * 1.061405429))))  # fmt: skip
        return np.asarray(0.5 * (1.0 + np.sign(z) * (1.0 - poly * np.exp(-a * a))), np.float64)

    for args in ((x, centre, sigma), tuple(np.float32(a) for a in (x, centre, sigma))):
        assert np.array_equal(blurred_step(*args), textbook(*args))
    assert blurred_step(0.3, 0.1, 0.5) == textbook(0.3, 0.1, 0.5)
    assert np.shape(blurred_step(0.3, 0.1, 0.5)) == ()


@pytest.mark.parametrize(("box", "sigma"), [(6.0, 0.7), (3.0, 1.5), (0.5, 1.0), (10.0, 0.4)])
def test_a_moved_step_is_a_step_through_a_box_then_a_gaussian(box, sigma):
    # Against the two convolutions done numerically on a 0.01 px grid.
    dx = 0.01
    x = np.arange(-20.0, 20.0, dx)
    n = round(box / dx)
    smeared = np.convolve((x >= 0).astype(np.float64), np.ones(n) / n, "same")
    g = np.exp(-0.5 * (np.arange(-6 * sigma, 6 * sigma + dx / 2, dx) / sigma) ** 2)
    numeric = np.convolve(smeared, g / g.sum(), "same")
    inside = np.abs(x) < 10
    closed = moved_step(x, np.array(0.0), np.array(box), np.array(sigma))
    assert np.abs(closed - numeric)[inside].max() < 0.005
    # no box is the plain step; the ramp is as long as the box
    assert np.allclose(moved_step(x, 0.0, 0.0, sigma), blurred_step(x, 0.0, sigma))
    ramp = moved_step(x, np.array(0.0), np.array(box), np.array(0.05))
    assert ramp[np.searchsorted(x, -box / 2 - 0.1)] < 1e-3
    assert ramp[np.searchsorted(x, box / 2 + 0.1)] > 1 - 1e-3
