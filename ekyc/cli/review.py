"""``ekyc review CASES_DIR``: re-run every stored case and show which decisions changed.

Why: a reviewer (or an engineer after a model or threshold change) re-verifies the cases
already decided, with today's models, and looks at the ones whose decision moved. Cases run
in parallel threads sharing one loaded ``Verifier`` (the image libraries release the GIL).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

from ekyc.cli._case import Case, CaseError, case_from_folder
from ekyc.cli._common import EXIT_DATAERR, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from ekyc.config import VERIFY_MODEL_THREADS
from ekyc.errors import EkycError

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the subcommand to the ``ekyc`` parser."""
    review = sub.add_parser(
        "review",
        help="re-run every case folder and summarise the decisions that changed",
        description="A case folder holds the shots verify takes plus the stored verdict.json. "
        "Exit 0 when no decision changed, 1 when some did, 65 when a case could not run.",
    )
    review.add_argument("cases", metavar="CASES_DIR")
    review.add_argument("--workers", type=int, default=2, help="parallel cases (threads)")
    review.add_argument("--json", action="store_true", help="one JSON object per case")
    review.add_argument("--update", action="store_true",
                        help="write each new verdict over the stored verdict.json")  # fmt: skip
    review.set_defaults(handler=_run_review)


def _run_review(args: argparse.Namespace, out: TextIO) -> int:
    from ekyc.pipeline import Verifier
    from ekyc.registry import Registry

    folders = sorted(p for p in Path(args.cases).iterdir() if p.is_dir())
    if not folders:
        sys.stderr.write(f"ekyc review: no case folders in {args.cases}\n")
        return EXIT_USAGE
    verifier = Verifier.from_registry(Registry.from_manifest(threads=VERIFY_MODEL_THREADS))
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = {pool.submit(_rerun, verifier, folder, args.update): folder
                   for folder in folders}  # fmt: skip
        for done, future in enumerate(as_completed(futures), start=1):
            rows.append(future.result())
            sys.stderr.write(f"\rekyc review: {done}/{len(folders)} cases")
            sys.stderr.flush()
    sys.stderr.write("\n")
    rows.sort(key=lambda row: row["case"])
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n" if args.json else _line(row))
    if not args.json:
        out.write(_summary(rows))
    if any(row["error"] for row in rows):
        return EXIT_DATAERR
    return EXIT_FAIL if any(row["changed"] for row in rows) else EXIT_OK


def _rerun(verifier: Any, folder: Path, update: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"case": folder.name, "before": None, "after": None,
                           "changed": False, "new_codes": [], "error": None}  # fmt: skip
    try:
        case, stored = case_from_folder(folder)
        row["before"] = (stored or {}).get("decision")
        verdict = _verify(verifier, case)
    except (CaseError, EkycError) as exc:
        code = exc.code if isinstance(exc, EkycError) else "invalid_case"
        return row | {"error": {"code": code, "message": str(exc)}}
    record = verdict.to_json() | {"document": case.document}
    before_codes = {r["code"] for r in (stored or {}).get("reasons", [])}
    row |= {
        "after": record["decision"],
        "changed": record["decision"] != row["before"],
        "new_codes": sorted({r["code"] for r in record["reasons"]} - before_codes),
    }
    if update:
        (folder / "verdict.json").write_text(json.dumps(record, ensure_ascii=False, indent=2),
                                             encoding="utf-8")  # fmt: skip
    return row


def _verify(verifier: Any, case: Case) -> Any:
    return verifier.verify(case.document, case.shots, **case.kwargs)


def _line(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"{row['case']:<28} ERROR {row['error']['code']}: {row['error']['message']}\n"
    mark = "CHANGED" if row["changed"] else "same   "
    extra = f"  new: {', '.join(row['new_codes'])}" if row["new_codes"] else ""
    return f"{row['case']:<28} {mark} {row['before']} -> {row['after']}{extra}\n"


def _summary(rows: list[dict[str, Any]]) -> str:
    moves = Counter((row["before"], row["after"]) for row in rows if not row["error"])
    lines = ["", "before -> after        cases"]
    lines += [f"{b!s:<8} -> {a!s:<8} {n:>8}" for (b, a), n in sorted(moves.items(),
                                                                           key=str)]  # fmt: skip
    errors = sum(1 for row in rows if row["error"])
    changed = sum(1 for row in rows if row["changed"])
    lines.append(f"{len(rows)} cases, {changed} changed, {errors} could not run")
    return "\n".join(lines) + "\n"
