"""End-to-end decisions on generated applicants: how often genuine ones pass, impostors don't.

    python -m benchmarks.verify_rates [--n 10] [--seed 20000] [--data ../shared/data]
                                      [--kinds genuine,other_selfie,...] [--out DIR]
                                      [--application] [--screened]

For each kind, ``--n`` applicants (document types in turn, documents not expired, every
card shot retaken until the capture-quality gate passes, a performed liveness challenge)
go through one ``Verifier``. Reported per kind: accept / review / reject / refused counts
and the most frequent reason codes. Genuine applicants should be accepted; impostors never.
With ``--application`` each applicant also declares their name, birth date and address
(the genuine card's values), so the OCR cross-check runs; without, only the expiry is read.
With ``--screened`` every shot is first looked at as the daemon looks on arrival
(``Verifier.screen_shot(step=...)``, loanflow's rule ``asks_retake``): a shot it would
refuse for a retake is shot again (card problems as often as it takes; a judged blur,
glare, illegible name or date of birth, tilt, thickness or selfie-face problem at most
``loanflow.ekyc_session.JUDGED_RETAKES`` times per step, then kept; a retaken selfie is a
new challenge recording, in the applicant's next pose when the advice was about how the face
is held: turned, tilted, eyes hidden), so the figures are the daemon's; the retakes are
counted. A My Number back is refused either way. The challenge recording is judged on arrival too
(``Verifier.evaluate_challenge``, loanflow's ``challenge_retake`` and
``asks_challenge_retake``): one that failed for a reason the applicant can fix is recorded
again for a new challenge (``benchmarks.synth.applicant.retake_challenge``: the applicant
follows the advice and rests in their next pose, their next photo), at most
``CHALLENGE_RETAKES`` times, and the finish reuses the evaluation as the daemon's does. The
decisions without that retake (the first recording judged at the finish, as before the
daemon asked for it) are reported beside them.

``results.json`` also holds one row per applicant (``verify_rates_applicants``: seed,
decision, reasons, retakes, and the sha256 of every shot and of the challenge recording
as verified), so that two runs can be compared applicant by applicant: the same tree and
seeds gave the same figures at every load and thread count tried; a render that changed
(the generator, a retake judged otherwise) shows as another digest on that applicant's row.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from benchmarks.report import Report, suite_main
from benchmarks.synth.applicant import (
    IMPOSTOR_KINDS,
    Retake,
    SyntheticApplicant,
    make_applicant,
    retake_challenge,
)
from benchmarks.synth.identity import make_identity
from ekyc.errors import StepNotAllowed
from ekyc.liveness import LivenessResult
from ekyc.pipeline import Verifier
from ekyc.registry import Registry
from ekyc.screening import JUDGED
from ekyc.types import DocumentType, Side
from loanflow.ekyc_session import (
    CHALLENGE_RETAKES,
    JUDGED_RETAKES,
    asks_challenge_retake,
    asks_retake,
    challenge_retake,
)

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


class _DaemonScreen:
    """The daemon's look at one applicant's shots on arrival, with its retake rule
    (``loanflow.ekyc_session.asks_retake``)."""

    def __init__(self, verifier: Verifier, document: DocumentType) -> None:
        self.verifier = verifier
        self.document = document
        self.judged: Counter[str] = Counter()  # judged retakes asked, by step
        self.retakes: Counter[str] = Counter()  # every retake asked, by reason
        self.kept: set[str] = set()

    def __call__(self, step: str, data: bytes) -> bool | Retake:
        selfie = step == "selfie"
        try:
            seen = self.verifier.screen_shot(data, selfie=selfie, step=step)
        except StepNotAllowed:
            self.kept.add(step)
            return True  # refused outright, never stored: verify refuses it again below
        if selfie:
            problem = seen.selfie_retake_reason()
        else:
            problem = seen.retake_reason(self.document, Side.BACK if step == "back" else Side.FRONT)
        if problem is not None and asks_retake(problem, self.judged[step]) is None:
            problem = None  # kept: the verification decides
        if problem is None:
            self.kept.add(step)
            return True
        if problem.code in JUDGED:
            self.judged[step] += 1
        self.retakes[problem.code.value] += 1
        return Retake(problem.detail)  # the applicant may follow its advice

    def gave_up(self, shots: Iterable[str]) -> int:
        """Steps whose renders ran out before the screen kept one (the last one sent: the
        daemon would still be asking)."""
        return len(set(shots) - self.kept)


def _judge_challenge(verifier: Verifier, person: SyntheticApplicant, seed: int,
                     faces_dir: Path | None, screen: _DaemonScreen, asked: Counter[str]
                     ) -> tuple[SyntheticApplicant, LivenessResult | None]:  # fmt: skip
    """The daemon's look at the challenge recording on arrival, and its retakes: the person
    as finally recorded, and the evaluation the finish reuses (None: no challenge)."""
    retakes = 0
    while person.challenge is not None and person.frames is not None and person.now:
        result = verifier.evaluate_challenge(person.challenge, person.frames, now=person.now,
                                             selfie=person.shots["selfie"])  # fmt: skip
        advice = challenge_retake(result)
        if advice is None or asks_challenge_retake(retakes) is None:
            return person, result
        retakes += 1
        asked[advice.reason.value] += 1
        person = retake_challenge(person, seed, retakes, faces_dir=faces_dir, screen=screen)
    return person, None


def _digests(person: SyntheticApplicant) -> dict[str, str]:
    """The sha256 (first 16 hex digits) of each shot and of the challenge recording's
    frames, as verified: what an applicant's row was decided on."""
    found = {
        name: hashlib.sha256(data).hexdigest()[:16] for name, data in sorted(person.shots.items())
    }
    if person.frames is not None:
        frames = hashlib.sha256()
        for frame in person.frames.frames:
            frames.update(f"{frame.t_ms!r}{frame.image.shape}".encode())
            frames.update(frame.image.tobytes())
        found["frames"] = frames.hexdigest()[:16]
    return found


def run(args: argparse.Namespace, report: Report) -> None:
    faces = args.data / "lfw_pairs_aligned112" if args.data else None
    faces_dir = faces if faces is not None and faces.is_dir() else None
    verifier = Verifier.from_registry(Registry.from_manifest())
    rows, results = [], {}
    unexpected: list[list[object]] = []
    applicants: list[dict[str, object]] = []  # one row per applicant, for comparing runs
    for kind in args.kinds:
        outcomes: Counter[str] = Counter()
        codes: Counter[str] = Counter()
        retakes: Counter[str] = Counter()
        challenge_asked: Counter[str] = Counter()
        without: Counter[str] = Counter()  # decisions on the first recording
        for seed, doc in _seeds(args.seed, args.n):
            if kind == "my_number_back":
                doc = DocumentType.DRIVERS_LICENSE  # the back shot is a My Number card's
            screen = _DaemonScreen(verifier, doc) if args.screened else None
            person = make_applicant(seed, doc, faces_dir=faces_dir, screen=screen,
                                    impostor=None if kind == "genuine" else kind)  # fmt: skip
            first = person
            active = None
            asked_here: Counter[str] = Counter()
            gave_up = 0
            if screen is not None:
                person, active = _judge_challenge(verifier, person, seed, faces_dir, screen,
                                                  asked_here)  # fmt: skip
                challenge_asked.update(asked_here)
                retakes.update(screen.retakes)
                gave_up = screen.gave_up(person.shots)
                retakes["gave up (renders ran out)"] += gave_up
            row: dict[str, object] = {"kind": kind, "seed": seed, "document": doc.value}
            if screen is not None:
                row |= {"retakes": dict(screen.retakes), "challenge_retakes": dict(asked_here),
                        "gave_up": gave_up, "poses": person.pose}  # fmt: skip
            row["sha256"] = _digests(person)
            applicants.append(row)
            kwargs = person.verify_kwargs()
            if args.application:
                kwargs["applicant"] = person.application()
            try:
                if person is not first:  # judged at the finish as before the retakes
                    old = verifier.verify(doc, first.shots, **(kwargs | first.verify_kwargs()))  # type: ignore[arg-type]
                    without[old.decision.value] += 1
                    row["without_challenge_retakes"] = old.decision.value
                if active is not None:
                    kwargs["active"] = active
                verdict = verifier.verify(doc, person.shots, **kwargs)  # type: ignore[arg-type]
            except StepNotAllowed:
                outcomes["refused"] += 1
                without["refused"] += 1
                row["decision"] = "refused"
                continue
            row |= {"decision": verdict.decision.value, "reasons": list(verdict.codes)}
            similarity = verdict.checks.get("liveness", {}).get("card_portrait_similarity")
            if similarity is not None:  # SFace cosine, selfie vs card portrait
                row["portrait_similarity"] = similarity
            if person is first:
                without[verdict.decision.value] += 1
            outcomes[verdict.decision.value] += 1
            codes.update(verdict.codes)
            if (verdict.decision.value == "accept") != (kind == "genuine"):
                unexpected.append([kind, seed, doc.value, verdict.decision.value,
                                   ", ".join(verdict.codes) or "-"])  # fmt: skip
        n = sum(outcomes.values())
        top = ", ".join(f"{c} {k}" for c, k in ((c, f"{v}/{n}") for c, v in codes.most_common(4)))
        asked = ", ".join(f"{code} {count}" for code, count in retakes.most_common() if count)
        live_asked = ", ".join(f"{c} {k}" for c, k in challenge_asked.most_common())
        before = "/".join(str(without[d]) for d in ("accept", "review", "reject", "refused"))
        extra = [asked or "-", live_asked or "-", before] if args.screened else []
        rows.append([kind, n, outcomes["accept"], outcomes["review"], outcomes["reject"],
                     outcomes["refused"], top, *extra])  # fmt: skip
        results[kind] = {"outcomes": dict(outcomes), "codes": dict(codes),
                         "retakes": dict(retakes)}  # fmt: skip
        if args.screened:
            results[kind] |= {"challenge_retakes": dict(challenge_asked),
                              "outcomes_without_challenge_retakes": dict(without)}  # fmt: skip
    fields = "application cross-checked" if args.application else "expiry only"
    flow = (f"; shots screened as the daemon does on arrival (judged retakes at most "
            f"{JUDGED_RETAKES} per step), the challenge recording too (retakes at most "
            f"{CHALLENGE_RETAKES}; the decisions without them in the last column, "
            f"accept/review/reject/refused)" if args.screened else "")  # fmt: skip
    people = "LFW" if faces_dir else "astronaut"
    report.section("Decisions on generated applicants",
                   f"{args.n} applicants per kind from seed {args.seed}; faces {people}; "
                   f"1280x720 shots; {fields}{flow}")  # fmt: skip
    header = ["kind", "n", "accept", "review", "reject", "refused", "top reasons"]
    screened = ["retakes asked", "challenge retakes asked", "without challenge retakes"]
    report.table([*header, *(screened if args.screened else [])], rows)
    report.results["verify_rates"] = results
    report.results["verify_rates_applicants"] = applicants
    if unexpected:
        report.section("Cases to look at",
                       "genuine applicants not accepted and attacks accepted, by seed, to "
                       "render again with `make_applicant(seed, document, ...)`")  # fmt: skip
        report.table(["kind", "seed", "document", "decision", "reasons"], unexpected)
        report.results["verify_rates_cases"] = [
            dict(zip(("kind", "seed", "document", "decision", "reasons"), row, strict=True))
            for row in unexpected
        ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--kinds", type=lambda s: s.split(","),
                        default=["genuine", *IMPOSTOR_KINDS])  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--application", action="store_true",
                        help="cross-check the card with the applicant's declared data")  # fmt: skip
    parser.add_argument("--screened", action="store_true",
                        help="retake card shots as the daemon asks on arrival")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.verify_rates", __doc__, add_arguments, run,
                      "ekyc end-to-end decisions", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
