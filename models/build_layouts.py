"""Build the card-layout templates that ``ekyc.detect.classify`` recognises documents with.

Why templates: every card of one type and side shares its printed layout (colour bands,
labels, tables, the portrait's place); only the personal fields differ. Averaging many
rendered cards of different synthetic people keeps the layout and washes out the personal
part. The same mean is what ``ekyc.detect.same_card`` subtracts to compare two shots by
their personal part alone.

The cards are drawn by the project's own generator (``benchmarks.synth``), so the output is
reproducible from code: same packages and fonts, same bytes, checked by the manifest's
sha256. Format: one ``.npy`` float32 array ``(classes, H, W, 4)`` at ``PX_PER_MM`` pixels
per mm of an ID-1 card, classes in the manifest's ``classes`` order: channels 0-2 the mean
RGB in 0..1, channel 3 the per-pixel standard deviation of grey across the people, scaled
to a maximum of 1 (where personal content lives: names, numbers, dates, the portrait).

    python -m models.build_layouts [--out models/build/card_layouts_v1.npy]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from models.output import Conversion, write_output

PX_PER_MM = 2.0
ID1_MM = (85.60, 53.98)
SIZE = (round(ID1_MM[0] * PX_PER_MM), round(ID1_MM[1] * PX_PER_MM))  # (W, H) = (171, 108)
PEOPLE_PER_CLASS = 32
# (document type, side) in the order the manifest's `classes` key lists them.
CLASSES = (
    ("drivers_license", "front"),
    ("drivers_license", "back"),
    ("my_number_card", "front"),
    ("my_number_card", "back"),
    ("residence_card", "front"),
    ("residence_card", "back"),
    ("health_insurance_card", "front"),
    ("health_insurance_card", "back"),
    ("passport", "front"),
)
DEFAULT_OUT = Path(__file__).resolve().parent / "build" / "card_layouts_v1.npy"


def default_dat_path() -> Path:
    """No input file: the generator's code is the source (kept for models.prepare)."""
    return Path(__file__)


def _portrait(person: int, base: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A different-looking face per person: the astronaut shifted, mirrored and re-toned."""
    rng = np.random.default_rng([person, 5])
    shift = np.float32([[1, 0, rng.integers(-12, 13)], [0, 1, rng.integers(-12, 13)]])
    face = cv2.warpAffine(base, shift, (112, 112), borderMode=cv2.BORDER_REFLECT)
    if person % 2:
        face = face[:, ::-1]
    gain = rng.uniform(0.6, 1.3, size=3)
    return np.clip(face.astype(np.float64) * gain, 0, 255).astype(np.uint8)


def mean_layout(doc: str, side: str) -> npt.NDArray[np.float32]:
    """Mean RGB and personal grey deviation of PEOPLE_PER_CLASS rendered cards (H, W, 4)."""
    from benchmarks.synth.cards import render_card
    from benchmarks.synth.identity import make_identity
    from benchmarks.synth.selfie import astronaut_face
    from ekyc.types import DocumentType, Side

    doc_type, card_side = DocumentType(doc), Side(side)
    base = astronaut_face()
    cards = []
    for person in range(PEOPLE_PER_CLASS):
        identity = make_identity(900_000 + person, doc_type)
        face = render_card(doc_type, card_side, identity, _portrait(person, base), px_per_mm=8.0)
        cards.append(cv2.resize(face.image, SIZE, interpolation=cv2.INTER_AREA))
    stack = np.stack(cards).astype(np.float64) / 255.0
    mean = stack.mean(axis=0)
    spread = stack.mean(axis=3).std(axis=0)
    spread = cv2.GaussianBlur(spread, (0, 0), 1.0)
    spread = spread / max(float(spread.max()), 1e-9)
    return np.concatenate([mean, spread[:, :, None]], axis=2).astype(np.float32)


def build() -> bytes:
    """The ``.npy`` bytes of every class's mean layout (deterministic)."""
    stack = np.stack([mean_layout(doc, side) for doc, side in CLASSES])
    buf = io.BytesIO()
    np.save(buf, stack, allow_pickle=False)
    return buf.getvalue()


def convert(_source: Path, out_path: Path) -> Conversion:
    """Build and write atomically (signature shared with models.convert_dlib)."""
    start = time.perf_counter()
    data = build()
    return write_output(out_path, data, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.build_layouts", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = convert(default_dat_path(), args.out)
    print(f"path    {result.path}")
    print(f"sha256  {result.sha256}")
    print(f"size    {result.size_bytes} bytes ({result.elapsed_s:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
