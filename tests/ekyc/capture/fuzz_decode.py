"""Mutation fuzzer for ``decode_image``; run as a module so a crash or leak is contained.

``python -m tests.ekyc.capture.fuzz_decode --cases N --seed S`` prints one JSON object: the
number of cases, outcomes by error code, any exception that was not an ``EkycError``, and
the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import struct
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ekyc.capture.decode import decode_image
from ekyc.errors import EkycError
from tests.factories import encode, jpeg_with_exif, scene


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png_with_dims(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A valid-CRC PNG whose IHDR claims any size: the classic small-file bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 256))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_with_dims(data: bytes, width: int, height: int) -> bytes:
    """Patch the SOF marker of a baseline JPEG to declare another size."""
    at = data.find(b"\xff\xc0")
    if at < 0:
        return data
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def corpus() -> dict[str, bytes]:
    """Seeds covering every decoder path and the awkward modes."""
    img = scene(64, 48)
    frames = [Image.fromarray(img), Image.fromarray(255 - img)]
    animated = io.BytesIO()
    frames[0].save(animated, "WEBP", save_all=True, append_images=frames[1:])
    pal = Image.fromarray(img).convert("P")
    baseline = encode(img, "JPEG", quality=85)
    return {
        "jpeg_exif.jpg": jpeg_with_exif(img, orientation=6),
        "jpeg_progressive.jpg": encode(img, "JPEG", progressive=True),
        "cmyk.jpg": encode(Image.fromarray(img).convert("CMYK"), "JPEG"),
        "png.png": encode(img, "PNG"),
        "png16.png": encode(
            Image.fromarray((np.arange(64 * 48, dtype=np.uint16) * 21).reshape(48, 64)), "PNG"
        ),
        "palette.png": encode(pal, "PNG", transparency=0),
        "rgba.png": encode(Image.fromarray(img).convert("RGBA"), "PNG"),
        "webp.webp": encode(img, "WEBP"),
        "animated.webp": animated.getvalue(),
        "heic.heic": encode(img, "HEIF"),
        "tiff.tif": encode(img, "TIFF"),
        "pdf.pdf": encode(img, "PDF"),
        "bomb.png": _png_with_dims(60_000, 60_000),
        "bomb16.png": _png_with_dims(30_000, 30_000, depth=16),
        "bomb.jpg": _jpeg_with_dims(baseline, 65_000, 65_000),
        "wide.jpg": _jpeg_with_dims(baseline, 65_000, 1),
        "gif.gif": encode(img, "GIF"),
        "empty.jpg": b"",
    }


def _mutations(rng: random.Random) -> list[Callable[[bytes], bytes]]:
    def truncate(d: bytes) -> bytes:
        return d[: rng.randrange(len(d) + 1)]

    def flip_bits(d: bytes) -> bytes:
        if not d:
            return d
        buf = bytearray(d)
        for _ in range(rng.randint(1, 24)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        return bytes(buf)

    def overwrite(d: bytes) -> bytes:
        if not d:
            return d
        i = rng.randrange(len(d))
        n = rng.randint(1, 64)
        return d[:i] + rng.randbytes(n) + d[i + n :]

    def insert(d: bytes) -> bytes:
        i = rng.randrange(len(d) + 1)
        return d[:i] + rng.randbytes(rng.randint(1, 256)) + d[i:]

    def duplicate(d: bytes) -> bytes:
        if len(d) < 2:
            return d + d
        i, j = sorted(rng.sample(range(len(d)), 2))
        return d[:j] + d[i:j] + d[j:]

    def header_only(d: bytes) -> bytes:
        return d[: rng.randint(0, 64)]

    def interesting_ints(d: bytes) -> bytes:
        if len(d) < 8:
            return d
        i = rng.randrange(len(d) - 4)
        value = rng.choice([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 65_000])
        return d[:i] + struct.pack(">I", value) + d[i + 4 :]

    return [truncate, flip_bits, overwrite, insert, duplicate, header_only, interesting_ints]


def run(cases: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    seeds = corpus()
    names = sorted(seeds)
    mutations = _mutations(rng)
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(cases):
            name = names[case % len(names)]
            data = seeds[name]
            for _ in range(rng.choice((0, 1, 1, 2, 3))):  # 0: the seed itself, unmutated
                data = rng.choice(mutations)(data)
            source: bytes | Path = data
            if case % 10 == 0:  # through the file system, under a wrong extension
                source = Path(tmp) / f"case{case}{rng.choice(['.jpg', '.png', '.heic', ''])}"
                source.write_bytes(data)
            try:
                decode_image(source)
                outcomes["decoded"] += 1
            except EkycError as exc:
                outcomes[exc.code] += 1
            except Exception as exc:  # the property under test: nothing else escapes
                unexpected.append(f"{name} case {case}: {type(exc).__name__}: {exc}"[:300])
    return {
        "cases": cases,
        "outcomes": dict(outcomes),
        "unexpected": unexpected[:20],
        "unexpected_count": len(unexpected),
        "peak_rss_mb": round(_peak_kib() / 1024, 1),
    }


def _peak_kib() -> int:
    """Peak resident memory of this process image.

    VmHWM belongs to the address space made by exec; ``ru_maxrss`` survives exec and would
    report the (large) pytest parent's size at fork time instead of ours.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    sys.stdout.write(json.dumps(run(args.cases, args.seed)) + "\n")


if __name__ == "__main__":
    main()
