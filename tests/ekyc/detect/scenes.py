"""Synthetic card scenes with exact ground truth, rendered in memory for the detect tests."""

from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np

from benchmarks.synth import make_identity, render_scene, sample_spec
from benchmarks.synth.scene import Scene, SceneSpec
from benchmarks.synth.selfie import astronaut_face
from ekyc.types import DocumentType


@functools.cache
def _face() -> np.ndarray:
    return astronaut_face()


def spec(kind: str, seed: int, *, clean: bool = False, background: str = "any",
         doc: DocumentType = DocumentType.DRIVERS_LICENSE) -> SceneSpec:  # fmt: skip
    rng = np.random.default_rng([seed, 1])
    identity = make_identity(seed, doc)
    return sample_spec(kind, identity, (1280, 720), rng, background_kind=background, clean=clean)


def render(s: SceneSpec, seed: int) -> Scene:
    return render_scene(s, np.random.default_rng([seed, 2]), portrait=_face())


@functools.cache
def scene(kind: str, seed: int, *, clean: bool = False, background: str = "any",
          doc: DocumentType = DocumentType.DRIVERS_LICENSE) -> Scene:  # fmt: skip
    return render(spec(kind, seed, clean=clean, background=background, doc=doc), seed)


def shifted(kind: str, seed: int, dx_fraction: float) -> Scene:
    """A clean scene moved sideways by ``dx_fraction`` of the frame width (cut by the border)."""
    s = spec(kind, seed, clean=True, background="table")
    f = s.camera.focal_px
    pose = replace(
        s.pose,
        offset_x_mm=s.pose.offset_x_mm + dx_fraction * s.camera.width * s.pose.distance_mm / f,
    )
    return render(replace(s, pose=pose), seed)


def truth(sc: Scene) -> np.ndarray:
    return np.array(sc.record["corners"], np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    union = abs(cv2.contourArea(a.astype(np.float32))) + abs(cv2.contourArea(b.astype(np.float32)))
    return float(inter / (union - inter))


def corner_error(found: np.ndarray, gt: np.ndarray) -> float:
    """Largest corner distance in pixels, best of the 0/180-degree orders."""
    return min(float(np.linalg.norm(np.roll(found, k, 0) - gt, axis=1).max()) for k in (0, 2))
