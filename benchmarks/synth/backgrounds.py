"""Backgrounds behind the card: procedural textures, or crops of real photos when data is given.

Textures are generated once per ``(kind, variant, size)`` from a fixed seed and cached, so a
scene depends only on its own seed, never on what was rendered before it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
PROCEDURAL = ("wood", "fabric", "paper", "desk", "table")
N_VARIANTS = 4
_MARGIN = 1.2  # textures are larger than the frame so each scene can crop its own window


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> F32:
    """Value noise in [-1, 1] with about ``cells`` blobs across the width."""
    small = rng.uniform(-1, 1, (max(2, cells * h // w + 1), cells + 1)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _grid(h: int, w: int) -> tuple[F32, F32]:
    """Row and column coordinates, (h, w) float32 each."""
    yy = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    xx = np.repeat(np.arange(w, dtype=np.float32)[None, :], h, axis=0)
    return yy, xx


def _tint(shade: F32, rgb: F32) -> F32:
    """``shade[..., None] * rgb`` (float32), one channel at a time."""
    out: F32 = cv2.merge([shade * rgb[0], shade * rgb[1], shade * rgb[2]])
    return out


def _wood(rng: np.random.Generator, h: int, w: int) -> F32:
    base = np.array(rng.choice([[150, 105, 70], [185, 140, 95], [110, 75, 50], [205, 170, 125]]))
    yy, xx = _grid(h, w)
    warp = _smooth_noise(rng, h, w, 5) * 25 + _smooth_noise(rng, h, w, 40) * 2
    grain = np.sin((yy + warp) * rng.uniform(0.08, 0.2) + xx * 0.002) * 0.5 + 0.5
    fine = _smooth_noise(rng, h, w, w // 3) * 0.06
    shade = 0.82 + 0.18 * grain**3 + fine
    plank = max(80, int(h / rng.uniform(2, 5)))
    shade[(np.arange(h) % plank) < 2] *= 0.55
    return _tint(shade, base.astype(np.float32))


def _fabric(rng: np.random.Generator, h: int, w: int) -> F32:
    base = np.array(rng.uniform(40, 220, 3), np.float32)
    yy, xx = _grid(h, w)
    period = rng.uniform(2.5, 5.0)
    weave = np.sin(xx * 2 * np.pi / period) * np.sin(yy * 2 * np.pi / period)
    folds = _smooth_noise(rng, h, w, 4) * 0.18
    shade = 0.9 + 0.06 * weave + folds + _smooth_noise(rng, h, w, w // 2) * 0.04
    return _tint(shade, base)


def _paper(rng: np.random.Generator, h: int, w: int) -> F32:
    tone = np.array([rng.uniform(225, 250)] * 3, np.float32) * np.array(
        [1.0, 0.99, 0.96], np.float32
    )
    shade = 0.97 + _smooth_noise(rng, h, w, 3) * 0.03 + _smooth_noise(rng, h, w, w // 4) * 0.015
    img = _tint(shade, tone)
    for _ in range(int(rng.integers(0, 40))):  # printed lines of text on documents underneath
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.line(img, (x, y), (x + int(rng.integers(40, 300)), y), (90, 90, 90), 2)
    return img


def _table(rng: np.random.Generator, h: int, w: int) -> F32:
    tone = np.array(rng.uniform(200, 245, 3), np.float32)
    tone = tone.mean() * 0.8 + tone * 0.2
    return _tint(0.95 + _smooth_noise(rng, h, w, 2) * 0.05, tone)


def _desk(rng: np.random.Generator, h: int, w: int) -> F32:
    img = _wood(rng, h, w) if rng.random() < 0.5 else _table(rng, h, w)
    for _ in range(int(rng.integers(3, 9))):
        colour = rng.uniform(20, 240, 3).tolist()
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(h // 10, h // 2))
        shadow = (cx + size // 12, cy + size // 12)
        shape = rng.integers(0, 3)
        if shape == 0:  # notebook or phone
            box = (
                (float(cx), float(cy)),
                (float(size), float(size) * rng.uniform(0.4, 1.4)),
                float(rng.uniform(0, 180)),
            )
            for pts, col in (
                (cv2.boxPoints(((shadow[0], shadow[1]), box[1], box[2])), (40, 40, 40)),
                (cv2.boxPoints(box), colour),
            ):
                cv2.fillConvexPoly(img, pts.astype(np.int32), col, cv2.LINE_AA)
        elif shape == 1:  # mug seen from above
            cv2.circle(img, shadow, size // 3, (40, 40, 40), -1, cv2.LINE_AA)
            cv2.circle(img, (cx, cy), size // 3, colour, -1, cv2.LINE_AA)
            cv2.circle(img, (cx, cy), size // 4, [c * 0.4 for c in colour], -1, cv2.LINE_AA)
        else:  # pen
            end = (cx + int(rng.integers(-size, size)), cy + int(rng.integers(-size, size)))
            cv2.line(img, (cx, cy), end, colour, max(3, h // 90), cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.2)


_MAKERS = {"wood": _wood, "fabric": _fabric, "paper": _paper, "desk": _desk, "table": _table}


@functools.lru_cache(maxsize=64)
def procedural(kind: str, variant: int, width: int, height: int) -> U8:
    """A ``(H*1.2, W*1.2, 3)`` uint8 texture of ``kind``, fixed for ``(kind, variant, size)``."""
    if kind not in _MAKERS:
        raise ValueError(f"unknown background kind {kind!r}; expected one of {PROCEDURAL}")
    rng = np.random.default_rng([PROCEDURAL.index(kind), variant, 1234])
    h, w = int(height * _MARGIN), int(width * _MARGIN)
    img = _MAKERS[kind](rng, h // 2, w // 2)
    img += 0.5
    half = np.clip(img, 0, 255, out=img).astype(np.uint8)
    tex: U8 = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)  # made at 1/2 for speed
    tex.setflags(write=False)
    return tex


def photo_files(data_dir: Path) -> tuple[Path, ...]:
    """Frames usable as real-photo backgrounds under ``data_dir`` (SmartDoc-15, NUAA live)."""
    smartdoc = sorted((data_dir / "smartdoc15_ch1_frames" / "frames").rglob("*.jpeg"))
    nuaa = sorted((data_dir / "nuaa_imposter_raw" / "ClientRaw").rglob("*.jpg"))[::25]
    return tuple(smartdoc + nuaa)


@functools.lru_cache(maxsize=48)
def _load_photo(path: Path) -> npt.NDArray[np.uint8]:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode background photo {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def photo_patch(path: Path, width: int, height: int, rng: np.random.Generator) -> U8:
    """A random crop of a real photo with the frame's aspect, resized to ``width x height``."""
    img = _load_photo(path)
    ih, iw = img.shape[:2]
    scale = rng.uniform(0.5, 1.0)
    ch = min(ih, int(iw * height / width))
    cw = int(ch * width / height)
    ch, cw = max(8, int(ch * scale)), max(8, int(cw * scale))
    y0, x0 = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    crop = img[y0 : y0 + ch, x0 : x0 + cw]
    out: U8 = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    return out


def background(
    kind: str, width: int, height: int, rng: np.random.Generator, photos: tuple[Path, ...] = ()
) -> tuple[U8, dict[str, object]]:
    """A fresh, writable background and the parameters that made it (colour gain is applied
    later, folded into the light map)."""
    if kind == "photo" and photos:
        path = photos[int(rng.integers(0, len(photos)))]
        img = photo_patch(path, width, height, rng)
        params: dict[str, object] = {"kind": "photo", "source": path.name}
    else:
        kind = kind if kind in _MAKERS else str(rng.choice(PROCEDURAL))
        variant = int(rng.integers(0, N_VARIANTS))
        tex = procedural(kind, variant, width, height)
        y0 = int(rng.integers(0, tex.shape[0] - height + 1))
        x0 = int(rng.integers(0, tex.shape[1] - width + 1))
        img = tex[y0 : y0 + height, x0 : x0 + width].copy()
        params = {"kind": kind, "variant": variant, "crop_xy": [x0, y0]}
    return img, params
