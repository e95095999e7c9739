"""``python -m benchmarks.synth.contact_sheet --out sheet.png --n 24 --seed S``: scenes at a glance.

Each tile is labelled with kind, document, side, tilt and attack, and the ground-truth corners
are drawn (green, TL marked), so a glance checks realism and labels together.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from benchmarks.synth.generate import ALL_KINDS, generate
from benchmarks.synth.text import font

TILE = (480, 300)


def _label(rec: dict[str, object]) -> str:
    parts = [str(rec["kind"])]
    if rec.get("doc_type"):
        parts.append(f"{rec['doc_type']}/{rec['side']}")
    if rec.get("tilt_deg") is not None:
        parts.append(f"tilt {float(rec['tilt_deg']):.0f}°")  # type: ignore[arg-type]
    if rec.get("thickness_visible"):
        parts.append("edge")
    if rec.get("attack"):
        parts.append(f"attack={rec['attack']}")
    if rec.get("yaw_deg") is not None:
        parts.append(f"yaw {float(rec['yaw_deg']):.0f}°")  # type: ignore[arg-type]
    return "  ".join(parts)


def _tile(path: Path, rec: dict[str, object], draw_corners: bool) -> Image.Image:
    img = np.asarray(Image.open(path).convert("RGB")).copy()
    corners = rec.get("corners")
    if draw_corners and corners:
        pts = np.asarray(corners, np.float32) - 0.5
        cv2.polylines(
            img, [np.round(pts * 4).astype(np.int32)], True, (0, 255, 0), 3, cv2.LINE_AA, 2
        )
        cv2.circle(img, (round(pts[0, 0]), round(pts[0, 1])), 9, (255, 0, 0), 3, cv2.LINE_AA)
    tile = Image.fromarray(img)
    tile.thumbnail(TILE)
    canvas = Image.new("RGB", (TILE[0], TILE[1] + 22), (24, 24, 24))
    canvas.paste(tile, ((TILE[0] - tile.width) // 2, 0))
    ImageDraw.Draw(canvas).text((6, TILE[1] + 2), _label(rec), font=font(15), fill=(235, 235, 235))
    return canvas


def contact_sheet(
    out: Path,
    n: int = 24,
    seed: int = 0,
    *,
    kinds: tuple[str, ...] = ALL_KINDS,
    faces_dir: Path | None = None,
    data_dir: Path | None = None,
    cols: int = 4,
    draw_corners: bool = True,
) -> Path:
    """Render ``n`` scenes and tile them, labelled, into one PNG at ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        records = generate(Path(tmp), n, seed, kinds, faces_dir, data_dir=data_dir)
        seen: set[int] = set()
        tiles = []
        for rec in records:  # one frame per head-turn sequence is enough here
            if int(rec["index"]) in seen:  # type: ignore[call-overload]
                continue
            seen.add(int(rec["index"]))  # type: ignore[call-overload]
            tiles.append(_tile(Path(tmp) / str(rec["path"]), rec, draw_corners))
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (TILE[0] + 4), rows * (TILE[1] + 26)), (10, 10, 10))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % cols) * (TILE[0] + 4), (k // cols) * (TILE[1] + 26)))
    sheet.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.synth.contact_sheet", description=__doc__
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--faces", type=Path, default=None)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--no-corners", action="store_true", help="do not draw the ground-truth quads")
    args = p.parse_args(argv)
    contact_sheet(
        args.out,
        args.n,
        args.seed,
        faces_dir=args.faces,
        data_dir=args.data,
        draw_corners=not args.no_corners,
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
