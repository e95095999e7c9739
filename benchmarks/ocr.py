"""How well does the OCR cross-check read synthetic cards, and how fast?

    python -m benchmarks.ocr --n 40 --ppm 10,12,15 --engines lib,cli

For each accepted document type, ``n`` identities are rendered (front side) both as clean
card faces and as photographed scenes (``benchmarks.synth``, kind ``front``: pose, glare,
fingers, blur, noise, JPEG) rectified with the ground-truth corners; ``sceneQ`` rows keep
the scenes that pass ``assess_quality`` (the capture gate before OCR). Rates are exact reads
after normalisation; ``addr sim`` is the mean ``similarity`` of address keys. ``name
gen/imp`` give the lowest genuine and highest impostor name similarity among reads that
were not exact: the evidence for the tolerance thresholds in ``ekyc.read.crosscheck``.
``name+`` and ``dob+`` count a field exact when the first read or the cross-check's second
read of a field that failed (the other way, flattened or plain: ``ekyc.stages.reading``) is. With
``--retake`` every scene is rendered again until the card is whole in the frame and the
capture gate passes, as the applicant generator (and the capture app) does; with ``--gate``
also while the daemon's key-field gate (``ekyc.screening.key_field_problems``: the name or
date of birth not legible on arrival) asks for it, at most ``JUDGED_RETAKES`` times as the
daemon does; the last column counts the retakes it asked for. With ``--applicants
--screened`` the retakes the daemon's screen asked for are counted by reason.

With ``--applicants N`` it measures the cross-check as ``verify`` runs it instead: N
generated applicants (``benchmarks.synth.applicant``, documents in turn, ``--screened``:
card shots retaken as the daemon asks on arrival), their front and tilted shots examined by
the image method, ``ekyc.stages.reading_stage`` against the applicant's own application and
against applications that differ from it in one field (another identity's name, address or
date of birth): genuine outcomes per field, and how often another person's field matched
(it must not); how often the name and date of birth were read exactly by the front's first
read and by some read of either shot; OCR CPU per genuine reading (one OpenBLAS thread).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.synth import make_identity, render_card, render_scene, sample_spec
from benchmarks.synth.applicant import CAPTURE_ATTEMPTS, in_frame
from ekyc.capture.quality import assess_quality
from ekyc.detect.rectify import rectify
from ekyc.read.fields import FieldName
from ekyc.read.normalize import similarity
from ekyc.read.ocr import SCREENED_FIELDS, FieldRead, flattened, normalize_value, read_fields
from ekyc.read.tesseract import LineReader, TesseractCli
from ekyc.screening import key_field_problems
from ekyc.types import CardQuad, DocumentType, Side
from loanflow.ekyc_session import JUDGED_RETAKES

DOCS = (DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD)


def machine_header() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"# machine: {cpu}, {cores} cores, load {load:.1f}, Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}, {dt.datetime.now():%Y-%m-%d %H:%M}\n"
        "# OCR: tesseract jpn, --psm 7 per field; ms = read_fields() wall time per card; cpu ms =\n"
        "# this process's CPU time (the uncontended cost; the cli engine's child process excluded)"
    )


def make_reader(name: str) -> LineReader:
    if name == "cli":
        return TesseractCli()
    from ekyc.read.tesslib import TesseractLib

    return TesseractLib()


def card_images(source: str, doc: DocumentType, seed: int, ppm: float, size: tuple[int, int],
                retake: bool = False, gate: Callable[[Any], bool] | None = None,
                asked: list[int] | None = None):  # fmt: skip
    """The rectified front (RGB at ``ppm``), its identity, and whether the shot passes quality.

    With ``retake`` a scene is rendered again (as ``benchmarks.synth.applicant`` does, up to
    its attempt limit) until the card is whole in the frame and passes the capture gate:
    the shots the capture app sends, hence the shots verification reads. ``gate``: the
    daemon's key-field gate on the rectified front (True: ask again), obeyed at most
    ``JUDGED_RETAKES`` times as the daemon's retake rule does; each retake it asks for is
    appended to ``asked`` (the attempt's index).
    """
    ident = make_identity(seed, doc)
    if source == "clean":
        return render_card(doc, Side.FRONT, ident, None, ppm).image, ident, True
    judged = 0
    for attempt in range(CAPTURE_ATTEMPTS if retake else 1):
        rng = np.random.default_rng([seed, 43, attempt] if retake else [seed, 99])
        spec = sample_spec("front", ident, size, rng)
        scene = render_scene(spec, rng)
        corners = np.asarray(scene.record["corners"], dtype=np.float32)
        passed = in_frame(corners, size) and assess_quality(scene.image, region=corners).passed
        if passed and gate is not None and judged < JUDGED_RETAKES:
            image = rectify(scene.image, CardQuad(corners, 1.0), px_per_mm=ppm).image
            if gate(image):
                judged += 1
                if asked is not None:
                    asked.append(attempt)
                continue
            return image, ident, passed
        if passed:
            break
    quad = CardQuad(corners, 1.0)
    return rectify(scene.image, quad, px_per_mm=ppm).image, ident, passed


def truth_of(ident) -> dict[FieldName, object]:
    return {
        FieldName.NAME: ident.name,
        FieldName.BIRTH_DATE: ident.birth,
        FieldName.ADDRESS: ident.address,
        FieldName.EXPIRY_DATE: ident.expiry,
        FieldName.LICENSE_NUMBER: ident.document_number,
    }


def other_name(doc: DocumentType, seed: int, name: str) -> str:
    """Another identity's name (the impostor of the name rule), never equal to ``name``."""
    while (other := make_identity(seed, doc).name) == name:
        seed += 7919
    return other


def evaluate(reader: LineReader, source: str, ppm: float, args: argparse.Namespace):
    """Per-source stats; scenes also under ``<source>Q`` when they pass capture quality."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for doc in DOCS:
        for i in range(args.n):
            asked: list[int] = []
            gate = key_field_gate(reader, doc, ppm) if args.gate else None
            image, ident, passed = card_images(source, doc, args.seed + i, ppm, args.size,
                                               args.retake, gate, asked)  # fmt: skip
            if args.gate:
                out[source]["asked"].append(len(asked))
            start, cpu = time.perf_counter(), time.process_time()
            reads = read_fields(image, doc, Side.FRONT, reader=reader, px_per_mm=ppm)
            elapsed_ms = (time.perf_counter() - start) * 1000.0
            cpu_ms = (time.process_time() - cpu) * 1000.0
            impostor = other_name(doc, args.seed + i + 7919, ident.name)
            missed = {r.field for r in reads.fields if r.value != wanted(r.field, ident)}
            again = read_other_way(image, doc, reader, ppm, missed)
            for key in (source, source + "Q") if source != "clean" and passed else (source,):
                out[key]["ms"].append(elapsed_ms)
                out[key]["cpu"].append(cpu_ms)
                for read in reads.fields:
                    truth = truth_of(ident)[read.field]
                    score(out[key], read, truth, impostor, args.verbose and key == source)
                    exact = read.field not in missed or (
                        again[read.field].value == wanted(read.field, ident)
                    )
                    out[key][read.field.value + "+"].append(float(exact))
    return out


def key_field_gate(reader: LineReader, doc: DocumentType, ppm: float) -> Callable[[Any], bool]:
    """The daemon's key-field gate on a rectified front (``Verifier.screen_shot``'s front
    step): True when its name or date of birth is not legible (``key_field_problems``)."""

    def asks_again(image: Any) -> bool:
        reads = read_fields(image, doc, Side.FRONT, reader=reader, px_per_mm=ppm,
                            only=SCREENED_FIELDS)  # fmt: skip
        return bool(key_field_problems(reads.fields))

    return asks_again


def read_other_way(image, doc: DocumentType, reader: LineReader, ppm: float,
                   fields: set[FieldName]) -> dict[FieldName, FieldRead]:  # fmt: skip
    """``fields`` read again the other way (``ekyc.read.ocr.flattened(field, second=True)``),
    as the cross-check's second read on the front does."""
    out: dict[FieldName, FieldRead] = {}
    for flat in (False, True):
        group = {f for f in fields if flattened(f, second=True) is flat}
        if group:
            reads = read_fields(image, doc, Side.FRONT, reader=reader, px_per_mm=ppm,
                                only=group, flatten=flat)  # fmt: skip
            out.update((r.field, r) for r in reads.fields)
    return out


def wanted(field: FieldName, ident) -> object:
    """The exact read of ``field`` (its normalised form) for identity ``ident``."""
    truth = truth_of(ident)[field]
    return truth if field.is_date else normalize_value(field, str(truth))


def score(stats, read, truth, other_name: str, verbose: bool) -> None:
    field = read.field
    want = truth if field.is_date else normalize_value(field, str(truth))
    stats[field.value].append(float(read.value == want))
    if field is FieldName.ADDRESS:
        stats["addr_sim"].append(similarity(str(read.value or ""), str(want)))
    if field is FieldName.NAME and read.value != want:
        stats["name_gen"].append(similarity(str(read.value or ""), str(want)))
    if field is FieldName.NAME:
        stats["name_imp"].append(
            similarity(str(read.value or ""), str(normalize_value(field, other_name)))
        )
    if verbose and read.value != want:
        print(f"  miss {field.value}: {read.raw_text!r} -> {read.value!r} want {want!r}"
              f" conf {read.confidence:.2f} glare {read.glare_fraction:.3f}")  # fmt: skip


def row(engine: str, source: str, ppm: float, s: dict[str, list[float]]) -> str:
    def pct(key: str) -> str:
        return f"{100 * np.mean(s[key]):5.1f}" if s[key] else "    -"

    gen = f"{min(s['name_gen']):.2f}" if s["name_gen"] else "-"
    ms = np.asarray(s["ms"])
    return (
        f"{engine:4} {source:6} {ppm:4.0f} {len(ms):4d} | {pct('name')} {pct('birth_date')} "
        f"{pct('name+')} {pct('birth_date+')} "
        f"{pct('address')} {np.mean(s['addr_sim']):8.3f} {pct('expiry_date')} "
        f"{pct('license_number')} | {gen:>4}/{max(s['name_imp']):.2f} | "
        f"{np.median(ms):6.1f} {np.percentile(ms, 90):6.1f} | {np.median(s['cpu']):6.1f}"
        + (f" | {int(sum(s['asked']))}" if "asked" in s else "")
    )


def crosscheck(args: argparse.Namespace) -> None:
    """The cross-check on generated applicants' shots, as ``verify`` reads them."""
    import dataclasses
    import itertools
    from collections import Counter

    from benchmarks.synth.applicant import make_applicant
    from benchmarks.verify_rates import _DaemonScreen
    from ekyc.blas import one_blas_thread
    from ekyc.capture.decode import decode_image
    from ekyc.methods.base import Evidence
    from ekyc.pipeline import Verifier
    from ekyc.registry import Registry
    from ekyc.stages.reading import reading_stage

    verifier = Verifier.from_registry(Registry.from_manifest())
    faces = args.data / "lfw_pairs_aligned112" if args.data else None
    reader = make_reader("lib")
    counts: Counter[str] = Counter()
    cpu: list[float] = []
    done = 0
    for seed in itertools.count(args.seed):
        doc = DOCS[done % len(DOCS)]
        if make_identity(seed, doc).expired:
            continue
        done += 1
        screen = _DaemonScreen(verifier, doc) if args.screened else None
        person = make_applicant(seed, doc, faces_dir=faces, challenge=False, screen=screen)
        if screen is not None:
            counts.update({f"retakes asked {code}": n for code, n in screen.retakes.items()})
            counts["fronts with a key-field retake"] += bool(screen.retakes["KEY_FIELDS_ILLEGIBLE"])
        frames = {k: decode_image(v) for k, v in person.shots.items() if k != "selfie"}
        findings = verifier.method.examine(doc, frames, Evidence())
        mine = person.application()
        evidence = Evidence()
        with one_blas_thread():
            start = time.process_time()
            reading_stage(findings, mine, person.today, reader, evidence)
            cpu.append((time.process_time() - start) * 1000.0)
        fields = evidence.checks.get("cross_check", {}).get("fields", {})
        codes = sorted({r.code.value for r in evidence.reasons})
        counts["genuine"] += 1
        counts["genuine all matched"] += all(f["outcome"] == "match" for f in fields.values())
        for name, check in fields.items():
            counts[f"{name} {check['outcome']}"] += 1
        for name, (first, any_view) in exact_reads(evidence, mine).items():
            counts[f"{name} read exact first"] += first
            counts[f"{name} read exact any view"] += any_view
        if args.verbose and not all(f["outcome"] == "match" for f in fields.values()):
            print(f"  {seed} {doc.value}: {codes} {evidence.checks.get('ocr')}")
        other = make_identity(seed + 7919, doc)
        latin = doc is DocumentType.RESIDENCE_CARD
        changes: dict[str, dict[str, Any]] = {
            "name": {"family_name": other.family_romaji if latin else other.family_kanji,
                     "given_name": other.given_romaji if latin else other.given_kanji},
            "address": {"address": other.address},
            "birth_date": {"birth_date": other.birth},
        }  # fmt: skip
        for name, change in changes.items():
            theirs = dataclasses.replace(mine, **change)
            if wanted_equal(name, mine, theirs):
                continue
            seen = Evidence()
            reading_stage(findings, theirs, person.today, reader, seen)
            outcome = seen.checks.get("cross_check", {}).get("fields", {}).get(name, {})
            counts[f"other {name}"] += 1
            counts[f"other {name} matched"] += outcome.get("outcome") == "match"
        if done == args.n:
            break
    print(f"# {done} applicants from seed {args.seed}, screened={args.screened}, "
          f"faces {'LFW' if faces else 'astronaut'}")  # fmt: skip
    for key in sorted(counts):
        print(f"{key:28} {counts[key]:5d}")
    print(f"OCR CPU ms per genuine reading (one OpenBLAS thread): p50 {np.median(cpu):.1f} "
          f"mean {np.mean(cpu):.1f} p90 {np.percentile(cpu, 90):.1f}")  # fmt: skip


def exact_reads(evidence, mine) -> dict[str, tuple[bool, bool]]:
    """Per name and date of birth: the front's first read exact, and some read exact.

    Some read: the first, or any second read the cross-check made (the front the other
    way, the tilted shot both ways); those are made only for a field that did not match.
    """
    ocr = evidence.checks.get("ocr", {})
    want = {"name": str(normalize_value(FieldName.NAME, mine.full_name)),
            "birth_date": mine.birth_date.isoformat()}  # fmt: skip
    out: dict[str, tuple[bool, bool]] = {}
    for name, value in want.items():
        first = ocr.get("fields", {}).get(name, {}).get("value") == value
        again = any(r["field"] == name and r["value"] == value for r in ocr.get("again", []))
        out[name] = (first, first or again)
    return out


def wanted_equal(field: str, mine, theirs) -> bool:
    """The other identity happens to share this field (nothing to test)."""
    if field == "name":
        return normalize_value(FieldName.NAME, mine.full_name) == normalize_value(
            FieldName.NAME, theirs.full_name
        )
    if field == "address":
        return normalize_value(FieldName.ADDRESS, mine.address) == normalize_value(
            FieldName.ADDRESS, theirs.address
        )
    return bool(mine.birth_date == theirs.birth_date)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="identities per document type")
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--ppm", default="12", help="rectification px/mm, comma-separated")
    ap.add_argument("--engines", default="lib", help="lib (in-process) and/or cli (binary)")
    ap.add_argument("--sources", default="clean,scene")
    ap.add_argument("--size", default="1920x1080", help="scene frame size")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--retake", action="store_true",
                    help="render scenes again until the capture gate passes")  # fmt: skip
    ap.add_argument("--gate", action="store_true",
                    help="with --retake: the daemon's key-field gate asks retakes too")  # fmt: skip
    ap.add_argument("--applicants", type=int, default=0,
                    help="cross-check N generated applicants as verify does instead")  # fmt: skip
    ap.add_argument("--screened", action="store_true",
                    help="with --applicants: card shots retaken as the daemon asks")  # fmt: skip
    ap.add_argument("--data", type=Path, default=None,
                    help="with --applicants: shared data folder (LFW faces)")  # fmt: skip
    args = ap.parse_args(argv)
    args.size = tuple(int(v) for v in args.size.split("x"))
    cv2.setNumThreads(1)
    print(machine_header())
    if args.applicants:
        args.n = args.applicants
        crosscheck(args)
        return
    print(f"# n={args.n} per type x {len(DOCS)} types, seed {args.seed}, scenes {args.size}")
    print(
        "eng  source  ppm    n |  name   dob name+  dob+  addr addr sim expiry licno "
        "| name gen/imp "
        "| ms p50    p90 | cpu ms p50" + (" | key-field retakes" if args.gate else "")
    )
    for engine in args.engines.split(","):
        try:
            reader = make_reader(engine)
        except Exception as exc:  # a failing engine becomes a row, not a crash
            print(f"{engine:4} unavailable: {exc}")
            continue
        for source in args.sources.split(","):
            for ppm in (float(v) for v in args.ppm.split(",")):
                for key, stats in evaluate(reader, source, ppm, args).items():
                    print(row(engine, key, ppm, stats), flush=True)


if __name__ == "__main__":
    main()
