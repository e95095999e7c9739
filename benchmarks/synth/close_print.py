"""A printed selfie held close to the camera: the face at selfie size, the print's edges
mostly out of frame (the print attack a capture app's face guide leaves an attacker).

Why: ``selfie.render_face_attack("print_face", ...)`` holds a 60 x 80 mm print at arm's
length, so its face spans 0.15-0.30 of the frame's width (live selfies 0.29-0.51) and the
whole print, border and all, is in view: a passive check can learn "a small face inside a
rectangle". Here the same selfie composition gets the same ink model (washed-out colours,
no paper white nor screen black) plus paper fibre and sometimes a glossy highlight, and is
warped to fill the frame (scale 1.0-1.3, rotation up to 8 deg, corners jittered 6 %), so
only a sliver of the room shows at a corner, if any.

Crude, like the other synthetic faces: no halftone or inkjet dot pattern, no bent paper;
the face is the same upscaled 112 px LFW crop as a live synthetic selfie's, so its texture
tells nothing. Only the benchmark uses it (``benchmarks.liveness``): the PAD model never
trains on it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import selfie

U8 = npt.NDArray[np.uint8]


def render_close_print(
    face: U8, size: tuple[int, int], rng: np.random.Generator
) -> tuple[U8, dict[str, object]]:
    """A ``size`` (width, height) frame of ``face``'s printed selfie held close."""
    width, height = size
    content, _ = selfie.compose_selfie(face, width, height, rng)
    img = content.astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    saturation, contrast = float(rng.uniform(0.7, 1.0)), float(rng.uniform(0.8, 0.92))
    img = 20 + (grey + (img - grey) * saturation) * contrast  # attacks.photo_print's ink
    fibre_sigma = float(rng.uniform(2.0, 5.0))
    fibre = rng.normal(0, fibre_sigma, (height, width)).astype(np.float32)
    img += cv2.GaussianBlur(fibre, (0, 0), 0.8)[..., None]
    printed = np.clip(img, 0, 255).astype(np.uint8)
    scale, angle = float(rng.uniform(1.0, 1.3)), float(np.deg2rad(rng.uniform(-8.0, 8.0)))
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    centre = np.array([width / 2, height / 2])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * [width, height]
    dst = (src - centre) @ rot.T * scale + centre + jitter
    warp = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    frame = selfie._room(width, height, rng)
    cv2.warpPerspective(printed, warp, (width, height), dst=frame,
                        borderMode=cv2.BORDER_TRANSPARENT)  # fmt: skip
    gloss = bool(rng.random() < 0.5)
    if gloss:
        yy, xx = np.mgrid[:height, :width].astype(np.float32)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius, strength = float(rng.uniform(40, 160)), float(rng.uniform(30, 90))
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * strength
        frame = np.clip(frame + blob[..., None], 0, 255).astype(np.uint8)
    noise, defocus = float(rng.uniform(1.0, 5.0)), float(rng.uniform(0.0, 1.2))
    frame = selfie._finish(np.ascontiguousarray(frame), rng, noise, defocus)
    info: dict[str, object] = {
        "attack": "print_close",
        "liveness": "spoof",
        "scale": round(scale, 4),
        "saturation": round(saturation, 4),
        "contrast": round(contrast, 4),
        "fibre_sigma": round(fibre_sigma, 4),
        "gloss": gloss,
        "print_corners": np.round(dst, 3).tolist(),
        "noise_sigma": noise,
        "defocus_sigma_px": defocus,
    }
    return frame, info
