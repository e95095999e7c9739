"""Synthetic active-liveness recordings: a face performing a sequence of challenge actions.

The face photo is moved by ``benchmarks.synth.face_rig``: FaceMesh's 3-D points of the
aligned face drive a piecewise-affine mesh warp. Turns and looking up are 3-D rotations
(nominal 28 and 20 degrees, each performance 0.8-1.15 of that), a blink lowers the upper
lids, an open mouth drops the jaw (the chin below the photo's crop, over the neck) and
shows the mouth's inside. Timing is realistic (15 fps, ~0.6 s per action). What it cannot
show: the far cheek and ear beyond what the photo saw (stretched), moving eyeballs, teeth
the photo did not show, a chin the crop cut off; see face_rig. Where FaceMesh falls short
on these renders: a mouth already wide open in the photo (FaceMesh >= ~0.5) opened to a
gap near its width is read collapsing (a large dark opening), and lids lowered on a face
bowed or turned 20+ degrees may read above ``ActiveConfig.blink_ratio``.

A face FaceMesh cannot read falls back to the flat texture (``flat_pose_face``): turns on a
vertical cylinder, looking up on a horizontal one, painted lids and mouth; FaceMesh reads
those turns at ~1/3 of their nominal angle.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import effects, face_rig
from benchmarks.synth.selfie import ARCFACE_112, compose_selfie, turn_face

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
ACTIONS = ("turn_left", "turn_right", "look_up", "blink", "open_mouth")


def _look_up(face: U8, deg: float) -> tuple[U8, F64]:
    """Pitch the face up: texture on a horizontal cylinder, then a keystone for perspective.

    FaceMesh reads the cylinder alone as barely 3 degrees; the keystone (the forehead
    receding) brings 40 nominal degrees to 7-11 read, near the 1/3 ratio of the turns.
    """
    turned, _ = turn_face(np.ascontiguousarray(face.transpose(1, 0, 2)), -deg)
    cyl = np.ascontiguousarray(turned.transpose(1, 0, 2))
    a = face.shape[0] / 2.0
    lm = ARCFACE_112.copy()
    lm[:, 1] = a + a * np.sin(np.arcsin(np.clip((lm[:, 1] - a) / a, -1, 1)) - math.radians(deg))
    h, w = face.shape[:2]
    s = math.sin(math.radians(deg)) * 0.5
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w * s / 2, h * s / 2], [w - w * s / 2, h * s / 2], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(cyl, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    moved = cv2.perspectiveTransform(lm[None].astype(np.float32), m)[0].astype(np.float64)
    return np.ascontiguousarray(out), moved


def _blink(face: U8, amount: float) -> U8:
    out = face.copy()
    skin = face[60:68, 44:68].reshape(-1, 3).mean(axis=0)
    for x, y in ARCFACE_112[:2]:
        cv2.ellipse(out, (round(x), round(y)), (10, max(1, round(7 * amount))), 0, 0, 360,
                    skin.tolist(), -1, cv2.LINE_AA)  # fmt: skip
        cv2.line(out, (round(x) - 9, round(y) + 2), (round(x) + 9, round(y) + 2), (70, 45, 40),
                 1, cv2.LINE_AA)  # fmt: skip
    return out if amount > 0.05 else face


def _open_mouth(face: U8, amount: float) -> U8:
    """A dropped jaw: a dark mouth cavity growing down from the line of the mouth corners."""
    out = face.copy()
    (x1, y1), (x2, y2) = ARCFACE_112[3], ARCFACE_112[4]
    height = max(1, round(9 * amount))
    centre = (round((x1 + x2) / 2), round((y1 + y2) / 2) - 4 + height // 2)
    axes = (round((x2 - x1) / 2 * 0.8), height)
    cv2.ellipse(out, centre, axes, 0, 0, 360, (70, 25, 30), -1, cv2.LINE_AA)
    return out if amount > 0.05 else face


def flat_pose_face(face: U8, action: str | None, amount: float) -> tuple[U8, F64]:
    """The flat-texture fallback: ``face`` doing ``action`` at ``amount``, its landmarks."""
    if action in ("turn_left", "turn_right") and amount > 0:
        return turn_face(face, (-42.0 if action == "turn_left" else 42.0) * amount)
    if action == "look_up" and amount > 0:
        return _look_up(face, 40.0 * amount)
    if action == "blink":
        return _blink(face, amount), ARCFACE_112.copy()
    if action == "open_mouth":
        return _open_mouth(face, amount), ARCFACE_112.copy()
    return face, ARCFACE_112.copy()


TURN_DEG = 28.0
UP_DEG = 20.0
"""Nominal peaks of a turn and of looking up: what a person asked to turn their head does
without losing sight of the screen (FaceMesh reads them at ~0.7-1.3x)."""


def pose_face(face: U8, action: str | None, amount: float, extent: float = 1.0) -> tuple[U8, F64]:
    """``face`` performing ``action`` at ``amount`` in [0, 1] (0 = neutral) + its landmarks.

    ``extent`` scales the action's peak (a person's own range; a blink's peak stays a shut
    eye, an extent over 1 holding it longer). The neutral face is the
    photo itself, pixel for pixel. An open mouth may return more rows than ``face`` has
    (the dropped chin below the crop; ``compose_selfie`` places them under the face).
    """
    if action is None or amount <= 0:
        return face, ARCFACE_112.copy()
    rig = face_rig.face_rig(face)
    if rig is None:
        return flat_pose_face(face, action, amount)
    a = amount * extent
    if action in ("turn_left", "turn_right"):
        moved = face_rig.rotate(rig, (-TURN_DEG if action == "turn_left" else TURN_DEG) * a, 0.0)
        image = face_rig.render(face, rig, moved, turned=True)
    elif action == "look_up":
        moved = face_rig.rotate(rig, 0.0, UP_DEG * a)
        image = face_rig.render(face, rig, moved, turned=True)
    elif action == "blink":
        # A blink asked for shuts the eyes whatever the person's range: an extent under 1
        # no longer stops the lids part way (0.8-0.97 closures, which a real deliberate
        # blink is not; held-out seed 28055, glasses, read 0.63 of the open eye at 0.93);
        # one over 1 holds them shut for longer. The deepest blink read, median of the
        # challenges with a blink: 21000+ 0.25 -> 0.22, 23000+ 0.36 -> 0.28.
        shut = min(1.0, amount * max(1.0, extent))
        moved = face_rig.blink(rig, shut)
        image = face_rig.render(face, rig, moved, blink_amount=shut)
    elif action == "open_mouth":
        moved = face_rig.open_mouth(rig, a)
        below = face_rig.jaw_rows(rig, moved, face.shape[0])
        image = face_rig.render(face, rig, moved, mouth=True, below=below)
    else:
        raise ValueError(f"unknown action {action!r}; choose from {ACTIONS}")
    return image, rig.five_points(moved)


def challenge_frames(
    face: U8,
    actions: tuple[str, ...],
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (480, 640),
    fps: float = 15.0,
    frames_per_action: int = 9,
    neutral_frames: int = 4,
) -> list[tuple[U8, float]]:
    """Frames ``(image, t_ms)`` of ``face`` doing ``actions`` in order, neutral in between.

    Same room and framing throughout; fresh sensor noise in every frame (a live camera).
    Each action's extent (0.8-1.15 of the nominal peak; a blink's closes the eyes fully
    either way, see ``pose_face``) is drawn from the noise seed, so ``rng`` is consumed
    exactly as by the flat renderer.
    """
    bad = [a for a in actions if a not in ACTIONS]
    if bad:
        raise ValueError(f"unknown actions {bad}; choose from {ACTIONS}")
    plan: list[tuple[str | None, float]] = [(None, 0.0)] * neutral_frames
    for action in actions:
        n = frames_per_action
        plan += [(action, math.sin(math.pi * (k + 1) / (n + 1))) for k in range(n)]
        plan += [(None, 0.0)] * 2
    state = rng.bit_generator.state
    noise_seed = int(rng.integers(0, 2**31))
    extents = np.random.default_rng([noise_seed, 7]).uniform(0.8, 1.15, len(actions))
    extent_of = dict(zip(actions, extents, strict=True))
    out = []
    for k, (doing, amount) in enumerate(plan):
        extent = float(extent_of[doing]) if doing is not None else 1.0
        posed, lm = pose_face(face, doing, amount, extent)
        rng.bit_generator.state = state  # same room and framing in every frame
        frame, _ = compose_selfie(posed, size[0], size[1], rng, landmarks=lm, skin_from=face)
        frame = effects.sensor_noise(frame, 2.0, np.random.default_rng([noise_seed, k]))
        out.append((frame, round(k * 1000.0 / fps, 3)))
    return out
