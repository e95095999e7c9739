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

How hard it is, measured (session 19, PAD @4 at 0.61; the same composition and camera
finish rendered live and with each part of the print, 40 LFW ``[1::3]`` faces, seeds
76600+ / held-out 77100+): live 38 / 38 of 40 accepted, the ink tone alone 37 / 32, the
fibre alone 39 / 38, held close alone (resampling, tilt, a corner of the room) 39 / 38,
all three 30 / 28. The fibre, 0.7-1.8 grey levels after its blur, sits under the camera's
1-5 and the JPEG; the tone (black at 20, contrast 0.8-0.92, saturation 0.7-1.0: a glossy
photo print's range) stays inside the live scenes' own spread. So this is a continuous-tone
print whose only cue is its tone: harder than a real inkjet or laser print (dots, paper
white: ``render_ink_print``, whose 28 close-held prints of the bench's 40 @4 rejects, the
highest P(live) 0.124), and a live synthetic selfie is itself a recaptured photo (the same
upscaled crop), so no texture can part the two here.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import ink, selfie

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
    frame, _, dst = _held_close(printed, size, scale, angle, rng)
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


def _held_close(sheet: U8, size: tuple[int, int], scale: float, angle: float,
                rng: np.random.Generator) -> tuple[U8, npt.NDArray[np.float64],
                                                   npt.NDArray[np.float64]]:  # fmt: skip
    """``sheet`` held close over a room: it fills the ``size`` frame, scaled by ``scale``,
    turned by ``angle`` and its corners jittered 6 %; the frame, the warp and where the
    sheet's corners landed."""
    width, height = size
    th, tw = sheet.shape[:2]
    src = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], np.float64)
    frame_rect = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    centre = np.array([width / 2, height / 2])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * [width, height]
    dst = (frame_rect - centre) @ rot.T * scale + centre + jitter
    warp = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    frame = selfie._room(width, height, rng)
    cv2.warpPerspective(sheet, warp, (width, height), dst=frame, flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_TRANSPARENT)  # fmt: skip
    return frame, np.asarray(warp, np.float64), dst


CLOSE_SHARE = 0.6
"""Share of ``render_ink_print``'s prints held close (the rest at arm's length)."""
PRINT_WIDTHS_MM = (89.0, 102.0, 127.0)
"""Photo print widths: L (89 x 127 mm), KG (4 x 6 in), 2L (127 x 178 mm)."""


def render_ink_print(
    face: U8, size: tuple[int, int], rng: np.random.Generator
) -> tuple[U8, dict[str, object]]:
    """A print attack made of ink on paper (``benchmarks.synth.ink``), held close to the
    camera (``CLOSE_SHARE``: framed like ``render_close_print``, so the face is at selfie size
    and its surroundings run past the frame as a live selfie's do) or at arm's length
    (``selfie.render_face_attack("print_ink")``: the whole sheet in view).

    Why both: a print differs from a live face by its ink and paper, not by how far it is
    held; the arm's-length prints alone taught the PAD model that a face whose surroundings
    leave the frame is live.
    """
    if rng.random() >= CLOSE_SHARE:
        frame, info = selfie.render_face_attack("print_ink", face, size, rng)
        return frame, {**info, "held": "arm's length"}
    width, height = size
    content, composed = selfie.compose_selfie(face, width, height, rng)
    medium = ink.sample_medium(rng)
    print_w = float(rng.choice(PRINT_WIDTHS_MM))
    print_h = print_w * height / width
    scale, angle = float(rng.uniform(1.0, 1.3)), float(np.deg2rad(rng.uniform(-8.0, 8.0)))
    # the camera's pixels per mm of paper, sampled 1.5x finer: the warp then only resamples
    out_ppm = 1.5 * width * scale / print_w
    tex = ink.ink_texture(content, (print_w, print_h), out_ppm, medium, rng)
    th, tw = tex.shape[:2]
    frame, warp, dst = _held_close(tex, size, scale, angle, rng)
    sheen = bool(rng.random() < medium.gloss)
    if sheen:  # a light's reflection on the paper: glossy prints mirror it, matte ones spread it
        yy, xx = np.mgrid[:height, :width].astype(np.float32)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = float(rng.uniform(40, 160) / max(medium.gloss, 0.3))
        strength = float(rng.uniform(30, 90) * medium.gloss)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * strength
        frame = np.clip(frame + blob[..., None], 0, 255).astype(np.uint8)
    noise, defocus = float(rng.uniform(1.0, 5.0)), float(rng.uniform(0.0, 1.2))
    frame = selfie._finish(np.ascontiguousarray(frame), rng, noise, defocus)
    lm = np.asarray(composed["landmarks"], np.float64) * [tw / width, th / height]
    seen = cv2.perspectiveTransform(lm[None].astype(np.float64), warp)[0]
    info: dict[str, object] = {
        "attack": "print_ink",
        "liveness": "spoof",
        "held": "close",
        "carrier": {**medium.params(), "print_mm": [round(print_w, 1), round(print_h, 1)]},
        "scale": round(scale, 4),
        "sheen": sheen,
        "print_corners": np.round(dst, 3).tolist(),
        "landmarks": np.round(seen, 3).tolist(),
        "noise_sigma": noise,
        "defocus_sigma_px": defocus,
    }
    return frame, info
