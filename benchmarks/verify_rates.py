"""End-to-end decisions on generated applicants: how often genuine ones pass, impostors don't.

    python -m benchmarks.verify_rates [--n 10] [--seed 20000] [--data ../shared/data]
                                      [--kinds genuine,other_selfie,...] [--out DIR]
                                      [--application]

For each kind, ``--n`` applicants (document types in turn, documents not expired, every
card shot retaken until the capture-quality gate passes, a performed liveness challenge)
go through one ``Verifier``. Reported per kind: accept / review / reject / refused counts
and the most frequent reason codes. Genuine applicants should be accepted; impostors never.
With ``--application`` each applicant also declares their name, birth date and address
(the genuine card's values), so the OCR cross-check runs; without, only the expiry is read.
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter
from pathlib import Path

from benchmarks.report import Report, suite_main
from benchmarks.synth.applicant import IMPOSTOR_KINDS, make_applicant
from benchmarks.synth.identity import make_identity
from ekyc.errors import StepNotAllowed
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.types import DocumentType

_DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD)


def _seeds(start: int, n: int) -> list[tuple[int, DocumentType]]:
    """The first ``n`` (seed, document) pairs from ``start`` whose document is not expired."""
    found: list[tuple[int, DocumentType]] = []
    for seed in itertools.count(start):
        doc = _DOCS[len(found) % len(_DOCS)]
        if not make_identity(seed, doc).expired:
            found.append((seed, doc))
        if len(found) == n:
            return found
    return found


def run(args: argparse.Namespace, report: Report) -> None:
    faces = args.data / "lfw_pairs_aligned112" if args.data else None
    faces_dir = faces if faces is not None and faces.is_dir() else None
    verifier = Verifier.from_registry(Registry.from_manifest())
    rows, results = [], {}
    for kind in args.kinds:
        outcomes: Counter[str] = Counter()
        codes: Counter[str] = Counter()
        for seed, doc in _seeds(args.seed, args.n):
            if kind == "my_number_back":
                doc = DocumentType.DRIVERS_LICENSE  # the back shot is a My Number card's
            person = make_applicant(seed, doc, faces_dir=faces_dir,
                                    impostor=None if kind == "genuine" else kind)  # fmt: skip
            kwargs = person.verify_kwargs()
            if args.application:
                kwargs["applicant"] = person.application()
            try:
                verdict = verifier.verify(doc, person.shots, **kwargs)  # type: ignore[arg-type]
            except StepNotAllowed:
                outcomes["refused"] += 1
                continue
            outcomes[verdict.decision.value] += 1
            codes.update(verdict.codes)
        n = sum(outcomes.values())
        top = ", ".join(f"{c} {k}" for c, k in ((c, f"{v}/{n}") for c, v in codes.most_common(4)))
        rows.append([kind, n, outcomes["accept"], outcomes["review"], outcomes["reject"],
                     outcomes["refused"], top])  # fmt: skip
        results[kind] = {"outcomes": dict(outcomes), "codes": dict(codes)}
    fields = "application cross-checked" if args.application else "expiry only"
    report.section("Decisions on generated applicants",
                   f"{args.n} applicants per kind from seed {args.seed}; faces "
                   f"{'LFW' if faces_dir else 'astronaut'}; 1280x720 shots; {fields}")  # fmt: skip
    report.table(["kind", "n", "accept", "review", "reject", "refused", "top reasons"], rows)
    report.results["verify_rates"] = results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--kinds", type=lambda s: s.split(","),
                        default=["genuine", *IMPOSTOR_KINDS])  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--application", action="store_true",
                        help="cross-check the card with the applicant's declared data")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.verify_rates", __doc__, add_arguments, run,
                      "ekyc end-to-end decisions", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
