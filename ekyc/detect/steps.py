"""Blurred step edges and their least-squares fits to colour profiles across an edge.

Shared by ``ekyc.detect.sideface`` (moving a side onto the printed face's edge) and
``ekyc.detect.thickness`` (is the card's side face there): both ask whether one blurred
step or two parallel ones (face, band, background) explain the colours across a side.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["blurred_step", "fit_one", "fit_three", "fit_two", "moved_step", "thin_line"]

F64 = npt.NDArray[np.float64]


def blurred_step(x: F64, centre: F64, sigma: F64) -> F64:
    """A unit step at ``centre`` blurred by a Gaussian of ``sigma`` (the normal CDF).

    ``erf`` by Abramowitz & Stegun 7.1.26 (error < 1.5e-7; ekyc does not depend on scipy):
    a cruder shape (a logistic) lets two steps fit one blurred edge better than one does.
    """
    z0 = (x - centre) / (sigma * np.sqrt(2.0))
    z = np.array(z0, copy=False, ndmin=1)  # in place below: a scalar becomes an array
    # In place from here: the same operations in the same order as the textbook form
    # ``0.5 * (1 + sign(z) * (1 - poly(t) * exp(-a * a)))`` (the same floats), without a
    # fresh array per step (the fits call this on grids of ~10^5 samples).
    a = np.abs(z)
    t = a * 0.3275911
    t += 1.0
    np.divide(1.0, t, out=t)
    poly = t * 1.061405429
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    a *= poly
    erf = np.subtract(1.0, a, out=a)
    step = np.sign(z, out=z)
    step *= erf
    step += 1.0
    step *= 0.5
    return np.asarray(step.reshape(np.shape(z0)), dtype=np.float64)


def moved_step(x: F64, centre: F64 | float, box: F64 | float, sigma: F64 | float) -> F64:
    """A unit step at ``centre`` smeared by a box ``box`` px long, then a Gaussian of ``sigma``.

    What linear motion blur (the camera moved ``box`` px across the edge during the
    exposure) and defocus make of an edge: a ramp with rounded shoulders, which two
    Gaussian steps a few pixels apart fit better than one. In closed form, the box's mean
    of the normal CDF: ``(G(u + box/2) - G(u - box/2)) / box`` with ``G(u) = u Phi(u/s) +
    s phi(u/s)``, the CDF's antiderivative; boxes under 0.05 px are the plain step.
    """
    x, centre, box, sigma = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (x, centre, box, sigma))
    )
    u = x - centre
    wide = box >= 0.05
    half = np.where(wide, box, 1.0) / 2.0

    def antiderivative(v: F64) -> F64:
        density = np.exp(-0.5 * (v / sigma) ** 2) / np.sqrt(2.0 * np.pi)
        return np.asarray(v * blurred_step(v, np.zeros_like(v), sigma) + sigma * density)

    ramp = (antiderivative(u + half) - antiderivative(u - half)) / (2.0 * half)
    return np.asarray(np.where(wide, ramp, blurred_step(u, np.zeros_like(u), sigma)), np.float64)


def thin_line(x: F64, centre: F64, sigma: F64) -> F64:
    """A line one pixel wide at ``centre`` blurred by a Gaussian of ``sigma``.

    What a profile across an edge shows of a contact shadow, a lit rim or a seam along it.
    """
    return blurred_step(x, centre - 0.5, sigma) - blurred_step(x, centre + 0.5, sigma)


def fit_one(y: F64, b: F64) -> F64:
    """Residual of the least-squares fit of ``y`` on ``[1, b]`` for each row of ``b``."""
    yc = y - y.mean(axis=0)
    bc = b - b.mean(axis=1, keepdims=True)
    r = bc @ yc  # (n, 3)
    g = np.maximum(np.einsum("nm,nm->n", bc, bc), 1e-12)
    return np.asarray(np.maximum(float(np.sum(yc * yc)) - np.sum(r * r, axis=1) / g, 0.0))


def fit_two(y: F64, b1: F64, b2: F64) -> tuple[F64, F64, F64]:
    """Least squares of ``y`` on ``[1, b1, b2]`` per row: residual and the two step colours.

    With the constant projected out, the normal equations are 2x2 and solved in closed form
    (a batched ``np.linalg.solve`` costs more than everything else here).
    """
    yc = y - y.mean(axis=0)
    u = b1 - b1.mean(axis=1, keepdims=True)
    v = b2 - b2.mean(axis=1, keepdims=True)
    guu = np.einsum("nm,nm->n", u, u)
    gvv = np.einsum("nm,nm->n", v, v)
    guv = np.einsum("nm,nm->n", u, v)
    ru, rv = u @ yc, v @ yc  # (n, 3)
    det = np.maximum(guu * gvv - guv * guv, 1e-12)[:, None]
    c1 = (gvv[:, None] * ru - guv[:, None] * rv) / det
    c2 = (guu[:, None] * rv - guv[:, None] * ru) / det
    rss = float(np.sum(yc * yc)) - np.sum(c1 * ru + c2 * rv, axis=1)
    return np.maximum(rss, 0.0), c1, c2


def fit_three(y: F64, b1: F64, b2: F64, b3: F64) -> tuple[F64, F64, F64]:
    """Least squares of ``y`` on ``[1, b1, b2, b3]`` per row: residual and the two step colours.

    ``b3`` is a nuisance term (a thin line along the edge): its colour is fitted, not
    returned. The 3x3 normal equations are solved by the adjugate, batched.
    """
    yc = y - y.mean(axis=0)
    bs = [b - b.mean(axis=1, keepdims=True) for b in (b1, b2, b3)]
    g = [[np.einsum("nm,nm->n", bs[i], bs[j]) for j in range(3)] for i in range(3)]
    r = [b @ yc for b in bs]  # (n, 3 colours) each
    # adjugate of the symmetric Gram matrix
    a00 = g[1][1] * g[2][2] - g[1][2] ** 2
    a01 = g[0][2] * g[1][2] - g[0][1] * g[2][2]
    a02 = g[0][1] * g[1][2] - g[0][2] * g[1][1]
    a11 = g[0][0] * g[2][2] - g[0][2] ** 2
    a12 = g[0][1] * g[0][2] - g[0][0] * g[1][2]
    a22 = g[0][0] * g[1][1] - g[0][1] ** 2
    det = g[0][0] * a00 + g[0][1] * a01 + g[0][2] * a02
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)[:, None]
    c1 = (a00[:, None] * r[0] + a01[:, None] * r[1] + a02[:, None] * r[2]) / det
    c2 = (a01[:, None] * r[0] + a11[:, None] * r[1] + a12[:, None] * r[2]) / det
    c3 = (a02[:, None] * r[0] + a12[:, None] * r[1] + a22[:, None] * r[2]) / det
    rss = float(np.sum(yc * yc)) - np.sum(c1 * r[0] + c2 * r[1] + c3 * r[2], axis=1)
    return np.maximum(rss, 0.0), c1, c2
