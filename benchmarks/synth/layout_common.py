"""Drawing primitives shared by the card layouts: a millimetre canvas, patterns, portrait, codes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from benchmarks.synth.text import font

RGB = tuple[int, int, int]
Rect = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Field:
    """A printed value and its box in card-face pixels ``(x0, y0, x1, y1)``."""

    name: str
    value: str
    box: tuple[int, int, int, int]


# Rendered text masks by (font size px, bold, text, anchor): labels and single digits repeat on
# every card. Drawing a cached mask is what ImageDraw.text does with it (same pixels).
_GLYPHS: dict[tuple[int, bool, str, str], tuple[Any, tuple[int, int], tuple[int, ...]]] = {}
_GLYPHS_MAX = 4096


def _glyph(
    size_px: int, bold: bool, s: str, anchor: str
) -> tuple[Any, tuple[int, int], tuple[int, ...]]:
    """The FreeType "L" mask of ``s`` anchored at an integer point, its offset and bbox."""
    key = (size_px, bold, s, anchor)
    hit = _GLYPHS.get(key)
    if hit is None:
        f = font(size_px, bold)
        mask, offset = f.getmask2(s, "L", anchor=anchor, start=(0.0, 0.0))
        bbox = tuple(int(v) for v in f.getbbox(s, "L", anchor=anchor))
        if len(_GLYPHS) >= _GLYPHS_MAX:
            _GLYPHS.clear()
        hit = _GLYPHS[key] = (mask, (int(offset[0]), int(offset[1])), bbox)
    return hit


class Canvas:
    """A card face drawn in millimetres; keeps the boxes of the fields it prints."""

    def __init__(self, size_mm: tuple[float, float], px_per_mm: float, paper: RGB) -> None:
        self.size_mm = size_mm
        self.ppm = px_per_mm
        self.width = round(size_mm[0] * px_per_mm)
        self.height = round(size_mm[1] * px_per_mm)
        self.image = Image.new("RGB", (self.width, self.height), paper)
        self.draw = ImageDraw.Draw(self.image)
        self.fields: list[Field] = []
        self.portrait_box: tuple[int, int, int, int] | None = None
        self._inks: dict[RGB, int] = {}

    def px(self, mm: float) -> int:
        return round(mm * self.ppm)

    def rect_px(self, rect: Rect) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = rect
        return (self.px(x0), self.px(y0), self.px(x1), self.px(y1))

    def text(
        self,
        x: float,
        y: float,
        s: str,
        size: float,
        fill: RGB = (25, 25, 25),
        *,
        bold: bool = False,
        field: str | None = None,
        anchor: str = "ls",
        spacing: float = 0.0,
    ) -> None:
        """Draw ``s`` with its baseline-left (``anchor``) at ``(x, y)`` mm, ``size`` mm high."""
        size_px = self.px(size)
        if spacing > 0:
            self._spaced(x, y, s, size_px, bold, fill, spacing, field)
            return
        box = self._put((self.px(x), self.px(y)), s, size_px, bold, fill, anchor)
        if field is not None:
            self.fields.append(Field(field, s, (box[0], box[1], box[2], box[3])))

    def _put(
        self, xy: tuple[int, int], s: str, size_px: int, bold: bool, fill: RGB, anchor: str
    ) -> tuple[int, ...]:
        """Draw one line of text like ``ImageDraw.text`` (cached mask); returns its bbox."""
        if "\n" in s:
            raise ValueError(f"one line of text expected, got {s!r}")
        mask, (ox, oy), (bx0, by0, bx1, by1) = _glyph(size_px, bold, s, anchor)
        self.draw.draw.draw_bitmap((xy[0] + ox, xy[1] + oy), mask, self._ink(fill))
        return (xy[0] + bx0, xy[1] + by0, xy[0] + bx1, xy[1] + by1)

    def _ink(self, fill: RGB) -> int:
        ink = self._inks.get(fill)
        if ink is None:
            drawn = self.draw._getink(fill)[0]  # what ImageDraw.text draws with
            if drawn is None:
                raise ValueError(f"no ink for fill {fill!r}")
            ink = self._inks[fill] = int(drawn)
        return ink

    def _spaced(
        self,
        x: float,
        y: float,
        s: str,
        size_px: int,
        bold: bool,
        fill: RGB,
        step: float,
        field: str | None,
    ) -> None:
        boxes = []
        for i, ch in enumerate(s):
            xy = (self.px(x + i * step), self.px(y))
            boxes.append(self._put(xy, ch, size_px, bold, fill, "ls"))
        if field is not None and boxes:
            b = np.array(boxes)
            box = (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))
            self.fields.append(Field(field, s, box))

    def vtext(self, x: float, y: float, s: str, size: float, fill: RGB, step: float) -> None:
        """Vertical text, one character per ``step`` mm, centred on ``x``."""
        for i, ch in enumerate(s):
            self._put((self.px(x), self.px(y + i * step)), ch, self.px(size), False, fill, "mt")

    def box(
        self,
        rect: Rect,
        outline: RGB | None = (60, 60, 60),
        width: float = 0.18,
        fill: RGB | None = None,
        radius: float = 0.0,
    ) -> None:
        self.draw.rounded_rectangle(
            self.rect_px(rect),
            radius=self.px(radius),
            fill=fill,
            outline=outline,
            width=max(1, self.px(width)),
        )

    def line(
        self, x0: float, y0: float, x1: float, y1: float, fill: RGB, width: float = 0.18
    ) -> None:
        self.draw.line(
            [self.px(x0), self.px(y0), self.px(x1), self.px(y1)],
            fill=fill,
            width=max(1, self.px(width)),
        )

    def paste(self, array: npt.NDArray[np.uint8], rect: Rect) -> None:
        x0, y0, x1, y1 = self.rect_px(rect)
        img = cv2.resize(array, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        self.image.paste(Image.fromarray(img), (x0, y0))

    def array(self) -> npt.NDArray[np.uint8]:
        return np.asarray(self.image, dtype=np.uint8)  # a copy of the pixels, read-only


def gradient_paper(
    canvas: Canvas,
    top: RGB,
    bottom: RGB,
    rng: np.random.Generator,
    lines: RGB | None = None,
    n_lines: int = 24,
) -> None:
    """Fill with a diagonal two-colour gradient and fine guilloche curves (security print)."""
    h, w = canvas.height, canvas.width
    canvas.image.paste(_gradient(top, bottom, w, h))
    if lines is None:
        return
    xs = np.linspace(0, w, 160)
    for k in range(n_lines):
        amp = h * rng.uniform(0.03, 0.09)
        freq = rng.uniform(1.5, 4.0) * 2 * np.pi / w
        phase, base = rng.uniform(0, 2 * np.pi), h * (k + 0.5) / n_lines
        ys = base + amp * np.sin(freq * xs + phase)
        canvas.draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=lines, width=1)


@functools.lru_cache(maxsize=32)
def _gradient(top: RGB, bottom: RGB, w: int, h: int) -> Image.Image:
    """The bilinear two-colour ramp of :func:`gradient_paper` (cached; pasted, never drawn on)."""
    a, b = np.array(top, np.float32), np.array(bottom, np.float32)
    corners = np.stack([[a, a * 0.65 + b * 0.35], [a * 0.35 + b * 0.65, b]])
    grad = cv2.resize(corners, (w, h), interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(np.clip(grad, 0, 255).astype(np.uint8))


def portrait(
    face: npt.NDArray[np.uint8], size: tuple[int, int], backdrop: RGB, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """An ID photo of ``size = (w, h)``: the face over a plain backdrop with dark shoulders."""
    w, h = size
    out = cv2.merge([np.full((h, w), c, np.uint8) for c in backdrop])
    suit = np.array(rng.choice([[40, 45, 60], [30, 30, 32], [70, 70, 80], [200, 200, 205]]))
    cv2.ellipse(
        out,
        (w // 2, int(h * 1.08)),
        (int(w * 0.62), int(h * 0.42)),
        0,
        0,
        360,
        suit.astype(float).tolist(),
        -1,
    )
    side = int(w * 0.86)
    fh, fw = face.shape[:2]
    scale = side / max(fh, fw)
    face_img = cv2.resize(
        face, (round(fw * scale), round(fh * scale)), interpolation=cv2.INTER_AREA
    )
    fh, fw = face_img.shape[:2]
    y0, x0 = int(h * 0.07), (w - fw) // 2
    mask = np.zeros((fh, fw), np.float32)
    cv2.ellipse(
        mask, (fw // 2, int(fh * 0.52)), (int(fw * 0.46), int(fh * 0.54)), 0, 0, 360, 1.0, -1
    )
    mask = cv2.GaussianBlur(mask, (0, 0), fw * 0.04)
    y1, x1 = min(h, y0 + fh), min(w, x0 + fw)
    region = out[y0:y1, max(0, x0) : x1]
    src = face_img[: y1 - y0, max(0, -x0) : max(0, -x0) + region.shape[1]]
    m = np.ascontiguousarray(mask[: y1 - y0, max(0, -x0) : max(0, -x0) + region.shape[1]])
    out[y0:y1, max(0, x0) : x1] = cv2.blendLinear(np.ascontiguousarray(src), region, m, 1 - m)
    return out


def qr_like(rng: np.random.Generator, modules: int = 29) -> npt.NDArray[np.uint8]:
    """A QR-looking module matrix (finder and timing patterns, random data), 255 = white."""
    grid = (rng.random((modules, modules)) < 0.5).astype(np.uint8)
    grid[6, :] = np.arange(modules) % 2 == 0
    grid[:, 6] = np.arange(modules) % 2 == 0
    finder = np.ones((9, 9), np.uint8) * 0
    finder[1:8, 1:8] = 1
    finder[2:7, 2:7] = 0
    finder[3:6, 3:6] = 1
    for r, c in ((0, 0), (0, modules - 8), (modules - 8, 0)):
        r0, c0 = max(r - 1, 0), max(c - 1, 0)
        patch = finder[1 if r == 0 else 0 :, 1 if c == 0 else 0 :]
        grid[r0 : r0 + patch.shape[0], c0 : c0 + patch.shape[1]] = patch[
            : modules - r0, : modules - c0
        ]
    quiet = np.zeros((modules + 8, modules + 8), np.uint8)
    quiet[4:-4, 4:-4] = grid
    return ((1 - quiet) * 255).astype(np.uint8)


def seal(canvas: Canvas, cx: float, cy: float, size: float, label: str, colour: RGB) -> None:
    """A square red official seal (公印) with up to four characters."""
    canvas.box(
        (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2), outline=colour, width=0.3
    )
    step = size / 2.4
    for i, ch in enumerate(label[:4]):
        col, row = 1 - i // 2, i % 2
        canvas.text(
            cx - size / 4 + col * size / 2,
            cy - size / 4 + row * size / 2 + step / 2.8,
            ch,
            step,
            colour,
            anchor="ms",
        )


def chip(canvas: Canvas, rect: Rect) -> None:
    """A gold contact chip with the usual contact pads."""
    canvas.box(rect, outline=(150, 120, 50), width=0.2, fill=(212, 180, 95), radius=1.2)
    x0, y0, x1, y1 = rect
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    for y in (y0 + (y1 - y0) / 3, y0 + 2 * (y1 - y0) / 3):
        canvas.line(x0, y, x1, y, (150, 120, 50), 0.2)
    canvas.line(mx, y0, mx, y1, (150, 120, 50), 0.2)
    canvas.box((mx - 1.6, my - 1.2, mx + 1.6, my + 1.2), outline=(150, 120, 50), width=0.2)
