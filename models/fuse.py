"""Impostor statistics of a fused face embedder (ekyc.match.fusion) from LFW.

Each member's similarity (its own metric) over the impostor pairs of the LFW development
folds 1-6, the 112 px crops as given (ArcFace-aligned; a member with another template gets
the crop warped onto its own, as ``ekyc bench match`` does): mean and standard deviation,
rounded to 4 significant digits. Written to a small JSON that the fusion's manifest entry
names and checksums; rerun it, then update that entry's sha256 and size (and recalibrate).

    python -m models.fuse --data ../shared/data/lfw_pairs_aligned112 \
        --members face-embed/sface-2021dec-int8@1,face-embed/dlib-resnet-v1@1 \
        --out models/fusion/sface-int8-dlib.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import cv2

    from ekyc.match import TEMPLATES, OnnxEmbedder, align_face, similarities
    from ekyc.registry import Registry

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="lfw_pairs_aligned112")
    parser.add_argument("--members", required=True, help="comma-separated registry ids")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    with (args.data / "pairs.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["fold"] in "123456" and r["same"] == "0"]
    names = sorted({r["img1"] for r in rows} | {r["img2"] for r in rows})
    index = {n: i for i, n in enumerate(names)}
    pairs = [(index[r["img1"]], index[r["img2"]]) for r in rows]
    images = [np.ascontiguousarray(cv2.imread(str(args.data / n))[:, :, ::-1]) for n in names]
    registry = Registry.from_manifest(threads=1)
    members = args.members.split(",")
    entries: list[dict[str, object]] = []
    for model_id in members:
        embedder = OnnxEmbedder(registry, model_id)
        tpl = TEMPLATES["arcface-5pt-112"]
        vectors = []
        for start in range(0, len(images), 32):
            crops = [
                im
                if embedder.template == tpl.name
                else align_face(im, tpl.points * (im.shape[1] / tpl.size), embedder.template)
                for im in images[start : start + 32]
            ]
            vectors += [e.vector for e in embedder.embed(crops)]
        v = np.stack(vectors)
        a, b = (list(x) for x in zip(*pairs, strict=True))
        sims = similarities(v[a], v[b], embedder.metric)
        entries.append(
            {
                "id": model_id,
                "dims": int(v.shape[1]),
                "impostor_mean": float(f"{sims.mean():.4g}"),
                "impostor_std": float(f"{sims.std():.4g}"),
            }
        )
    out = {
        "members": entries,
        "source": "models/fuse.py: mean and std of each member's similarity over "
        f"the {len(pairs)} impostor pairs of LFW folds 1-6 (112 px crops as given)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
