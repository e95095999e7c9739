"""A synthetic camera for Chromium's fake capture device: frames and a Y4M file of them.

``card_then_face`` renders (``benchmarks.synth``) a card that slides into the ID-1 guide
and is held still, then a face for the selfie; ``write_y4m`` writes YUV4MPEG2 (4:2:0,
BT.601 limited range, ``C420jpeg``) that ``--use-file-for-fake-video-capture`` plays in
a loop.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.synth import Pose, make_identity, render_scene, sample_spec
from benchmarks.synth.selfie import astronaut_face, compose_selfie
from ekyc.capture import Guide
from ekyc.types import DocumentType

RGB = npt.NDArray[np.uint8]


def card_frame(size: tuple[int, int], slide: float, document: DocumentType) -> RGB:
    """The card at ``slide`` guide widths left of the guide (0: in it), same scene always."""
    rng = np.random.default_rng(11)
    spec = sample_spec("front", make_identity(4242, document), size, rng, clean=True)
    guide = Guide.centred(*size)
    f = spec.camera.focal_px
    distance = f * 85.6 / guide.width
    offset_x = -slide * guide.width * distance / f
    pose = Pose(0.0, 0.0, 0.0, distance, offset_x, 0.0)
    spec = replace(spec, pose=pose, background="wood")
    return np.ascontiguousarray(render_scene(spec, rng, portrait=astronaut_face()).image)


def card_then_face(
    size: tuple[int, int] = (640, 480),
    fps: int = 10,
    document: DocumentType = DocumentType.MY_NUMBER_CARD,
) -> list[RGB]:
    """~1 s sliding in, ~4 s held in the guide, ~1.5 s of a face (for the selfie).

    The video loops: a 6.5 s period drifts against the page's ~5 s retake cycle (3 s
    countdown, upload, 1.5 s pause), so a retaken tilted shot does not land on the slide
    every time.
    """
    slides = [*np.linspace(1.2, 0.0, fps).tolist(), *([0.0] * (fps * 4))]
    cache: dict[float, RGB] = {}
    frames = []
    for slide in slides:
        key = round(slide, 3)
        if key not in cache:
            cache[key] = card_frame(size, key, document)
        frames.append(cache[key])
    face, _ = compose_selfie(astronaut_face(), size[0], size[1], np.random.default_rng(5))
    frames.extend([face] * (fps * 3 // 2))
    return frames


def _yuv420(rgb: RGB) -> bytes:
    """BT.601 limited-range (video: Y 16-235) planes, as Chromium reads them; chroma averaged
    over 2x2 blocks."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    h, w = y.shape

    def sub(c: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = (
        16 + y * (219 / 255),
        128 + (sub(u) - 128) * (224 / 255),
        128 + (sub(v) - 128) * (224 / 255),
    )
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: Path, frames: list[RGB], fps: int) -> Path:
    """Write ``frames`` (same even size) as a YUV4MPEG2 C420jpeg file."""
    h, w = frames[0].shape[:2]
    if w % 2 or h % 2:
        raise ValueError(f"4:2:0 needs an even size, got {w}x{h}")
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(_yuv420(frame))
    return path
