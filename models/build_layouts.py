"""Build the card-layout templates that ``ekyc.detect.classify`` recognises documents with.

Why templates: every card of one type and side shares its printed layout (colour bands,
labels, tables, the portrait's place); only the personal fields differ. Averaging many
rendered cards of different synthetic people keeps the layout and washes out the personal
part. The same mean is what ``ekyc.detect.same_card`` subtracts to compare two shots by
their personal part alone.

The cards are drawn by the project's own generator (``benchmarks.synth``), so the output is
reproducible from code: same packages and fonts, same bytes, checked by the manifest's
sha256. Format: one ``.npy`` float32 array ``(classes, H, W, 3)`` in 0..1 RGB at
``PX_PER_MM`` pixels per mm of an ID-1 card, classes in the manifest's ``classes`` order.

    python -m models.build_layouts [--out models/build/card_layouts_v1.npy]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True, slots=True)
class Conversion:
    """What a build wrote (the interface models.prepare expects)."""

    path: Path
    sha256: str
    size_bytes: int
    elapsed_s: float


def default_dat_path() -> Path:
    """No input file: the generator's code is the source (kept for models.prepare)."""
    return Path(__file__)


def mean_layout(doc: str, side: str) -> npt.NDArray[np.float32]:
    """The average of PEOPLE_PER_CLASS rendered cards, squeezed to the ID-1 template size."""
    from benchmarks.synth.cards import render_card
    from benchmarks.synth.identity import make_identity
    from ekyc.types import DocumentType, Side

    doc_type, card_side = DocumentType(doc), Side(side)
    total = np.zeros((SIZE[1], SIZE[0], 3), np.float64)
    for person in range(PEOPLE_PER_CLASS):
        identity = make_identity(900_000 + person, doc_type)
        face = render_card(doc_type, card_side, identity, None, px_per_mm=8.0)
        small = cv2.resize(face.image, SIZE, interpolation=cv2.INTER_AREA)
        total += small.astype(np.float64) / 255.0
    return (total / PEOPLE_PER_CLASS).astype(np.float32)


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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out_path)
    digest = hashlib.sha256(data).hexdigest()
    return Conversion(out_path, digest, len(data), time.perf_counter() - start)


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
