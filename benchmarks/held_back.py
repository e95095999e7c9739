"""My Number backs held up in selfies: does the selfie step refuse them, and only them?

    python -m benchmarks.held_back [--n 40] [--seed 30000] [--size 720x1280]
                                   [--data ../shared/data] [--out DIR]

A selfie is screened on arrival like every shot (``Verifier.screen_shot(..., selfie=True)``):
a My Number card's back anywhere in it is refused before its bytes are kept. In a selfie
the head and shoulders make the strongest outline, so the whole frame's ``find_card`` can
return that outline and miss a card held at the chest or beside the face; the selfie is
searched again in windows (``ekyc.detect.find_held_my_number_back``). For ``--n`` generated
selfies per placement (``benchmarks.synth.held_card``: at the chest, beside the face; LFW
faces with ``--data``, else the astronaut) the report gives the share refused by the whole
frame alone and with the windows, the share of the same selfies without a card refused
(false refusals), and the CPU milliseconds of each part of the screen.

``--size`` is the selfies' (width, height) as rendered and sent (JPEG q90); they are
decoded as ``Verifier`` decodes shots (``PipelineConfig().decode``: a 12 MP phone selfie,
``--size 3024x4032``, arrives as 1512 x 2016 px), so the gate is measured on the pixels it
gets in ``verify`` and ``screen_shot``. The default 720 x 1280 is decoded whole, as before.

Stress renders (dev seeds only): ``--hide thumb:0.5`` covers half the held back's 2-D code's
width with a thumb, ``--hide glare:1.4`` lays a white disc 1.4x the code's side over it
(``held_card.hide_code``); ``--blur SIGMA`` blurs every selfie (with a card or not) by a
Gaussian of SIGMA px before the JPEG. A skip of the windows must keep every back these hide.
``--card TYPE:SIDE`` holds another card instead (``drivers_license:front``, ...): then every
refusal of a selfie holding it is a false one (the gate must keep other cards and fronts).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.report import Report, suite_main
from benchmarks.synth import make_identity
from benchmarks.synth.cards import render_card
from benchmarks.synth.generate import face_people, load_face
from benchmarks.synth.held_card import hide_code, hold_card
from benchmarks.synth.selfie import render_selfie
from ekyc import decode_image
from ekyc.config import PipelineConfig
from ekyc.detect import CardLayouts, find_held_my_number_back
from ekyc.detect.back import find_my_number_back
from ekyc.registry import Registry
from ekyc.types import DocumentType, Side

PLACES = ("chest", "beside_face")
_WHERE = {"chest": "at the chest", "beside_face": "beside the face"}
_SIZE = (720, 1280)
_DECODE = PipelineConfig().decode  # as ``Verifier`` decodes every shot
_BACK = "my_number_card:back"


def _jpeg(rgb: npt.NDArray[np.uint8]) -> bytes:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return bytes(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())


def _screen(data: bytes, layouts: CardLayouts) -> tuple[bool, bool, float, float]:
    """(whole frame refuses, windows refuse, whole ms, windows ms) in CPU time."""
    frame = decode_image(data, _DECODE)
    start = time.process_time()
    # As the selfie step searches it (``Verifier.screen_shot(selfie=True)``): no proposal,
    # and only where a candidate could be a My Number back.
    whole = find_my_number_back(frame, layouts) is not None
    middle = time.process_time()
    held = not whole and find_held_my_number_back(frame, layouts) is not None
    end = time.process_time()
    return whole, held, (middle - start) * 1000, (end - middle) * 1000 if not whole else 0.0


def _hide(spec: str | None) -> tuple[str, float] | None:
    """``--hide``'s ``how:cover`` (``held_card.hide_code``), None when not given."""
    if spec is None:
        return None
    how, _, cover = spec.partition(":")
    if how not in ("thumb", "glare") or not cover:
        raise ValueError(f"--hide must be thumb:COVER or glare:COVER, got {spec!r}")
    return how, float(cover)


def _card(spec: str) -> tuple[DocumentType, Side]:
    """``--card``'s ``type:side``."""
    doc, _, side = spec.partition(":")
    try:
        return DocumentType(doc), Side(side)
    except ValueError as err:
        raise ValueError(f"--card must be TYPE:SIDE, got {spec!r}") from err


def _blurred(sigma: float) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]:
    """The ``--blur`` applied to a rendered selfie (none at 0)."""
    if sigma <= 0.0:
        return lambda rgb: rgb
    return lambda rgb: np.asarray(cv2.GaussianBlur(rgb, (0, 0), sigma), np.uint8)


def run(args: argparse.Namespace, report: Report) -> None:
    faces_dir = args.data / "lfw_pairs_aligned112" if args.data else None
    people = face_people(faces_dir if faces_dir is not None and faces_dir.is_dir() else None)
    layouts = CardLayouts.from_registry(Registry.from_manifest())
    size = tuple(int(v) for v in args.size.lower().split("x"))
    hide = _hide(args.hide)
    doc, side = _card(args.card)
    held_name = ("My Number back" if (doc, side) == (DocumentType.MY_NUMBER_CARD, Side.BACK)
                 else f"{doc.value} {side.value}")  # fmt: skip
    blur = _blurred(args.blur)
    rows, results = [], {}
    clean_whole = clean_any = 0
    clean_ms: list[tuple[float, float]] = []
    for place in PLACES:
        n = whole_n = either_n = 0
        for seed in range(args.seed, args.seed + args.n):
            rng = np.random.default_rng([seed, 77])
            card = render_card(doc, side, make_identity(seed, doc), None)
            face = load_face(str(people[seed % len(people)][0]) if people else "astronaut")
            selfie, _ = render_selfie(face, (size[0], size[1]), rng)
            held, corners = hold_card(selfie, card, rng, place)
            if hide is not None:
                held = hide_code(held, corners, *hide)
            whole, windows, _, _ = _screen(_jpeg(blur(held)), layouts)
            n, whole_n, either_n = n + 1, whole_n + whole, either_n + (whole or windows)
            if place == PLACES[0]:  # the same selfie without the card, once
                w, h, ms_w, ms_h = _screen(_jpeg(blur(selfie)), layouts)
                clean_whole, clean_any = clean_whole + w, clean_any + (w or h)
                clean_ms.append((ms_w, ms_h))
        results[place] = {"n": n, "whole_frame_refused": whole_n / n, "refused": either_n / n}
        rows.append([f"{held_name} held {_WHERE[place]}", n,
                     f"{whole_n / n:.3f}", f"{either_n / n:.3f}"])  # fmt: skip
    m = len(clean_ms)
    rows.append(["no card (false refusals)", m, f"{clean_whole / m:.3f}", f"{clean_any / m:.3f}"])
    results["no_card"] = {"n": m, "whole_frame_refused": clean_whole / m,
                          "refused": clean_any / m}  # fmt: skip
    faces = "LFW" if people else "astronaut"
    report.section("Selfies screened on arrival",
                   f"seeds {args.seed}..{args.seed + args.n - 1}; faces: {faces}; "
                   f"{size[0]}x{size[1]} JPEG q90, decoded as verify decodes"
                   + (f"; code hidden: {args.hide}" if hide is not None else "")
                   + (f"; held: {args.card}" if args.card != _BACK else "")
                   + (f"; blurred: sigma {args.blur} px" if args.blur > 0 else ""))  # fmt: skip
    report.table(["selfie", "n", "refused, whole frame", "refused, with windows"], rows)
    whole_ms = float(np.median([w for w, _ in clean_ms]))
    windows_ms = float(np.median([h for _, h in clean_ms]))
    report.text(f"\nCPU ms per selfie without a card (median): whole frame {whole_ms:.0f}, "
                f"windows {windows_ms:.0f}.")  # fmt: skip
    results["cpu_ms_no_card"] = {"whole": whole_ms, "windows": windows_ms}
    report.results["held_back"] = results
    report.results["held_back_render"] = {"hide": args.hide, "blur_px": args.blur,
                                          "card": args.card}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=30000)
    parser.add_argument("--size", default=f"{_SIZE[0]}x{_SIZE[1]}", help="selfies WxH")
    parser.add_argument("--hide", default=None, help="thumb:COVER or glare:COVER (the code)")
    parser.add_argument("--blur", type=float, default=0.0, help="Gaussian sigma px, every selfie")
    parser.add_argument("--card", default=_BACK, help="the card held, TYPE:SIDE")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)


def main(argv: list[str] | None = None) -> int:
    return suite_main("python -m benchmarks.held_back", __doc__, add_arguments, run,
                      "ekyc bench held_back", argv)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
