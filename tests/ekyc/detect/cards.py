"""Rendered card scenes for the layout, same-card and back-rule tests (ground truth known)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from benchmarks.synth import make_identity, render_scene, sample_spec
from benchmarks.synth.scene import Scene
from benchmarks.synth.selfie import astronaut_face
from ekyc.detect.layouts import CardLayouts
from ekyc.registry import Registry
from ekyc.types import DocumentType


@functools.cache
def layouts() -> CardLayouts:
    return CardLayouts.from_registry(Registry.from_manifest())


def other_face(seed: int) -> np.ndarray:
    """Another person's portrait: the astronaut re-toned, mirrored and shifted."""
    rng = np.random.default_rng([seed, 9])
    face = astronaut_face()[:, ::-1]
    shift = np.float32([[1, 0, rng.integers(-10, 11)], [0, 1, rng.integers(-10, 11)]])
    face = cv2.warpAffine(face, shift, (112, 112), borderMode=cv2.BORDER_REFLECT)
    return np.clip(face * rng.uniform(0.5, 0.8, 3), 0, 255).astype(np.uint8)


@functools.cache
def card_scene(kind: str, doc: DocumentType, seed: int, *, clean: bool = True,
               person: int | None = None,
               size: tuple[int, int] = (1280, 720)) -> Scene:  # fmt: skip
    """A scene of ``doc``; ``person`` picks another applicant (identity and face) than seed's."""
    identity = make_identity(seed if person is None else person, doc)
    spec = sample_spec(kind, identity, size, np.random.default_rng([seed, 1]),
                       background_kind="table", clean=clean)  # fmt: skip
    face = astronaut_face() if person is None else other_face(person)
    return render_scene(spec, np.random.default_rng([seed, 2]), portrait=face)


def rgb(sc: Scene) -> np.ndarray:
    return np.ascontiguousarray(sc.image)


def corners(sc: Scene) -> np.ndarray:
    return np.array(sc.record["corners"], np.float32)


@functools.cache
def held_back_selfie(seed: int, where: str = "chest") -> np.ndarray:
    """A selfie with a My Number card's back held up (``hold_card``: below the face, or
    ``where="beside_face"``)."""
    from benchmarks.synth.cards import render_card
    from benchmarks.synth.held_card import hold_card
    from benchmarks.synth.selfie import render_selfie
    from ekyc.types import Side

    rng = np.random.default_rng([seed, 77])
    doc = DocumentType.MY_NUMBER_CARD
    card = render_card(doc, Side.BACK, make_identity(seed, doc), None)
    selfie, _ = render_selfie(astronaut_face(), (720, 1280), rng)
    return hold_card(selfie, card, rng, where)[0]


@functools.cache
def selfie_without_card(seed: int) -> np.ndarray:
    """``held_back_selfie``'s selfie before the card is held up in it."""
    from benchmarks.synth.selfie import render_selfie

    rng = np.random.default_rng([seed, 77])
    return render_selfie(astronaut_face(), (720, 1280), rng)[0]
