"""A whole applicant for end-to-end verification: front, tilted shot, back and selfie.

``make_applicant`` renders one person's complete set of shots as encoded JPEG bytes (with
EXIF, as a phone would send them), or an impostor variant of it:

* ``other_selfie``   the selfie shows another person;
* ``other_card``     the tilted shot shows another person's card of the same type;
* ``flat_copy``      the tilted shot shows a photocopy of the card (no thickness);
* ``screen``         the tilted shot shows the card on a phone screen;
* ``my_number_back`` a My Number card's back is sent as the back shot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.synth import manifest, selfie
from benchmarks.synth.generate import face_people, load_face
from benchmarks.synth.identity import Identity, make_identity
from benchmarks.synth.manifest import field_values
from benchmarks.synth.scene import render_scene, sample_spec
from ekyc.types import DocumentType, Side

__all__ = ["IMPOSTOR_KINDS", "SyntheticApplicant", "make_applicant"]

IMPOSTOR_KINDS = ("other_selfie", "other_card", "flat_copy", "screen", "my_number_back")
_SIZE = (1280, 720)


@dataclass(frozen=True, slots=True)
class SyntheticApplicant:
    """One applicant's shots (JPEG bytes by shot name) and the truth about them."""

    document_type: DocumentType
    identity: Identity
    shots: dict[str, bytes]
    impostor: str | None
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def genuine(self) -> bool:
        """True when nothing about the shots is an attack."""
        return self.impostor is None


def _people(faces_dir: Path | None, seed: int) -> tuple[str, str, str]:
    """Card portrait and selfie of one person, plus another person's face."""
    people = face_people(faces_dir)
    if not people:
        return "astronaut", "astronaut", "astronaut"
    rng = np.random.default_rng([seed, 41])
    me, other = (people[int(i)] for i in rng.choice(len(people), size=2, replace=False))
    return str(me[0]), str(me[1]), str(other[0])


def _jpeg(image: np.ndarray, seed: int, focal_35mm: float, taken: dt.datetime) -> bytes:
    make, model, _ = manifest.capture_info(seed)
    return manifest.encode(image, "jpg", 92, manifest.exif_bytes(make, model, focal_35mm, taken))


def _card_shot(kind: str, identity: Identity, face: str, seed: int, data_dir: Path | None,
               taken: dt.datetime, size: tuple[int, int]) -> bytes:  # fmt: skip
    from benchmarks.synth.backgrounds import photo_files

    rng = np.random.default_rng([seed, 43])
    spec = sample_spec(kind, identity, size, rng)
    photos = photo_files(data_dir) if data_dir else ()
    scene = render_scene(spec, rng, portrait=load_face(face), photos=photos)
    return _jpeg(scene.image, seed, float(scene.record["focal_35mm"]), taken)


def make_applicant(seed: int, document_type: DocumentType, *, faces_dir: Path | None = None,
                   data_dir: Path | None = None, impostor: str | None = None,
                   size: tuple[int, int] = _SIZE) -> SyntheticApplicant:  # fmt: skip
    """Render the shots of applicant ``seed`` (reproducible), genuine or ``impostor``.

    ``size`` is the card shots' (width, height); 4032 x 3024 gives 12-megapixel shots.
    """
    if impostor is not None and impostor not in IMPOSTOR_KINDS:
        raise ValueError(f"unknown impostor kind {impostor!r}; expected one of {IMPOSTOR_KINDS}")
    identity = make_identity(seed, document_type)
    card_face, selfie_face, other_face = _people(faces_dir, seed)
    start = dt.datetime(2026, 11, 26, 10, 0, 0) + dt.timedelta(minutes=seed % 600)
    shots: dict[str, bytes] = {}
    kinds = {"front": "front", "tilt": "tilt", "back": "back"}
    if impostor == "flat_copy":
        kinds["tilt"] = "photocopy"
    elif impostor == "screen":
        kinds["tilt"] = "screen"
    for step, (name, kind) in enumerate(kinds.items()):
        if name == "back" and not document_type.has_back and impostor != "my_number_back":
            continue
        owner, face = identity, card_face
        if name == "tilt" and impostor == "other_card":
            owner, face = make_identity(seed + 1_000_000, document_type), other_face
        if name == "back" and impostor == "my_number_back":
            owner = make_identity(seed, DocumentType.MY_NUMBER_CARD)
        taken = start + dt.timedelta(seconds=20 * step)
        shots[name] = _card_shot(kind, owner, face, seed * 10 + step, data_dir, taken, size)
    rng = np.random.default_rng([seed, 47])
    selfie_source = other_face if impostor == "other_selfie" else selfie_face
    image, info = selfie.render_selfie(load_face(selfie_source), size, rng)
    shots["selfie"] = _jpeg(image, seed * 10 + 9, float(str(info["focal_35mm"])),
                            start + dt.timedelta(seconds=90))  # fmt: skip
    return SyntheticApplicant(
        document_type=document_type,
        identity=identity,
        shots=shots,
        impostor=impostor,
        fields=field_values(identity, document_type, Side.FRONT),
    )
