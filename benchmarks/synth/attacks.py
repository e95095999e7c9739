"""Presentation attacks on the card checks: a card shown on a screen, or photocopied on paper.

Each attack returns a :class:`~benchmarks.synth.compose.Surface` (the physical carrier: phone,
monitor or paper) and the rectangle, in the carrier's plane, where the card image appears; the
ground-truth corners are that rectangle's, and the carrier's thickness is not the card's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.cards import CardFace, rounded_alpha
from benchmarks.synth.compose import Surface

U8 = npt.NDArray[np.uint8]
Rect = tuple[float, float, float, float]
_DEVICES = {  # body w, h, bezel, corner radius, thickness (mm)
    "phone": (150.0, 72.0, 3.5, 8.0, 7.8),
    "tablet": (245.0, 172.0, 9.0, 10.0, 6.5),
    "monitor": (300.0, 190.0, 12.0, 2.0, 15.0),
}
SCREEN_PX_PER_MM = 9.0  # 3 texture px per screen pixel: a 0.33 mm pitch (coarser than a phone's)
PAPER_PX_PER_MM = 8.0


@dataclass(frozen=True, slots=True, eq=False)
class Attack:
    """A carrier surface and where the card's image lies on it (document coordinates)."""

    surface: Surface
    doc_rect_mm: Rect
    params: dict[str, object]


@functools.cache
def _subpixel_mask(h: int, w: int) -> U8:
    """RGB stripe pixels, 3x3 texture px each, darker between rows; uint8 with mean 128."""
    cell = np.full((3, 3, 3), 0.42, np.float32)  # (row % 3, col % 3, channel)
    for ch in range(3):
        cell[:, ch, ch] = 1.0
    cell[2] *= 0.65
    # the mean over the h x w tiling, from how often each row and column phase occurs
    n_rows = np.bincount(np.arange(h) % 3, minlength=3).astype(np.float64)
    n_cols = np.bincount(np.arange(w) % 3, minlength=3).astype(np.float64)
    mean = np.einsum("i,j,ijc->c", n_rows, n_cols, cell.astype(np.float64)) / (h * w)
    cell_u8 = np.clip(cell * (128 / mean).astype(np.float32), 0, 255).astype(np.uint8)
    out: U8 = np.tile(cell_u8, ((h + 2) // 3, (w + 2) // 3, 1))[:h, :w]
    out = np.ascontiguousarray(out)
    out.setflags(write=False)
    return out


def _over(dst: U8, src: U8, alpha: U8) -> None:
    """``dst = src * a + dst * (1 - a)`` in place; only rows with some transparency blend."""
    rows = np.flatnonzero(alpha.min(axis=1) < 255)
    behind = dst[rows]
    dst[:] = src
    if len(rows):
        a = alpha[rows].astype(np.float32) / 255
        dst[rows] = cv2.blendLinear(src[rows], behind, a, 1 - a)


def _rgba_of(rgb: U8, alpha: U8 | None = None) -> U8:
    """RGB plus an alpha channel (opaque when ``alpha`` is None)."""
    rgba: U8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    if alpha is not None:
        rgba[..., 3] = alpha
    return rgba


def screen_carrier(
    content: U8, alpha: U8 | None, size_mm: tuple[float, float], rng: np.random.Generator
) -> Attack:
    """``content`` (natural size ``size_mm``) shown full-screen on a phone, tablet or monitor."""
    device = str(rng.choice(list(_DEVICES), p=[0.6, 0.25, 0.15]))
    bw, bh, bezel, radius, thick = _DEVICES[device]
    if size_mm[1] > size_mm[0]:  # portrait content: hold the device upright
        bw, bh = bh, bw
    sw, sh = bw - 2 * bezel, bh - 2 * bezel
    fill = rng.uniform(0.7, 0.97)
    scale = min(sw * fill / size_mm[0], sh * fill / size_mm[1])
    dw, dh = size_mm[0] * scale, size_mm[1] * scale
    cx = rng.uniform(-(sw - dw) / 2, (sw - dw) / 2) * 0.5
    cy = rng.uniform(-(sh - dh) / 2, (sh - dh) / 2) * 0.5
    ppm = SCREEN_PX_PER_MM * (1.0 if device == "phone" else 0.6)
    tw, th = round(bw * ppm), round(bh * ppm)
    body = rng.choice([[18, 18, 20], [200, 200, 205], [40, 40, 48]]).astype(np.uint8)
    s0 = round(bezel * ppm)
    dark = int(rng.integers(0, 30))  # the screen's level around the content
    card_w, card_h = round(dw * ppm), round(dh * ppm)
    shown = cv2.resize(content, (card_w, card_h), interpolation=cv2.INTER_AREA)
    ox = round((bw / 2 + cx - dw / 2) * ppm) - s0
    oy = round((bh / 2 + cy - dh / 2) * ppm) - s0
    if alpha is not None:
        region = np.full_like(shown, dark)
        _over(region, shown, cv2.resize(alpha, (card_w, card_h), interpolation=cv2.INTER_AREA))
        shown = region
    gamma = float(rng.uniform(0.8, 1.0))
    levels = np.arange(256, dtype=np.float32) / 255
    gain = rng.uniform(0.85, 1.05) * np.array([0.95, 0.98, 1.06])
    lut = np.stack([np.clip(255 * levels**gamma * g, 0, 255) for g in gain], axis=1)
    lut_u8 = lut.astype(np.uint8)
    # the display's tone curve: a constant around the content, the table on the content
    sw_px, sh_px = tw - 2 * s0, th - 2 * s0
    screen = cv2.merge([np.full((sh_px, sw_px), lut_u8[dark, c], np.uint8) for c in range(3)])
    screen[oy : oy + card_h, ox : ox + card_w] = cv2.LUT(shown, lut_u8.reshape(256, 1, 3))
    cv2.multiply(screen, _subpixel_mask(*screen.shape[:2]), dst=screen, scale=1 / 128)
    tex = cv2.copyMakeBorder(screen, s0, s0, s0, s0, cv2.BORDER_CONSTANT, value=body.tolist())
    rgba = _rgba_of(tex, rounded_alpha(tw, th, radius * ppm))
    # The content sits at whole texture pixels: express the carrier relative to it.
    left, top = (ox + s0) / ppm, (oy + s0) / ppm
    doc = (-card_w / ppm / 2, -card_h / ppm / 2, card_w / ppm / 2, card_h / ppm / 2)
    rect = (doc[0] - left, doc[1] - top, doc[0] - left + tw / ppm, doc[1] - top + th / ppm)
    edge = (50, 50, 55) if body.mean() < 100 else (170, 170, 175)
    surf = Surface(rgba, rect, radius, thick, edge, gloss=1.0)
    params = {
        "device": device,
        "display_scale": round(float(scale), 4),
        "gamma": round(gamma, 3),
        "screen_pitch_mm": round(3 / ppm, 3),
        "carrier_thickness_mm": thick,
    }
    return Attack(surf, doc, params)


def screen_attack(face: CardFace, rng: np.random.Generator) -> Attack:
    """The card image displayed on a phone, tablet or monitor (no card thickness)."""
    return screen_carrier(face.image, face.alpha, face.size_mm, rng)


def photo_print(content: U8, size_mm: tuple[float, float], rng: np.random.Generator) -> Attack:
    """``content`` printed on glossy photo paper with a white border (a print attack)."""
    ppm, border = 6.0, rng.uniform(0.0, 5.0)
    cw, ch = round(size_mm[0] * ppm), round(size_mm[1] * ppm)
    img = cv2.resize(content, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * rng.uniform(0.7, 1.0)
    img = 20 + img * rng.uniform(0.8, 0.92)  # ink cannot reach screen black nor paper white
    b = round(border * ppm)
    tex = np.full((ch + 2 * b, cw + 2 * b, 3), 244, np.float32)
    tex[b : b + ch, b : b + cw] = img
    rgba = _rgba_of(np.clip(tex, 0, 255).astype(np.uint8))
    doc = (-cw / ppm / 2, -ch / ppm / 2, cw / ppm / 2, ch / ppm / 2)
    rect = (doc[0] - b / ppm, doc[1] - b / ppm, doc[2] + b / ppm, doc[3] + b / ppm)
    surf = Surface(rgba, rect, 0.5, 0.25, (240, 240, 236), gloss=0.6)
    return Attack(surf, doc, {"medium": "photo_paper", "border_mm": round(float(border), 2)})


def _scalar(rgb: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), 0.0)


def _tone(img: npt.NDArray[np.uint8], gamma: float) -> npt.NDArray[np.float32]:
    """``255 * (img / 255) ** gamma`` in float32, through a 256-entry table."""
    lut = (255 * (np.arange(256, dtype=np.float32) / 255) ** gamma).astype(np.float32)
    out: npt.NDArray[np.float32] = cv2.LUT(img, lut)
    return out


def photocopy_attack(face: CardFace, rng: np.random.Generator) -> Attack:
    """A grey or colour photocopy of the card at 100 % on a sheet, or cut out around it."""
    colour = bool(rng.random() < 0.5)
    cut = bool(rng.random() < 0.4)
    ppm = PAPER_PX_PER_MM
    cw, ch = round(face.size_mm[0] * ppm), round(face.size_mm[1] * ppm)
    card8 = cv2.resize(face.image, (cw, ch), interpolation=cv2.INTER_AREA)
    a = cv2.resize(face.alpha, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    paper = np.array([246, 245, 240], np.float32) * rng.uniform(0.95, 1.0)
    if colour:  # washed-out colours (towards the pixel's grey), then the copier's tone curve
        sat = float(rng.uniform(0.55, 0.85))
        mix = np.full((3, 3), (1 - sat) / 3, np.float32) + np.eye(3, dtype=np.float32) * sat
        card = _tone(cv2.transform(card8, mix), float(rng.uniform(1.05, 1.3)))
    else:
        luma = cv2.transform(card8, np.array([[0.299, 0.587, 0.114]], np.float32))
        card = cv2.merge([_tone(luma, float(rng.uniform(1.2, 1.6)))] * 3)
    # card * a + paper * (1 - a), plus toner grain, in float32
    a3 = cv2.merge([a, a, a])
    card = cv2.multiply(cv2.subtract(card, _scalar(paper)), a3)
    grain = rng.normal(0, 6, card.shape[:2]).astype(np.float32)
    card = cv2.add(card, cv2.add(cv2.merge([grain, grain, grain]), _scalar(paper)))
    card = cv2.GaussianBlur(card, (0, 0), rng.uniform(0.5, 1.1))
    if cut:
        margin = rng.uniform(0.0, 3.0)
        sheet_w, sheet_h = face.size_mm[0] + 2 * margin, face.size_mm[1] + 2 * margin
        off = (margin, margin)
    else:
        sheet_w = face.size_mm[0] + rng.uniform(25.0, 90.0)
        sheet_h = face.size_mm[1] + rng.uniform(25.0, 150.0)
        off = (
            rng.uniform(10, sheet_w - face.size_mm[0] - 10),
            rng.uniform(10, sheet_h - face.size_mm[1] - 10),
        )
    tw, th = round(sheet_w * ppm), round(sheet_h * ppm)
    ox, oy = round(off[0] * ppm), round(off[1] * ppm)
    tex = cv2.copyMakeBorder(
        np.clip(card, 0, 255).astype(np.uint8)[: th - oy, : tw - ox],
        oy,
        max(0, th - oy - ch),
        ox,
        max(0, tw - ox - cw),
        cv2.BORDER_CONSTANT,
        value=np.clip(paper, 0, 255).astype(np.uint8).tolist(),
    )
    rgba = _rgba_of(tex)
    doc = (-cw / ppm / 2, -ch / ppm / 2, cw / ppm / 2, ch / ppm / 2)
    rect = (
        doc[0] - ox / ppm,
        doc[1] - oy / ppm,
        doc[0] - ox / ppm + tw / ppm,
        doc[1] - oy / ppm + th / ppm,
    )
    surf = Surface(rgba, rect, 0.3, 0.1, (235, 235, 230), gloss=0.15)
    params = {"colour": colour, "cut_out": cut, "sheet_mm": [round(sheet_w, 1), round(sheet_h, 1)]}
    return Attack(surf, doc, params)
