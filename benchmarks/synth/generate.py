"""Write N scenes and their ``manifest.jsonl``: sessions of one applicant, reproducible by seed.

Scene ``i`` belongs to session ``i // SCENES_PER_SESSION`` (one applicant, one document type);
its pixels depend only on ``(seed, i)``, so any worker split gives byte-identical files.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth import manifest, selfie
from benchmarks.synth.backgrounds import photo_files
from benchmarks.synth.cards import render_card_cached
from benchmarks.synth.geometry import BehindCamera
from benchmarks.synth.identity import Identity, make_identity
from benchmarks.synth.manifest import field_values
from benchmarks.synth.scene import CARD_KINDS, render_scene, sample_spec
from ekyc.types import DocumentType

U8 = npt.NDArray[np.uint8]
# A sampled pose with part of a surface behind the camera is drawn again (seed 920000 had one
# between scenes 6000 and 6007); scenes whose first pose renders are unchanged.
_POSE_TRIES = 8
FACE_KINDS = ("selfie", "print_face", "replay_face", "head_turn")
ALL_KINDS = CARD_KINDS + FACE_KINDS
DEFAULT_KINDS = (
    "front",
    "tilt",
    "back",
    "selfie",
    "screen",
    "photocopy",
    "other_person",
    "print_face",
    "replay_face",
)
SCENES_PER_SESSION = 4
_DOC_WEIGHTS = {
    DocumentType.DRIVERS_LICENSE: 0.35,
    DocumentType.MY_NUMBER_CARD: 0.3,
    DocumentType.RESIDENCE_CARD: 0.15,
    DocumentType.HEALTH_INSURANCE_CARD: 0.1,
    DocumentType.PASSPORT: 0.1,
}


@dataclass(frozen=True, slots=True)
class Job:
    """What a worker needs to render a range of scenes."""

    out_dir: Path
    seed: int
    kinds: tuple[str, ...]
    docs: tuple[DocumentType, ...]
    size: tuple[int, int]
    fmt: str
    faces_dir: Path | None
    data_dir: Path | None


@functools.cache
def face_people(faces_dir: Path | None) -> tuple[tuple[Path, ...], ...]:
    """LFW-style ``<Name>/<Name>_NNNN.jpg`` folders with two or more images, sorted."""
    if faces_dir is None:
        return ()
    root = faces_dir / "images" if (faces_dir / "images").is_dir() else faces_dir
    people = (tuple(sorted(d.glob("*.jpg"))) for d in sorted(root.iterdir()) if d.is_dir())
    found = tuple(p for p in people if len(p) >= 2)
    if not found:
        raise ValueError(f"no person folder with 2+ .jpg images under {root}")
    return found


@functools.lru_cache(maxsize=256)
def load_face(path: str) -> U8:
    if path == "astronaut":
        return selfie.astronaut_face()
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode face image {path}")
    rgb: U8 = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return rgb


def session_identity(job: Job, session: int, salt: int = 0) -> tuple[Identity, str, str]:
    """The applicant of ``session`` and the paths of their card portrait and selfie image."""
    rng = np.random.default_rng([job.seed, session, 3])
    weights = np.array([_DOC_WEIGHTS[d] for d in job.docs])
    doc = job.docs[int(rng.choice(len(job.docs), p=weights / weights.sum()))]
    people = face_people(job.faces_dir)
    card_face, selfie_face = "astronaut", "astronaut"
    id_seed = job.seed * 1_000_003 + session * 7 + salt
    if people:
        person = people[int(np.random.default_rng([id_seed, 5]).integers(0, len(people)))]
        card_face, selfie_face = str(person[0]), str(person[1])
    key = Path(card_face).parent.name if people else "astronaut"
    return make_identity(id_seed, doc, key), card_face, selfie_face


def render_index(job: Job, index: int) -> list[tuple[dict[str, object], U8]]:
    """Render scene ``index`` (several frames for ``head_turn``) with its records."""
    scene_seed = job.seed * 1_000_003 + index
    rng = np.random.default_rng(scene_seed)
    kind = str(rng.choice(job.kinds))
    session = index // SCENES_PER_SESSION
    ident, card_face, selfie_face = session_identity(job, session)
    base: dict[str, object] = {
        "seed": scene_seed,
        "index": index,
        "session": session,
        "session_identity": ident.identity_id,
        "face_source": card_face,
    }
    if kind in CARD_KINDS:
        if kind == "other_person":
            # same document type (drawn per session), another applicant and face
            ident, card_face, _ = session_identity(
                job, session, salt=1 + int(rng.integers(1, 10**6))
            )
        photos = photo_files(job.data_dir) if job.data_dir else ()
        for attempt in range(1, _POSE_TRIES + 1):
            spec = sample_spec(kind, ident, job.size, rng)
            try:
                sc = render_scene(spec, rng, portrait=load_face(card_face), photos=photos)
                break
            except BehindCamera:  # a pose no phone takes: drawn again from a derived stream
                rng = np.random.default_rng([scene_seed, attempt])
        else:
            raise RuntimeError(f"scene {index}: no pose in front of the camera in {_POSE_TRIES}")
        face = render_card_cached(
            spec.doc_type, spec.side, ident, load_face(card_face), spec.px_per_mm
        )
        rec = {
            **base,
            **sc.record,
            "face_source": card_face,
            "fields": field_values(ident, spec.doc_type, spec.side),
            "printed": [
                {"name": f.name, "value": f.value, "box_px": list(f.box)} for f in face.fields
            ],
            "portrait_box_px": list(face.portrait_box) if face.portrait_box else None,
        }
        return [(rec, sc.image)]
    selfie_img = load_face(selfie_face)
    common = {
        **base,
        "kind": kind,
        "shot": "selfie",
        "identity": ident.identity_id,
        "doc_type": None,
        "side": None,
        "corners": None,
        "face_source": selfie_face,
    }
    if kind == "selfie":
        img, info = selfie.render_selfie(selfie_img, job.size, rng)
        return [({**common, **info}, img)]
    if kind in ("print_face", "replay_face"):
        img, info = selfie.render_face_attack(kind, selfie_img, job.size, rng)
        return [({**common, **info}, img)]
    return [
        ({**common, **info, "sequence": index}, img)
        for img, info in selfie.head_turn(selfie_img, job.size, rng)
    ]


def _write(job: Job, index: int) -> list[dict[str, object]]:
    out = []
    frames = render_index(job, index)
    for k, (rec, img) in enumerate(frames):
        name = f"{index:06d}" + (f"_{k:02d}" if len(frames) > 1 else "") + f".{job.fmt}"
        make, model, taken = manifest.capture_info(int(str(rec["seed"])) + k)
        fx = rec.get("effects")
        quality = int(fx.get("jpeg_quality", 90)) if isinstance(fx, dict) else 90
        focal_35mm = float(str(rec["focal_35mm"]))
        exif = manifest.exif_bytes(make, model, focal_35mm, taken)
        (job.out_dir / name).write_bytes(manifest.encode(img, job.fmt, quality, exif))
        rec.update(
            path=name,
            format=job.fmt,
            exif={
                "make": make,
                "model": model,
                "datetime_original": taken.isoformat(),
                "focal_length_35mm": max(1, round(focal_35mm)),
            },
        )
        out.append(rec)
    return out


def _write_range(job: Job, start: int, stop: int) -> list[dict[str, object]]:
    cv2.setNumThreads(1)  # one process per core
    return [rec for i in range(start, stop) for rec in _write(job, i)]


def generate(
    out_dir: Path,
    n: int,
    seed: int,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    faces_dir: Path | None = None,
    *,
    data_dir: Path | None = None,
    size: tuple[int, int] = (1280, 720),
    fmt: str = "jpg",
    workers: int = 1,
    docs: tuple[DocumentType, ...] = tuple(DocumentType),
    first: int = 0,
) -> list[dict[str, object]]:
    """Render scenes ``first .. n-1`` into ``out_dir`` with ``manifest.jsonl``; returns the
    records. A scene depends only on ``(seed, index)``: ``first=i, n=i+1`` re-renders scene
    ``i`` of a larger run exactly."""
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or not kinds:
        raise ValueError(f"unknown kinds {bad}; choose from {ALL_KINDS}")
    if fmt not in manifest.FORMATS:
        raise ValueError(f"format must be one of {manifest.FORMATS}, got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    job = Job(out_dir, seed, tuple(kinds), tuple(docs), size, fmt, faces_dir, data_dir)
    chunk = SCENES_PER_SESSION * 2
    if not 0 <= first < n:
        raise ValueError(f"need 0 <= first < n, got first={first}, n={n}")
    ranges = [(s, min(n, s + chunk)) for s in range(first, n, chunk)]
    if workers <= 1:
        parts = [_write_range(job, a, b) for a, b in ranges]
    else:
        # Spawned, not forked: a fork after the caller's thread pools exist can deadlock.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            parts = list(pool.map(_write_range, [job] * len(ranges), *zip(*ranges, strict=True)))
    records = [rec for part in parts for rec in part]
    manifest.write_manifest(records, out_dir / "manifest.jsonl")
    return records


def default_workers() -> int:
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))


def timed_generate(**kwargs: object) -> tuple[list[dict[str, object]], float]:
    """:func:`generate` and its wall time in seconds."""
    t0 = time.perf_counter()
    records = generate(**kwargs)  # type: ignore[arg-type]
    return records, time.perf_counter() - t0
