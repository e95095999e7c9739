"""Synthetic eKYC scenes with exact ground truth: Japanese ID cards photographed by a phone.

Not part of the installed library API; used by tests and benchmarks::

    from benchmarks.synth import generate
    records = generate(Path("out"), n=100, seed=0)   # images + out/manifest.jsonl

Building blocks: :func:`render_card` (a printed face), :class:`Pose` / :class:`Camera` and
:func:`project_card_corners` (the one projection used for pixels and ground truth),
:func:`sample_spec` / :func:`render_scene` (one card scene).
"""

from benchmarks.synth.cards import CardFace, render_card
from benchmarks.synth.generate import generate
from benchmarks.synth.geometry import Camera, Pose, project_card_corners, tilt_deg
from benchmarks.synth.identity import Identity, make_identity
from benchmarks.synth.scene import Scene, SceneSpec, render_scene, sample_spec

__all__ = [
    "Camera",
    "CardFace",
    "Identity",
    "Pose",
    "Scene",
    "SceneSpec",
    "generate",
    "make_identity",
    "project_card_corners",
    "render_card",
    "render_scene",
    "sample_spec",
    "tilt_deg",
]
