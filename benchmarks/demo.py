"""The main job on an embedded default: verify a generated applicant and an impostor.

    python -m benchmarks.demo [--seed S] [--document drivers_license] [--out DIR] [--json]

Both applicants are drawn by the project's own generator (``benchmarks.synth``): the
genuine one sends their own card's front, tilted shot and back and a selfie; the impostor
sends the same card with another person's selfie. Faces come from LFW when
``../shared/data`` is there (``--data``), else from scikit-image's public-domain astronaut
(then genuine and impostor share a face, and the impostor is the one with another card in
the tilted shot). Each verdict is printed with its reasons and stage timings; ``--out``
keeps the shots and the evidence images.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from benchmarks.synth.applicant import SyntheticApplicant, make_applicant
from benchmarks.synth.identity import make_identity
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.types import DocumentType

_DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _run(verifier: Verifier, person: SyntheticApplicant, label: str, out_dir: Path | None,
         as_json: bool) -> None:  # fmt: skip
    start = time.perf_counter()
    verdict, frames = verifier.verify_with_frames(
        person.document_type,
        person.shots,
        **person.verify_kwargs(),  # type: ignore[arg-type]
    )
    elapsed_ms = (time.perf_counter() - start) * 1000
    if out_dir is not None:
        from ekyc.evidence import write_evidence

        folder = out_dir / label
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in person.shots.items():
            (folder / f"shot_{name}.jpg").write_bytes(data)
        write_evidence(folder / "evidence", verdict, frames)
    record = verdict.to_json() | {"applicant": label, "elapsed_ms": round(elapsed_ms, 1)}
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    what = "genuine" if person.genuine else f"impostor ({person.impostor})"
    sys.stdout.write(
        f"\n{label}: {what}, {person.document_type.value}, "
        f"{person.identity.name}\n  -> {record['decision'].upper()} "
        f"in {elapsed_ms:.0f} ms\n"
    )
    for reason in record["reasons"]:
        sys.stdout.write(f"     {reason['code']:<24} [{reason['stage']}] {reason['message']}\n")
    match = record["checks"].get("match")
    if match:
        sys.stdout.write(
            f"     face similarity {match['similarity']:.3f} "
            f"(threshold {match['threshold']:.3f}, {match['model']})\n"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=7000)
    parser.add_argument(
        "--document",
        default="drivers_license",
        choices=["drivers_license", "my_number_card", "residence_card"],
    )
    parser.add_argument("--data", type=Path, default=_DEFAULT_DATA)
    parser.add_argument("--out", type=Path, help="keep shots and evidence images here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    faces = args.data / "lfw_pairs_aligned112"
    faces_dir = faces if faces.is_dir() else None
    doc = DocumentType(args.document)
    if not args.json:
        source = f"LFW faces from {faces}" if faces_dir else "the astronaut face (no LFW data)"
        sys.stdout.write(f"ekyc demo: one genuine applicant and one impostor, {source}\n")
    verifier = Verifier.from_registry(Registry.from_manifest())
    impostor = "other_selfie" if faces_dir else "other_card"
    # The generator draws some documents already expired; the demo's applicant holds a valid one.
    seed = next(s for s in itertools.count(args.seed) if not make_identity(s, doc).expired)
    for label, kind in (("applicant-genuine", None), ("applicant-impostor", impostor)):
        person = make_applicant(seed, doc, faces_dir=faces_dir, impostor=kind)
        _run(verifier, person, label, args.out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
