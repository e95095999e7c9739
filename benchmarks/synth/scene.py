"""Card scenes: sample a shot (pose, camera, effects) and render it with exact ground truth."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import effects
from benchmarks.synth.attacks import photocopy_attack, screen_attack
from benchmarks.synth.backgrounds import background
from benchmarks.synth.cards import DEFAULT_PX_PER_MM, DOCUMENTS, CardFace, render_card_cached
from benchmarks.synth.compose import Placed, Surface, add_glare, place_surface
from benchmarks.synth.geometry import (
    Camera,
    Pose,
    centred_rect,
    project,
    rect_corners_mm,
    tilt_deg,
    to_camera,
    view_angle_deg,
)
from benchmarks.synth.identity import Identity
from benchmarks.synth.poses import sample_pose, visible_fraction
from ekyc.types import DocumentType, Shot, Side

CARD_KINDS = ("front", "tilt", "back", "screen", "photocopy", "other_person")
_TILT_RANGES = {Shot.FRONT: (0.0, 15.0), Shot.TILT: (30.0, 60.0), Shot.BACK: (0.0, 15.0)}


@dataclass(frozen=True, slots=True)
class Effects:
    """Photometric render parameters of one scene (all zero/False gives a clean render)."""

    glare_spots: int = 0
    glare_strength: float = 0.0
    fingers: int = 0
    held: bool = False  # held above the table: casts a soft shadow
    shadow_strength: float = 0.0
    light_gradient: float = 0.0
    vignette: float = 0.0
    defocus_sigma_px: float = 0.0
    motion_px: float = 0.0
    motion_angle_deg: float = 0.0
    noise_sigma: float = 0.0
    white_balance: float = 0.0  # max relative per-channel gain error
    jpeg_quality: int = 92


@dataclass(frozen=True, slots=True)
class SceneSpec:
    """Everything that decides a card scene, besides the per-pixel randomness of its seed."""

    kind: str
    doc_type: DocumentType
    side: Side
    shot: Shot
    identity: Identity
    camera: Camera
    pose: Pose
    background: str
    effects: Effects
    attack: str | None = None
    px_per_mm: float = DEFAULT_PX_PER_MM


@dataclass(frozen=True, slots=True, eq=False)
class Scene:
    """A rendered RGB frame and its JSON-serialisable ground-truth record."""

    image: npt.NDArray[np.uint8]
    record: dict[str, object]


def sample_effects(rng: np.random.Generator, attack: str | None) -> Effects:
    """Typical phone-capture degradations; a paper copy gets weak, broad glare."""
    glare = int(rng.choice([0, 1, 2], p=[0.5, 0.35, 0.15]))
    fingers = int(rng.choice([0, 1, 2], p=[0.45, 0.45, 0.1]))
    return Effects(
        glare_spots=glare,
        glare_strength=float(rng.uniform(0.3, 0.95) * (0.4 if attack == "photocopy" else 1.0)),
        fingers=fingers,
        held=fingers > 0 or attack == "screen",
        shadow_strength=float(rng.uniform(0.15, 0.45)),
        light_gradient=float(rng.uniform(0.0, 0.3)),
        vignette=float(rng.uniform(0.0, 0.3)),
        defocus_sigma_px=float(0.0 if rng.random() < 0.5 else rng.uniform(0.3, 2.2)),
        motion_px=float(0.0 if rng.random() < 0.75 else rng.uniform(2.0, 10.0)),
        motion_angle_deg=float(rng.uniform(0, 180)),
        noise_sigma=float(rng.uniform(1.0, 6.0)),
        white_balance=0.1,
        jpeg_quality=int(rng.integers(70, 96)),
    )


def sample_spec(
    kind: str,
    identity: Identity,
    size: tuple[int, int],
    rng: np.random.Generator,
    *,
    background_kind: str = "any",
    clean: bool = False,
    px_per_mm: float | None = None,
    tilt_range: tuple[float, float] | None = None,
) -> SceneSpec:
    """Draw a card scene of ``kind`` (see :data:`CARD_KINDS`) for ``identity``'s document.

    ``tilt_range`` (degrees) replaces the kind's own (an attack's 0-35, a tilt shot's
    30-60); the same random draws, so ``None`` draws what it always drew.
    """
    if kind not in CARD_KINDS:
        raise ValueError(f"unknown card scene kind {kind!r}; expected one of {CARD_KINDS}")
    doc = identity.doc_type
    attack = kind if kind in ("screen", "photocopy", "other_person") else None
    shot = {"front": Shot.FRONT, "tilt": Shot.TILT, "back": Shot.BACK}.get(kind)
    if shot is None:
        shot = Shot.TILT if rng.random() < 0.3 else Shot.FRONT
    side = Side.BACK if shot is Shot.BACK and Side.BACK in DOCUMENTS[doc].drawers else Side.FRONT
    camera = Camera(size[0], size[1], float(rng.uniform(60.0, 75.0)))
    if tilt_range is None:
        tilt_range = _TILT_RANGES[shot] if attack in (None, "other_person") else (0.0, 35.0)
    out_of_frame = bool(rng.random() < 0.08) and not clean
    pose = sample_pose(rng, camera, DOCUMENTS[doc].size_mm, tilt_range, out_of_frame)
    fx = sample_effects(rng, attack) if not clean else Effects(jpeg_quality=95)
    bg = (
        background_kind
        if background_kind != "any"
        else str(rng.choice(["wood", "fabric", "paper", "desk", "table", "photo"]))
    )
    ppm = px_per_mm or max(8.0, min(24.0, round(size[0] / 100.0)))
    return SceneSpec(kind, doc, side, shot, identity, camera, pose, bg, fx, attack, ppm)


def _card_surface(face: CardFace) -> Surface:
    spec = DOCUMENTS[face.doc_type]
    rgba = cv2.cvtColor(face.image, cv2.COLOR_RGB2RGBA)
    rgba[..., 3] = face.alpha
    return Surface(
        rgba,
        centred_rect(spec.size_mm),
        spec.radius_mm,
        spec.thickness_mm,
        (226, 226, 220),
        gloss=1.0,
    )


_SURFACES: dict[int, tuple[CardFace, Surface]] = {}


def card_surface(face: CardFace) -> Surface:
    """The genuine card as a surface, cached with its mip levels per rendered face."""
    hit = _SURFACES.get(id(face))
    if hit is None or hit[0] is not face:
        if len(_SURFACES) > 64:
            _SURFACES.clear()
        hit = _SURFACES[id(face)] = (face, _card_surface(face))
    return hit[1]


def render_scene(
    spec: SceneSpec,
    rng: np.random.Generator,
    *,
    portrait: npt.NDArray[np.uint8] | None = None,
    photos: tuple[Path, ...] = (),
) -> Scene:
    """Render ``spec``: ``portrait`` is the face printed on the card, ``photos`` backgrounds."""
    cam, pose, fx = spec.camera, spec.pose, spec.effects
    face = render_card_cached(spec.doc_type, spec.side, spec.identity, portrait, spec.px_per_mm)
    render: dict[str, object] = {}
    if spec.attack == "screen":
        atk = screen_attack(face, rng)
        surf, doc_rect, render["attack"] = atk.surface, atk.doc_rect_mm, atk.params
    elif spec.attack == "photocopy":
        atk = photocopy_attack(face, rng)
        surf, doc_rect, render["attack"] = atk.surface, atk.doc_rect_mm, atk.params
    else:
        surf, doc_rect = card_surface(face), centred_rect(DOCUMENTS[spec.doc_type].size_mm)
    natural_w = DOCUMENTS[spec.doc_type].size_mm[0]
    scale = (doc_rect[2] - doc_rect[0]) / natural_w
    if abs(scale - 1.0) > 1e-9:  # frame the displayed/printed card like a real one
        pose = replace(
            pose,
            distance_mm=pose.distance_mm * scale,
            offset_x_mm=pose.offset_x_mm * scale,
            offset_y_mm=pose.offset_y_mm * scale,
        )
        spec = replace(spec, pose=pose)
    frame, render["background"] = background(spec.background, cam.width, cam.height, rng, photos)
    corners = project(to_camera(rect_corners_mm(doc_rect), pose), cam).astype(np.float32)
    carrier = project(to_camera(rect_corners_mm(surf.rect_mm), pose), cam)
    shadow = [carrier + rng.uniform(8, 30, 2) * [1, 1]] if fx.held else []
    gain = (1 + rng.uniform(-1, 1, 3) * fx.white_balance).astype(np.float32)
    render["gain_rgb"] = [round(float(g), 4) for g in gain]
    light, cast, render["illumination"] = effects.illumination(
        cam.width, cam.height, rng, fx.light_gradient, fx.vignette, shadow, fx.shadow_strength, gain
    )
    if cast is not None:
        effects.apply_light(frame, cast)  # the held card's shadow falls on the background only
    placed = place_surface(frame, surf, pose, cam)
    effects.apply_light(frame, light)
    if placed is not None and fx.glare_spots:
        render["glare"] = add_glare(
            frame, placed, corners, fx.glare_spots, fx.glare_strength * surf.gloss, rng
        )
    fingers, covers = [], []
    for _ in range(fx.fingers):
        poly, info = effects.finger_polygons(surf.rect_mm, pose, cam, rng)
        covers.append(effects.draw_finger(frame, poly, rng))
        fingers.append(info)
    render["fingers"] = fingers
    frame = effects.blur(frame, fx.defocus_sigma_px, fx.motion_px, fx.motion_angle_deg)
    frame = effects.sensor_noise(frame, fx.noise_sigma, rng)
    record = _record(spec, corners, placed, _occlusion(placed, covers), render)
    record["doc_size_mm"] = [
        round(doc_rect[2] - doc_rect[0], 6),
        round(doc_rect[3] - doc_rect[1], 6),
    ]
    return Scene(frame, record)


def _occlusion(
    placed: Placed | None, covers: list[tuple[int, int, npt.NDArray[np.float32]]]
) -> float:
    """Share of the printed face hidden by fingers."""
    if placed is None or not covers or placed.face_coverage.sum() <= 0:
        return 0.0
    face = placed.face_coverage
    hidden = np.zeros_like(face)
    for fx0, fy0, soft in covers:
        dx, dy = fx0 - placed.x0, fy0 - placed.y0
        ax0, ay0 = max(0, dx), max(0, dy)
        ax1, ay1 = min(face.shape[1], dx + soft.shape[1]), min(face.shape[0], dy + soft.shape[0])
        if ax1 > ax0 and ay1 > ay0:
            sub = soft[ay0 - dy : ay1 - dy, ax0 - dx : ax1 - dx]
            np.maximum(hidden[ay0:ay1, ax0:ax1], sub, out=hidden[ay0:ay1, ax0:ax1])
    return float((hidden * face).sum() / face.sum())


def _record(
    spec: SceneSpec,
    corners: npt.NDArray[np.float32],
    placed: Placed | None,
    occlusion: float,
    render: dict[str, object],
) -> dict[str, object]:
    genuine = spec.attack in (None, "other_person")
    thickness_px = placed.thickness_px if placed is not None else 0.0
    cam, pose = spec.camera, spec.pose
    return {
        "kind": spec.kind,
        "doc_type": spec.doc_type.value,
        "side": spec.side.value,
        "shot": spec.shot.value,
        "identity": spec.identity.identity_id,
        "attack": spec.attack,
        "corners": [[round(float(x), 3), round(float(y), 3)] for x, y in corners],
        "tilt_deg": round(tilt_deg(pose), 4),
        "view_angle_deg": round(view_angle_deg(pose), 4),
        "thickness_visible": bool(genuine and thickness_px >= 1.0),
        "thickness_px": round(float(thickness_px) if genuine else 0.0, 3),
        "carrier_thickness_px": round(float(thickness_px), 3),
        "visible_fraction": round(visible_fraction(corners, cam), 4),
        "finger_occlusion": round(occlusion, 4),
        "focal_px": round(cam.focal_px, 4),
        "focal_35mm": round(cam.focal_35mm, 3),
        "image_size": [cam.width, cam.height],
        "camera": asdict(cam),
        "pose": asdict(pose),
        "effects": asdict(spec.effects),
        "background": spec.background,
        "px_per_mm": spec.px_per_mm,
        "render": render,
    }


def clean_spec(spec: SceneSpec) -> SceneSpec:
    """The same shot without glare, fingers, blur, noise or lighting (for geometry checks)."""
    return replace(spec, effects=Effects(jpeg_quality=spec.effects.jpeg_quality))
