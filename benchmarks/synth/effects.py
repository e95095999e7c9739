"""Camera and lighting effects: illumination and shadows, fingers, blur, sensor noise."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.geometry import Camera, Pose, project, to_camera

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
LIGHT_SCALE = 128.0  # light maps are uint8 with 1.0 == 128, applied by cv2.multiply
_LOWRES = 8  # illumination is smooth: compute it at 1/8 resolution, upsample once
SKIN_TONES = ((224, 172, 140), (198, 145, 110), (240, 200, 170), (160, 110, 80), (120, 82, 60))


def illumination(
    width: int,
    height: int,
    rng: np.random.Generator,
    gradient: float,
    vignette: float,
    shadow_polys: list[npt.NDArray[np.float64]],
    shadow_strength: float,
    gain_rgb: F32 | None = None,
) -> tuple[U8, U8 | None, dict[str, object]]:
    """Multiplicative uint8 maps (1.0 == :data:`LIGHT_SCALE`): light (gradient, vignetting,
    white balance) and a soft cast shadow, or None."""
    w, h = max(2, width // _LOWRES), max(2, height // _LOWRES)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((xx / w - 0.5) * np.cos(ang) + (yy / h - 0.5) * np.sin(ang)).astype(np.float32)
    light = 1.0 + gradient * ramp * 2
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    light *= 1.0 - vignette * r2
    params: dict[str, object] = {
        "gradient": gradient,
        "gradient_angle_rad": float(ang),
        "vignette": vignette,
        "shadow_strength": shadow_strength,
    }
    light3 = light[..., None] * (np.ones(3, np.float32) if gain_rgb is None else gain_rgb)
    light_u8 = np.clip(light3 * LIGHT_SCALE + 0.5, 0, 255).astype(np.uint8)
    full = cv2.resize(light_u8, (width, height), interpolation=cv2.INTER_LINEAR)
    if not shadow_polys or shadow_strength <= 0:
        return full, None, params
    mask = np.zeros((h, w), np.float32)
    for poly in shadow_polys:
        pts = np.round(poly / _LOWRES * 16).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1.0, cv2.LINE_AA, 4)
    blur_lowres = float(rng.uniform(1.0, 3.0))
    mask = cv2.GaussianBlur(mask, (0, 0), blur_lowres)
    params["shadow_blur_px"] = blur_lowres * _LOWRES
    cast3 = np.repeat((1.0 - shadow_strength * mask)[..., None], 3, axis=2) * LIGHT_SCALE
    cast = cv2.resize(cast3.astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    return full, cast, params


def finger_polygons(
    rect_mm: tuple[float, float, float, float], pose: Pose, camera: Camera, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], dict[str, float]]:
    """A thumb over one edge of the card: a capsule in the card plane, projected (N, 2)."""
    x0, y0, x1, y1 = rect_mm
    edge = int(rng.integers(0, 4))  # 0 top, 1 right, 2 bottom, 3 left
    t = rng.uniform(0.15, 0.85)
    width = rng.uniform(15.0, 20.0)
    overlap = rng.uniform(4.0, 12.0)
    length = 70.0
    tilt = rng.uniform(-0.5, 0.5)
    base = {
        0: (x0 + t * (x1 - x0), y0),
        1: (x1, y0 + t * (y1 - y0)),
        2: (x0 + t * (x1 - x0), y1),
        3: (x0, y0 + t * (y1 - y0)),
    }[edge]
    inward = {0: (0.0, 1.0), 1: (-1.0, 0.0), 2: (0.0, -1.0), 3: (1.0, 0.0)}[edge]
    c, s = np.cos(tilt), np.sin(tilt)
    d = np.array([inward[0] * c - inward[1] * s, inward[0] * s + inward[1] * c])
    n = np.array([-d[1], d[0]])
    tip = np.array(base) + d * overlap
    arc = np.linspace(-np.pi / 2, np.pi / 2, 9)
    cap = (
        tip[None]
        - d[None] * (width / 2)
        + (np.cos(arc)[:, None] * d + np.sin(arc)[:, None] * n) * (width / 2)
    )
    back = tip - d * length
    pts2 = np.vstack([back + n * width / 2 * 1.1, cap[::-1], back - n * width / 2 * 1.1])
    pts3 = np.hstack([pts2, np.full((len(pts2), 1), -6.0)])  # the thumb rests ~6 mm above the face
    cam = to_camera(pts3, pose)
    cam[:, 2] = np.maximum(cam[:, 2], 1.0)
    info = {
        "edge": float(edge),
        "position": float(t),
        "width_mm": float(width),
        "overlap_mm": float(overlap),
    }
    return project(cam, camera), info


def apply_light(frame: U8, light: U8) -> None:
    """``frame *= light / LIGHT_SCALE`` in place, saturating."""
    cv2.multiply(frame, light, dst=frame, scale=1 / LIGHT_SCALE)


def draw_finger(
    frame: U8, polygon: npt.NDArray[np.float64], rng: np.random.Generator
) -> tuple[int, int, F32]:
    """Paint a shaded skin-coloured thumb with a nail; returns its coverage ``(x0, y0, mask)``."""
    h, w = frame.shape[:2]
    tone = np.array(SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))], np.float32)
    tone *= rng.uniform(0.85, 1.1)
    x0, y0 = max(0, int(polygon[:, 0].min()) - 20), max(0, int(polygon[:, 1].min()) - 20)
    x1, y1 = min(w, int(polygon[:, 0].max()) + 20), min(h, int(polygon[:, 1].max()) + 20)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, np.zeros((0, 0), np.float32)
    roi = frame[y0:y1, x0:x1]
    pts = np.round((polygon - [x0 + 0.5, y0 + 0.5]) * 16).astype(np.int32)
    mask = np.zeros(roi.shape[:2], np.float32)
    cv2.fillPoly(mask, [pts], 1.0, cv2.LINE_AA, 4)
    shadow = cv2.GaussianBlur(np.roll(mask, (6, 4), axis=(0, 1)), (0, 0), 5)
    dark = 1 - 0.45 * shadow * (1 - mask)
    dist = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    rim = np.clip(dist / max(1.0, float(dist.max()) * 0.7), 0, 1)
    shade = 0.6 + 0.4 * np.sqrt(rim)
    lum = shade * (1 + 0.03 * rng.standard_normal(mask.shape, np.float32))  # skin texture
    tip = polygon[len(polygon) // 2]  # the middle of the rounded cap
    axis = tip - polygon[[0, -1]].mean(axis=0)
    axis /= max(1e-6, float(np.linalg.norm(axis)))
    width = float(np.linalg.norm(polygon[0] - polygon[-1]))
    centre = tip - axis * width * 0.42 - [x0 + 0.5, y0 + 0.5]
    nail = np.zeros_like(mask)
    cv2.ellipse(
        nail,
        (round(centre[0]), round(centre[1])),
        (max(1, round(width * 0.3)), max(1, round(width * 0.24))),
        float(np.degrees(np.arctan2(axis[1], axis[0]))),
        0,
        360,
        1.0,
        -1,
        cv2.LINE_AA,
    )
    nail = cv2.GaussianBlur(nail * mask, (0, 0), 1.2)
    soft = cv2.GaussianBlur(mask, (0, 0), 0.8)
    # out = roi * dark * (1 - soft) + skin * soft, where skin = tone * lum away from the nail;
    # per-pixel factors are single-channel, the colour enters once.
    keep = dark * (1 - soft)
    out = cv2.multiply(roi, cv2.merge([keep, keep, keep]), dtype=cv2.CV_32F)
    paint = lum * soft
    out += cv2.merge([paint * float(tone[0]), paint * float(tone[1]), paint * float(tone[2])])
    ys, xs = np.nonzero(nail > 1e-4)
    if len(ys):  # skin * (1 - 0.6 nail) + nail colour * shade * 0.6 nail, in the nail's box
        sl = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        n6 = 0.6 * nail[sl] * soft[sl]
        nail_rgb = np.array([245, 215, 205], np.float32)
        out[sl] += n6[..., None] * (nail_rgb * shade[sl][..., None] - tone * lum[sl][..., None])
    roi[:] = np.clip(out, 0, 255).astype(np.uint8)
    return x0, y0, soft


def blur(frame: U8, defocus_sigma: float, motion_px: float, motion_angle_deg: float) -> U8:
    """Gaussian defocus then linear motion blur (both skipped when zero)."""
    if defocus_sigma > 0.05:
        frame = cv2.GaussianBlur(frame, (0, 0), defocus_sigma)
    if motion_px >= 1.0:
        k = int(np.ceil(motion_px)) | 1
        kernel = np.zeros((k, k), np.float32)
        c = k // 2
        dx, dy = np.cos(np.radians(motion_angle_deg)), np.sin(np.radians(motion_angle_deg))
        cv2.line(
            kernel,
            (round(c - dx * c), round(c - dy * c)),
            (round(c + dx * c), round(c + dy * c)),
            1.0,
            1,
        )
        frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
    return frame


_NOISE_REF_SIGMA = 8.0
_NOISE_PAD = 64


@functools.cache
def _noise_tile(height: int, width: int) -> U8:
    """Fixed (seeded) correlated noise at sigma 8, full size, stored as ``128 + noise`` (uint8).

    Drawn at half resolution and upsampled, like demosaiced sensor noise, mostly luminance.
    """
    rng = np.random.default_rng(20240611)
    hh, hw = (height + 1) // 2, (width + 1) // 2
    noise = rng.standard_normal((hh, hw, 3), dtype=np.float32) * (1.4 * _NOISE_REF_SIGMA)
    noise[..., 1:] = noise[..., 1:] * 0.5 + noise[..., :1] * 0.5
    full = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    tile = np.clip(np.rint(full) + 128, 0, 255).astype(np.uint8)
    tile.setflags(write=False)
    return tile


def sensor_noise(frame: U8, sigma: float, rng: np.random.Generator) -> U8:
    """Add correlated sensor noise of about ``sigma`` grey levels (a random window of a tile)."""
    if sigma <= 0:
        return frame
    h, w = frame.shape[:2]
    tile = _noise_tile(h + _NOISE_PAD, w + _NOISE_PAD)
    oy, ox = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
    k = sigma / _NOISE_REF_SIGMA
    # frame + k * (tile - 128) in one saturating pass
    cv2.addWeighted(frame, 1.0, tile[oy : oy + h, ox : ox + w], k, -128.0 * k, dst=frame)
    return frame
