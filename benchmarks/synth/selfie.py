"""The selfie side: live selfies, printed-photo and screen-replay faces, head-turn sequences.

Faces are 112x112 ArcFace-aligned crops (LFW in benchmarks, skimage's astronaut in tests),
so five landmarks are known exactly from the alignment template and are carried into every
frame as ground truth.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.synth import effects
from benchmarks.synth.attacks import photo_print, screen_carrier
from benchmarks.synth.backgrounds import background
from benchmarks.synth.compose import add_glare, place_surface
from benchmarks.synth.geometry import Camera, project, rect_corners_mm, tilt_deg, to_camera
from benchmarks.synth.ink import ink_print
from benchmarks.synth.poses import sample_pose

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ]
)
"""Landmarks (eyes, nose tip, mouth corners) of an aligned 112x112 face, pixel corner origin."""
SHIRTS = ((40, 50, 80), (200, 200, 205), (120, 30, 40), (30, 30, 30), (70, 110, 80))


def astronaut_face() -> U8:
    """skimage's public-domain astronaut, cropped and scaled like an aligned 112x112 face."""
    # Eyes on the ArcFace template; mouth ~10 px high.
    crop = _astronaut()[28:187, 145:304]
    out: U8 = cv2.resize(crop, (112, 112), interpolation=cv2.INTER_AREA)
    return out


def _astronaut() -> U8:
    """``skimage.data.astronaut()``'s pixels, read from the package's PNG directly: importing
    ``skimage.io`` costs each (spawned) worker about half a second."""
    spec = importlib.util.find_spec("skimage")
    locations = spec.submodule_search_locations if spec is not None else None
    if locations:
        png = Path(next(iter(locations))) / "data" / "astronaut.png"
        if png.is_file():
            with Image.open(png) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
    from skimage import data

    fetched: U8 = data.astronaut()  # type: ignore[no-untyped-call]
    return fetched


def _room(width: int, height: int, rng: np.random.Generator) -> U8:
    img, _ = background(str(rng.choice(["table", "paper", "fabric"])), width, height, rng)
    small = cv2.resize(img, (width // 8, height // 8), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)  # a wall behind the subject, out of focus
    out: U8 = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def turn_face(face: U8, yaw_deg: float) -> tuple[U8, F64]:
    """Re-render ``face`` turned by ``yaw_deg`` about a vertical cylinder; returns landmarks.

    Crude: the face is a texture on a cylinder of the crop's half width, so the nose does not
    stand out of the face and the ears never appear; hair colour fills what turns into view.
    """
    h, w = face.shape[:2]
    a, phi = w / 2.0, math.radians(yaw_deg)
    x = (np.arange(w, dtype=np.float32) + 0.5 - a) / a
    theta_out = np.arcsin(np.clip(x, -1, 1))
    theta_src = theta_out - phi
    visible = np.abs(theta_src) < math.pi / 2
    map_x = np.where(visible, a + a * np.sin(theta_src) - 0.5, -1).astype(np.float32)
    map_x = np.repeat(map_x[None], h, axis=0)
    map_y = np.repeat((np.arange(h, dtype=np.float32))[:, None], w, axis=1)
    hair = face[: h // 8].reshape(-1, 3).mean(axis=0)
    out = cv2.remap(
        face,
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=hair.tolist(),
    )
    shade = (0.75 + 0.25 * np.cos(theta_out))[None, :, None]
    turned: U8 = np.clip(out * shade, 0, 255).astype(np.uint8)
    lm = ARCFACE_112.copy()
    th = np.arcsin(np.clip((lm[:, 0] - a) / a, -1, 1)) + phi
    lm[:, 0] = a + a * np.sin(th)
    return turned, lm


def compose_selfie(
    face: U8,
    width: int,
    height: int,
    rng: np.random.Generator,
    landmarks: F64 = ARCFACE_112,
    skin_from: U8 | None = None,
) -> tuple[U8, dict[str, object]]:
    """A portrait phone frame: blurred room, shoulders, the face upscaled into place.

    The neck takes its colour from ``skin_from`` (a face image; default ``face``) just below the
    mouth: a recording passes its neutral face, so an opened mouth does not darken it. A
    ``face`` with more rows than columns is a square face whose chin went below it (an opened
    mouth, ``benchmarks.synth.face_rig.jaw_rows``): the face's oval is stretched down by the
    extra rows, over the neck.
    """
    frame = _room(width, height, rng)
    fw = int(width * rng.uniform(0.45, 0.7))
    cx, top = width / 2 + rng.uniform(-0.08, 0.08) * width, height * rng.uniform(0.18, 0.3)
    shirt = SHIRTS[int(rng.integers(0, len(SHIRTS)))]
    cv2.ellipse(
        frame,
        (round(cx), round(top + fw * 2.05)),
        (round(fw * 1.15), round(fw * 0.95)),
        0,
        0,
        360,
        shirt,
        -1,
        cv2.LINE_AA,
    )
    ref = face if skin_from is None else skin_from
    skin = ref[int(ref.shape[0] * 0.8), ref.shape[1] // 2].astype(float) * 0.8
    neck = np.array(
        [
            [cx - fw * 0.2, top + fw * 0.8],
            [cx + fw * 0.2, top + fw * 0.8],
            [cx + fw * 0.26, top + fw * 1.18],
            [cx - fw * 0.26, top + fw * 1.18],
        ]
    )
    cv2.fillConvexPoly(frame, np.round(neck).astype(np.int32), skin.tolist(), cv2.LINE_AA)
    extra = face.shape[0] - face.shape[1]  # rows of a chin below the square crop
    fh = fw + round(extra * fw / face.shape[1]) if extra > 0 else fw
    big = cv2.resize(face, (fw, fh), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((fh, fw), np.float32)
    cv2.ellipse(
        mask, (fw // 2, int(fw * 0.5)), (int(fw * 0.44), int(fw * 0.52)), 0, 0, 360, 1.0, -1
    )
    if fh > fw:  # the oval's lower half stretched down over the chin's rows
        cv2.ellipse(mask, (fw // 2, int(fw * 0.5)), (int(fw * 0.44), int(fw * 0.52) + fh - fw),
                    0, 0, 180, 1.0, -1)  # fmt: skip
    # a wide, smooth feather: blurred at half resolution (within 2 % of the full-size blur)
    half = cv2.resize(mask, (fw // 2, fh // 2), interpolation=cv2.INTER_AREA)
    half = cv2.GaussianBlur(half, (0, 0), fw * 0.015)
    mask = cv2.resize(half, (fw, fh), interpolation=cv2.INTER_LINEAR)
    x0, y0 = round(cx - fw / 2), round(top)
    x1, y1 = min(width, x0 + fw), min(height, y0 + fh)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    roi = frame[max(0, y0) : y1, max(0, x0) : x1]
    m = mask[sy0 : sy0 + roi.shape[0], sx0 : sx0 + roi.shape[1]]
    src = big[sy0 : sy0 + roi.shape[0], sx0 : sx0 + roi.shape[1]]
    roi[:] = cv2.blendLinear(src, roi, m, 1 - m)
    scale = fw / 112.0
    lm = landmarks * scale + [x0, y0]
    info = {
        "face_box": [x0, y0, x0 + fw, y0 + fw],
        "landmarks": np.round(lm, 3).tolist(),
        "face_upscale": round(scale, 3),
    }
    return frame, info


def _finish(frame: U8, rng: np.random.Generator, noise: float, defocus: float) -> U8:
    light, _, _ = effects.illumination(
        frame.shape[1], frame.shape[0], rng, rng.uniform(0, 0.25), rng.uniform(0, 0.3), [], 0.0
    )
    effects.apply_light(frame, light)
    frame = effects.blur(frame, defocus, 0.0, 0.0)
    return effects.sensor_noise(frame, noise, rng)


def _selfie_camera(size: tuple[int, int], rng: np.random.Generator) -> Camera:
    w, h = min(size), max(size)  # selfies are portrait frames
    return Camera(w, h, float(rng.uniform(62.0, 78.0)))


def render_selfie(
    face: U8, size: tuple[int, int], rng: np.random.Generator
) -> tuple[U8, dict[str, object]]:
    """A live selfie of ``face`` (another image of the card holder, upscaled)."""
    cam = _selfie_camera(size, rng)
    frame, info = compose_selfie(face, cam.width, cam.height, rng)
    noise, defocus = float(rng.uniform(1.0, 5.0)), float(rng.uniform(0.0, 1.2))
    frame = _finish(frame, rng, noise, defocus)
    info.update(
        attack=None,
        liveness="live",
        camera=asdict(cam),
        focal_px=round(cam.focal_px, 4),
        focal_35mm=round(cam.focal_35mm, 3),
        noise_sigma=noise,
        defocus_sigma_px=defocus,
    )
    return frame, info


def render_face_attack(
    kind: str, face: U8, size: tuple[int, int], rng: np.random.Generator
) -> tuple[U8, dict[str, object]]:
    """``print_face`` (photo print held up), ``print_ink`` (the same, printed as ink on paper:
    ``benchmarks.synth.ink``) or ``replay_face`` (shown on a screen)."""
    cam = _selfie_camera(size, rng)
    content, info = compose_selfie(face, 600, 800, rng)
    natural = (60.0, 80.0)
    if kind == "print_face":
        atk = photo_print(content, natural, rng)
    elif kind == "print_ink":
        atk = ink_print(content, natural, rng)
    elif kind == "replay_face":
        atk = screen_carrier(content, None, natural, rng)
    else:
        raise ValueError(f"unknown face attack {kind!r}")
    doc_w = atk.doc_rect_mm[2] - atk.doc_rect_mm[0]
    doc_h = atk.doc_rect_mm[3] - atk.doc_rect_mm[1]
    pose = sample_pose(rng, cam, (doc_w, doc_h), (0.0, 25.0))
    frame = _room(cam.width, cam.height, rng)
    placed = place_surface(frame, atk.surface, pose, cam)
    corners = project(to_camera(rect_corners_mm(atk.doc_rect_mm), pose), cam).astype(np.float32)
    if placed is not None and rng.random() < 0.6:
        add_glare(frame, placed, corners, 1, rng.uniform(0.3, 0.8) * atk.surface.gloss, rng)
    if rng.random() < 0.6:
        poly, _ = effects.finger_polygons(atk.surface.rect_mm, pose, cam, rng)
        effects.draw_finger(frame, poly, rng)
    noise, defocus = float(rng.uniform(1.0, 5.0)), float(rng.uniform(0.0, 1.2))
    frame = _finish(frame, rng, noise, defocus)
    # landmarks of the face as displayed: content pixels -> document mm -> image
    lm = np.asarray(info["landmarks"], np.float64)
    x0, y0, x1, y1 = atk.doc_rect_mm
    mm = np.stack(
        [x0 + lm[:, 0] / 600 * (x1 - x0), y0 + lm[:, 1] / 800 * (y1 - y0), np.zeros(len(lm))], 1
    )
    out = {
        "attack": kind,
        "liveness": "spoof",
        "carrier": atk.params,
        "pose": asdict(pose),
        "tilt_deg": round(tilt_deg(pose), 4),
        "camera": asdict(cam),
        "focal_px": round(cam.focal_px, 4),
        "focal_35mm": round(cam.focal_35mm, 3),
        "display_corners": np.round(corners, 3).tolist(),
        "landmarks": np.round(project(to_camera(mm, pose), cam), 3).tolist(),
        "noise_sigma": noise,
        "defocus_sigma_px": defocus,
    }
    return frame, out


def head_turn(
    face: U8, size: tuple[int, int], rng: np.random.Generator, n_frames: int = 8
) -> list[tuple[U8, dict[str, object]]]:
    """A live head turning left or right from frontal to 30-45 deg and back, frame by frame."""
    cam = _selfie_camera(size, rng)
    direction = "left" if rng.random() < 0.5 else "right"
    peak = rng.uniform(30.0, 45.0) * (1 if direction == "right" else -1)
    state = rng.bit_generator.state
    frames = []
    for k in range(n_frames):
        yaw = float(peak * math.sin(math.pi * k / max(1, n_frames - 1)))
        turned, lm = turn_face(face, yaw)
        rng.bit_generator.state = state  # same room and framing in every frame
        frame, info = compose_selfie(turned, cam.width, cam.height, rng, landmarks=lm)
        frame = effects.sensor_noise(frame, 2.0, np.random.default_rng([k, 5]))
        info.update(
            attack=None,
            liveness="live",
            yaw_deg=round(yaw, 3),
            direction=direction,
            frame_index=k,
            n_frames=n_frames,
            camera=asdict(cam),
            focal_px=round(cam.focal_px, 4),
            focal_35mm=round(cam.focal_35mm, 3),
        )
        frames.append((frame, info))
    return frames
