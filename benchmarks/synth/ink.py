"""A photo printed as ink on paper: the texture a print attack shows the phone's camera.

Why: ``attacks.photo_print`` prints by a tone shift alone (colours towards grey, the range
squeezed to 20-255), so a synthetic print differed from a live selfie mostly by how it was
held (small, its whole sheet in view), not by looking printed, and the PAD model learned the
holding. Here the print is made the way a printer makes it, in linear light:

* inks, not RGB: cyan, magenta, yellow (and black) absorb by their transmission in each of
  red, green and blue, each with unwanted absorptions (cyan takes some green and blue), so
  colours leave the gamut the way ink's do, and the darkest a print gets is the paper's
  white times the inks' transmissions (density ``d_max``): matte paper's "black" is grey;
* a dot screen where the medium has one: an inkjet's dither (dots at 300 dpi, thresholds
  drawn per print), a laser's clustered-dot halftone (85-133 lines per inch, a screen angle
  per ink); photo paper is continuous tone (dyes);
* paper: its white is the paper's (0.80-0.92 reflectance, warm or blue-white), not the
  scene's; fibre as a low-contrast multiplicative grain, coarser on matte paper;
* what the camera makes of it: the reflectance is averaged over the camera's pixel in linear
  light (``out_ppm``, then sRGB), so dots finer than a pixel become grain and a screen near
  the pixel pitch leaves moire.

Deterministic by the ``rng`` passed in. Gloss (sheen) is the carrier's: ``Medium.gloss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.attacks import Attack, _rgba_of
from benchmarks.synth.compose import Surface

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
MEDIA = ("photo_paper", "inkjet", "laser")
MEDIA_P = (0.4, 0.35, 0.25)
_DOT_PPM = {"photo_paper": 8.0, "inkjet": 12.0, "laser": 16.0}
"""Texture pixels per mm where the dots are drawn: inkjet dots at 300 dpi, a laser screen
of at most 133 lpi at >= 4.8 pixels a line (photo paper has no dots)."""
# Transmission of each ink (rows c, m, y, k) in R, G, B at full coverage, before the
# medium's density scales it: the unwanted absorptions of real process inks.
_INK_T = np.array(
    [[0.0, 0.55, 0.85], [0.75, 0.0, 0.55], [0.95, 0.85, 0.0], [0.0, 0.0, 0.0]], np.float32
)


@dataclass(frozen=True, slots=True)
class Medium:
    """How one print was made (drawn by ``sample_medium``)."""

    name: str  # one of MEDIA
    d_max: float  # density of an ink at full coverage in its own channel
    paper_rgb: tuple[float, float, float]  # paper white's reflectance, linear
    saturation: float  # the print driver's colour (1: as sent)
    dot_gain: float  # coverage = tone ** (1 / dot_gain): dots spread
    lpi: float  # laser screen ruling (0: none)
    grain: float  # paper fibre, relative reflectance
    surface: float  # light the paper's surface reflects before any ink (lifts the blacks)
    gloss: float  # 0 matte .. 1 glossy (the carrier's sheen)

    def params(self) -> dict[str, object]:
        """The medium as JSON-able numbers."""
        return {
            "medium": self.name,
            "d_max": round(self.d_max, 3),
            "paper_rgb": [round(v, 3) for v in self.paper_rgb],
            "saturation": round(self.saturation, 3),
            "dot_gain": round(self.dot_gain, 3),
            "lpi": round(self.lpi, 1),
            "grain": round(self.grain, 4),
            "surface": round(self.surface, 4),
            "gloss": round(self.gloss, 3),
        }


def sample_medium(rng: np.random.Generator) -> Medium:
    """A printer and paper: glossy photo paper, an inkjet on matte paper, or a colour laser."""
    name = str(rng.choice(MEDIA, p=MEDIA_P))
    white = float(rng.uniform(0.80, 0.92))
    tint = rng.choice(
        [[1.0, 0.99, 0.95], [0.97, 0.99, 1.0], [1.0, 1.0, 0.98]]
    )  # warm, OBA, neutral
    paper = tuple(float(v) for v in white * np.asarray(tint) * rng.uniform(0.99, 1.01, 3))
    lpi = 0.0
    if name == "photo_paper":  # glossy: little surface light, deep dyes
        d_max, grain, surface, gloss = (rng.uniform(1.6, 2.1), rng.uniform(0.005, 0.015),
                                        rng.uniform(0.004, 0.01), 0.9)  # fmt: skip
    elif name == "inkjet":  # plain or matte paper: the surface greys the blacks
        d_max, grain, surface, gloss = (rng.uniform(1.0, 1.4), rng.uniform(0.015, 0.035),
                                        rng.uniform(0.02, 0.04), 0.15)  # fmt: skip
    else:
        d_max, grain, surface, gloss = (rng.uniform(1.2, 1.6), rng.uniform(0.01, 0.025),
                                        rng.uniform(0.015, 0.03), 0.35)  # fmt: skip
        lpi = float(rng.uniform(85.0, 133.0))
    saturation, dot_gain = float(rng.uniform(0.75, 1.0)), float(rng.uniform(1.0, 1.3))
    return Medium(name, float(d_max), paper, saturation, dot_gain,  # type: ignore[arg-type]
                  lpi, float(grain), float(surface), gloss)  # fmt: skip


def _linear(img: U8) -> F32:
    lut = np.arange(256, dtype=np.float32) / 255
    lut = np.where(lut <= 0.04045, lut / 12.92, ((lut + 0.055) / 1.055) ** 2.4)
    out: F32 = cv2.LUT(img, lut.astype(np.float32))
    return out


def _srgb(lin: F32) -> U8:
    v = np.clip(lin, 0.0, 1.0)
    v = np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    out: U8 = np.clip(v * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def _screen(h: int, w: int, ppm: float, lpi: float, angle_deg: float) -> F32:
    """A clustered-dot threshold map in [0, 1] (a dot grows from each cell's centre)."""
    period = ppm * 25.4 / lpi  # texture pixels per screen line
    a = np.deg2rad(angle_deg)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    u = (xx * np.cos(a) + yy * np.sin(a)) * (2 * np.pi / period)
    v = (-xx * np.sin(a) + yy * np.cos(a)) * (2 * np.pi / period)
    out: F32 = (0.5 - 0.25 * (np.cos(u) + np.cos(v))).astype(np.float32)
    return out


def ink_texture(
    content: U8, size_mm: tuple[float, float], out_ppm: float, medium: Medium,
    rng: np.random.Generator,
) -> U8:  # fmt: skip
    """``content`` (RGB) printed at ``size_mm`` on ``medium``, as sRGB at ``out_ppm`` px/mm.

    The camera's view of the paper before its room light: each output pixel is the mean
    reflectance over its area (linear light), then sRGB-encoded.
    """
    ppm = _DOT_PPM[medium.name]
    tw, th = max(8, round(size_mm[0] * ppm)), max(8, round(size_mm[1] * ppm))
    how = cv2.INTER_AREA if tw < content.shape[1] else cv2.INTER_CUBIC
    sized = cv2.resize(content, (tw, th), interpolation=how)
    lin = _linear(np.ascontiguousarray(sized))
    luma = lin @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    lin = luma[..., None] + (lin - luma[..., None]) * medium.saturation
    cover = np.clip(1.0 - lin, 0.0, 1.0) ** (1 / medium.dot_gain)  # c, m, y wanted
    black = np.clip((cover.min(axis=2) - 0.6) / 0.4, 0.0, 1.0)  # k where c, m, y all run high
    inks = [cover[..., 0], cover[..., 1], cover[..., 2], black]
    if medium.name == "inkjet":
        inks = [(c > rng.random((th, tw), dtype=np.float32)).astype(np.float32) for c in inks]
        inks = [cv2.GaussianBlur(c, (0, 0), 0.5) for c in inks]  # ink spreads into the paper
    elif medium.name == "laser":
        angles = (15.0, 75.0, 0.0, 45.0)
        inks = [(c > _screen(th, tw, ppm, medium.lpi, a)).astype(np.float32)
                for c, a in zip(inks, angles, strict=True)]  # fmt: skip
    t = np.power(10.0, -medium.d_max * (1.0 - _INK_T)).astype(np.float32)  # (ink, channel)
    refl = np.empty((th, tw, 3), np.float32)
    for ch in range(3):
        chan = np.full((th, tw), medium.paper_rgb[ch], np.float32)
        for k, ink in enumerate(inks):
            chan *= 1.0 - ink * (1.0 - t[k, ch])
        refl[..., ch] = chan
    fibre = rng.normal(0.0, 1.0, (max(2, th // 3), max(2, tw // 3))).astype(np.float32)
    fibre = cv2.resize(
        cv2.GaussianBlur(fibre, (0, 0), 1.0), (tw, th), interpolation=cv2.INTER_LINEAR
    )
    refl *= (1.0 + medium.grain * fibre / (fibre.std() + 1e-6))[..., None]
    refl += medium.surface
    ow, oh = max(4, round(size_mm[0] * out_ppm)), max(4, round(size_mm[1] * out_ppm))
    seen = cv2.resize(refl, (ow, oh), interpolation=cv2.INTER_AREA if ow < tw else cv2.INTER_LINEAR)
    return _srgb(seen)


def ink_print(content: U8, size_mm: tuple[float, float], rng: np.random.Generator) -> Attack:
    """``content`` printed by ``ink_texture`` on a sampled medium, with a white border: the
    arm's-length print's carrier (``attacks.photo_print``'s, made of ink)."""
    medium = sample_medium(rng)
    ppm, border = 8.0, float(rng.uniform(0.0, 5.0))
    tex = ink_texture(content, size_mm, ppm, medium, rng)
    ch, cw = tex.shape[:2]
    b = round(border * ppm)
    paper = _srgb(np.asarray(medium.paper_rgb, np.float32)[None, None])[0, 0]
    full = np.empty((ch + 2 * b, cw + 2 * b, 3), np.uint8)
    full[:] = paper
    full[b : b + ch, b : b + cw] = tex
    doc = (-cw / ppm / 2, -ch / ppm / 2, cw / ppm / 2, ch / ppm / 2)
    rect = (doc[0] - b / ppm, doc[1] - b / ppm, doc[2] + b / ppm, doc[3] + b / ppm)
    surf = Surface(_rgba_of(full), rect, 0.5, 0.25, tuple(int(v) for v in paper),  # type: ignore[arg-type]
                   gloss=medium.gloss)  # fmt: skip
    return Attack(surf, doc, {**medium.params(), "border_mm": round(border, 2)})
