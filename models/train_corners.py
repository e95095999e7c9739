"""Train the learned card-corner proposer (``card-corners/cornernet-s@1``) on synthetic scenes.

Two steps, so that the slow one can run where a GPU is:

``render``: card scenes drawn by ``benchmarks.synth`` (the kinds ``ekyc bench detect`` draws:
front, tilt, back, screen and photocopy reproductions, plus another applicant's card; fingers,
held cards, glare, clutter and low-contrast tables come with the scene sampler), written as
1280x720 JPEGs as a phone sends them, decoded, halved twice by ``cv2.pyrDown`` (what the
detector's runtime does: 320x180) and stored JPEG-compressed in one ``.npz`` with the four
card corners in 320x180 pixels. Needs the CJK font the synthetic cards draw with.

``train``: a small fully convolutional network (``CornerNet``: a stride-2 stem, depthwise
separable blocks down to stride 16, a light top-down path back to stride 4) with three heads
at stride 4: a corner heatmap (one class: the ordering is left to the detector, which orders
corners itself), a sub-cell offset of each corner, and the card's mask (auxiliary). Losses:
CenterNet's focal loss on Gaussian-splatted corners, L1 offsets at the corner cells, BCE on
the mask. Exported to ONNX (opset 17) with the heatmap already passed through a sigmoid.
Needs torch (``requirements-train.txt``); the runtime only needs onnxruntime.

    python -m models.train_corners render --n 3200 --seed 910000 --out DIR/corners.npz
    python -m models.train_corners train --data DIR/corners.npz --steps 6000 \
        --out models/corners/cornernet_s_v1.onnx [--log FILE] [--device cuda]

``anysize``: the exported graph rewritten to take any input size (``dynamic_graph``; the
runtime runs it on every shot at its own aspect, 320 px wide), on CPU, with onnx only:

    python -m models.train_corners anysize [--src models/corners/cornernet_s_v1.onnx] \
        [--out models/corners/cornernet_s_v1_anysize.onnx]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.learned import cells_to_pixels, corner_peaks, shrink

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "models" / "corners" / "cornernet_s_v1.onnx"
ANYSIZE_OUT = REPO / "models" / "corners" / "cornernet_s_v1_anysize.onnx"
INPUT_SIZE = (320, 180)  # width, height: 1280x720 halved twice
STRIDE = 4
RENDER_KINDS = ("front", "tilt", "back", "screen", "photocopy", "other_person")
JPEG_QUALITY = 92
CHUNK = 200
U8 = npt.NDArray[np.uint8]


# --------------------------------------------------------------------------- render


def _render_range(seed: int, start: int, stop: int) -> list[tuple[bytes, list[list[float]], str]]:
    """Scenes ``start .. stop-1`` of ``seed`` as ``benchmarks.synth.generate`` draws them
    (JPEG-compressed at the scene's quality, as written to disk there), shrunk and stored."""
    from benchmarks.synth import manifest
    from benchmarks.synth.generate import Job, render_index
    from ekyc.types import DocumentType

    cv2.setNumThreads(1)
    docs = tuple(d for d in DocumentType if d is not DocumentType.PASSPORT)  # bench detect's
    job = Job(Path("."), seed, RENDER_KINDS, docs, (1280, 720), "jpg", None, None)
    rows = []
    for index in range(start, stop):
        try:
            ((rec, img),) = render_index(job, index)
        except ValueError as exc:  # the sampler drew a pose it cannot project: skipped
            print(f"scene {seed}/{index} skipped: {exc}", file=sys.stderr, flush=True)
            continue
        fx = rec.get("effects")
        quality = int(fx.get("jpeg_quality", 90)) if isinstance(fx, dict) else 90
        make, model, taken = manifest.capture_info(int(str(rec["seed"])))
        exif = manifest.exif_bytes(make, model, float(str(rec["focal_35mm"])), taken)
        raw = np.frombuffer(manifest.encode(img, "jpg", quality, exif), np.uint8)
        bgr = cv2.imdecode(raw, cv2.IMREAD_COLOR)
        shrunk = shrink(bgr, INPUT_SIZE[0])  # what the detector's runtime does
        if shrunk is None or (shrunk[0].shape[1], shrunk[0].shape[0]) != INPUT_SIZE:
            raise ValueError(f"scene {seed}/{index}: not a 16:9 shot")
        small = shrunk[0]
        scale = small.shape[1] / bgr.shape[1]
        ok, enc = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        # pyrDown maps pixel centre x to (x + 0.5) / 2 - 0.5: twice, (x + 0.5) / 4 - 0.5
        pts = (np.asarray(rec["corners"], np.float64) + 0.5) * scale - 0.5
        info = {"kind": rec["kind"], "visible": rec["visible_fraction"], "seed": rec["seed"]}
        rows.append((enc.tobytes(), pts.tolist(), json.dumps(info)))
    return rows


def render(n: int, seed: int, out: Path, workers: int) -> None:
    """Render scenes ``0 .. n-1`` of ``seed`` into ``out``, saved after every ``CHUNK``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rows: list[tuple[bytes, list[list[float]], str]] = []
    t0 = time.time()
    ranges = [(s, min(n, s + 8)) for s in range(0, n, 8)]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=spawn) as pool:
        futures = [pool.submit(_render_range, seed, a, b) for a, b in ranges]
        for k, fut in enumerate(futures):
            rows += fut.result()
            every = max(CHUNK, n // 8)
            if len(rows) % every < 8 or k == len(futures) - 1:
                save(rows, out)
                print(f"rendered {len(rows)}/{n} in {time.time() - t0:.0f} s", flush=True)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {len(rows)} scenes)")


def save(rows: list[tuple[bytes, list[list[float]], str]], out: Path) -> None:
    lengths = np.array([len(r[0]) for r in rows], np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.npz")
    np.savez(
        tmp,
        jpeg=np.frombuffer(b"".join(r[0] for r in rows), np.uint8),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        corners=np.array([r[1] for r in rows], np.float32),
        meta=np.array([r[2] for r in rows]),
        size=np.array(INPUT_SIZE),
    )
    tmp.replace(out)


def load_many(paths: list[Path]) -> tuple[U8, npt.NDArray[np.float32], list[dict[str, Any]]]:
    parts = [load_data(p) for p in paths if p.is_file()]
    if not parts:
        raise FileNotFoundError(f"no data in {paths}")
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        [m for p in parts for m in p[2]],
    )


def load_data(path: Path) -> tuple[U8, npt.NDArray[np.float32], list[dict[str, Any]]]:
    """Decoded RGB images (N, H, W, 3), corners (N, 4, 2) and the per-scene metadata."""
    data = np.load(path)
    jpeg, offsets = data["jpeg"], data["offsets"]
    images = []
    for i in range(len(offsets) - 1):
        bgr = cv2.imdecode(jpeg[offsets[i] : offsets[i + 1]], cv2.IMREAD_COLOR)
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    meta = [json.loads(str(m)) for m in data["meta"]]
    return np.stack(images), data["corners"].astype(np.float32), meta


# --------------------------------------------------------------------------- train


def build_model() -> Any:
    """``CornerNet``: ~0.2 M parameters, three heads at stride 4 (see the module docstring)."""
    import torch
    from torch import nn

    def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
        )

    class DwSep(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                nn.BatchNorm2d(cin),
                nn.ReLU(),
                nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.skip = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return torch.relu(y + x if self.skip else y)

    class CornerNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = conv_bn(3, 16, 2)  # /2
            self.s4 = nn.Sequential(DwSep(16, 32, 2), DwSep(32, 32))  # /4
            self.s8 = nn.Sequential(DwSep(32, 64, 2), DwSep(64, 64))  # /8
            self.s16 = nn.Sequential(
                DwSep(64, 96, 2), DwSep(96, 96), DwSep(96, 96), DwSep(96, 96)
            )  # /16, wide context: which quad is the card
            self.s32 = nn.Sequential(DwSep(96, 128, 2), DwSep(128, 128))  # /32
            self.lat16 = nn.Conv2d(96, 64, 1)
            self.lat8 = nn.Conv2d(64, 64, 1)
            self.lat4 = nn.Conv2d(32, 64, 1)
            self.top = nn.Conv2d(128, 64, 1)
            self.mix16 = DwSep(64, 64)
            self.mix8 = DwSep(64, 64)
            self.mix4 = nn.Sequential(DwSep(64, 48), DwSep(48, 48))
            self.head = nn.Conv2d(48, 4, 1)  # heat logit, dx, dy, mask logit
            with torch.no_grad():  # corners are rare: start the heat near p = 0.01
                self.head.bias[0] = -4.6

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = (x - 128.0) / 64.0
            f4 = self.s4(self.stem(x))
            f8 = self.s8(f4)
            f16 = self.s16(f8)
            f32 = self.s32(f16)
            up = nn.functional.interpolate
            p16 = self.mix16(
                self.lat16(f16) + up(self.top(f32), size=f16.shape[-2:], mode="nearest")
            )
            p8 = self.mix8(self.lat8(f8) + up(p16, size=f8.shape[-2:], mode="nearest"))
            p4 = self.mix4(self.lat4(f4) + up(p8, size=f4.shape[-2:], mode="bilinear"))
            out: torch.Tensor = self.head(p4)
            return out

    return CornerNet()


class Exported:
    """The export wrapper: NHWC uint8-valued float input, sigmoid on heat and mask."""

    @staticmethod
    def wrap(model: Any) -> Any:
        import torch
        from torch import nn

        class Wrapped(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = model

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                y = self.net(x.permute(0, 3, 1, 2))
                return torch.cat(
                    [torch.sigmoid(y[:, :1]), y[:, 1:3], torch.sigmoid(y[:, 3:4])], dim=1
                )

        return Wrapped()


def targets(
    corners: npt.NDArray[np.float32], size: tuple[int, int], sigma: float = 1.0
) -> tuple[U8, npt.NDArray[np.float32]]:
    """Per scene: a card mask at stride 4 (uint8) and the corners (N, 4, 2) in stride-4 cells."""
    w, h = size[0] // STRIDE, size[1] // STRIDE
    masks = np.zeros((len(corners), h, w), np.uint8)
    for i, quad in enumerate(corners):
        pts = ((quad + 0.5) / STRIDE - 0.5) * 16.0
        cv2.fillConvexPoly(masks[i], np.round(pts).astype(np.int32), 1, cv2.LINE_AA, 4)
    cells = (corners + 0.5) / STRIDE - 0.5
    return masks, cells.astype(np.float32)


def train(
    data: list[Path], steps: int, out: Path, log: Path | None, device: str, batch: int, seed: int,
    minutes: float | None = None,
) -> None:  # fmt: skip
    """Train for ``steps`` steps, or for ``minutes`` of wall time when given (the learning
    rate then follows the elapsed share of it: the schedule ends with the time)."""
    import torch
    import torch.nn.functional as nnf

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    images, corners, _ = load_many(data)
    n = len(images)
    h, w = images.shape[1:3]
    hw, ww = h // STRIDE, w // STRIDE
    # Hold out every 20th scene to watch the corner error (never used for a choice here).
    val = np.arange(n) % 20 == 0
    tr_idx, va_idx = np.flatnonzero(~val), np.flatnonzero(val)
    masks, cells = targets(corners, (w, h))
    dev = torch.device(device)
    x_all = torch.from_numpy(images).to(dev)  # uint8 NHWC
    m_all = torch.from_numpy(masks).to(dev)
    c_all = torch.from_numpy(cells).to(dev)
    model = build_model().to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    torch.backends.cudnn.benchmark = True
    max_lr = 3e-3

    def rate(done: float) -> float:  # warm-up over 5 %, then cosine to 1 %
        if done < 0.05:
            return max_lr * (0.1 + 0.9 * done / 0.05)
        return max_lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (done - 0.05) / 0.95)))

    gy, gx = torch.meshgrid(
        torch.arange(hw, device=dev, dtype=torch.float32),
        torch.arange(ww, device=dev, dtype=torch.float32),
        indexing="ij",
    )
    lines = [f"scenes {n} (train {len(tr_idx)}, watch {len(va_idx)}), params {params}"]
    print(lines[0], flush=True)

    def batch_of(idx: npt.NDArray[np.int64], augment: bool) -> tuple[Any, Any, Any]:
        ii = torch.from_numpy(idx).to(dev)
        x = x_all[ii].float()  # (B, H, W, 3)
        m = m_all[ii].float()
        c = c_all[ii].clone()  # (B, 4, 2) cells
        if augment:
            b = len(idx)
            # Flips (the corners carry no order): x then y, image, mask and corners alike.
            fx = torch.rand(b, device=dev) < 0.5
            fy = torch.rand(b, device=dev) < 0.5
            x = torch.where(fx[:, None, None, None], x.flip(2), x)
            m = torch.where(fx[:, None, None], m.flip(2), m)
            c[:, :, 0] = torch.where(fx[:, None], (ww - 1) - c[:, :, 0], c[:, :, 0])
            x = torch.where(fy[:, None, None, None], x.flip(1), x)
            m = torch.where(fy[:, None, None], m.flip(1), m)
            c[:, :, 1] = torch.where(fy[:, None], (hw - 1) - c[:, :, 1], c[:, :, 1])
            # Colour: gain per channel, contrast, brightness, noise.
            gain = 1.0 + 0.15 * torch.randn(b, 1, 1, 3, device=dev)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            contrast = torch.exp(0.3 * torch.randn(b, 1, 1, 1, device=dev))
            shift = 20.0 * torch.randn(b, 1, 1, 1, device=dev)
            x = (x - mean) * contrast * gain + mean + shift
            x = x + torch.randn_like(x) * (4.0 * torch.rand(b, 1, 1, 1, device=dev))
            x = x.clamp(0.0, 255.0)
        return x.permute(0, 3, 1, 2).contiguous(), m, c

    def losses(y: Any, m: Any, c: Any) -> tuple[Any, Any, Any]:
        heat = y[:, 0]
        # Gaussian target: max over the corners in frame (sigma 1 cell = 4 px at 320x180).
        inside = (c[..., 0] > -0.5) & (c[..., 0] < ww - 0.5) & (c[..., 1] > -0.5)
        inside = inside & (c[..., 1] < hw - 0.5)
        d2 = (gx[None, None] - c[..., 0, None, None]) ** 2 + (
            gy[None, None] - c[..., 1, None, None]
        ) ** 2
        g = torch.exp(-d2 / 2.0) * inside[..., None, None]
        target = g.amax(dim=1)
        ix = c[..., 0].round().clamp(0, ww - 1).long()
        iy = c[..., 1].round().clamp(0, hw - 1).long()
        peak = torch.zeros_like(target)
        bi = torch.arange(len(c), device=dev)[:, None].expand_as(ix)
        peak[bi[inside], iy[inside], ix[inside]] = 1.0
        p = torch.sigmoid(heat).clamp(1e-4, 1 - 1e-4)
        pos = -((1 - p) ** 2) * torch.log(p) * peak
        neg = -((1 - target) ** 4) * (p**2) * torch.log(1 - p) * (1 - peak)
        focal = (pos.sum() + neg.sum()) / peak.sum().clamp(min=1.0)
        ox = y[:, 1][bi[inside], iy[inside], ix[inside]]
        oy = y[:, 2][bi[inside], iy[inside], ix[inside]]
        tx = c[..., 0][inside] - ix[inside].float()
        ty = c[..., 1][inside] - iy[inside].float()
        off = (ox - tx).abs().mean() + (oy - ty).abs().mean()
        mask = nnf.binary_cross_entropy_with_logits(y[:, 3], m)
        return focal, off, mask

    t0 = time.time()
    model.train()
    step, done, watched = 0, 0.0, 0
    while done < 1.0:
        step += 1
        done = (time.time() - t0) / (60.0 * minutes) if minutes else step / steps
        for group in opt.param_groups:
            group["lr"] = rate(min(done, 1.0))
        idx = rng.choice(tr_idx, size=batch, replace=False)
        x, m, c = batch_of(idx, augment=True)
        y = model(x)
        focal, off, mask = losses(y, m, c)
        loss = focal + off + 0.5 * mask
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if int(done * 20) > watched or done >= 1.0:
            watched = int(done * 20)
            model.eval()
            with torch.no_grad():
                err = _watch(model, x_all, c_all, va_idx, batch_of, dev)
            model.train()
            line = (
                f"step {step} loss {loss.item():.4f} focal {focal.item():.4f} off "
                f"{off.item():.4f} mask {mask.item():.4f} watch corner err px@320 median "
                f"{err[0]:.2f} p90 {err[1]:.2f} found4 {err[2]:.3f} ({time.time() - t0:.0f} s)"
            )
            print(line, flush=True)
            lines.append(line)
    lines.append(f"{step} steps of {batch}")
    model.eval().cpu()
    export(model, out)
    lines.append(f"exported {out} in {time.time() - t0:.0f} s")
    if log is not None:
        log.write_text("\n".join(lines) + "\n")


def _watch(model: Any, x_all: Any, c_all: Any, idx: Any, batch_of: Any, dev: Any) -> Any:
    """Median / p90 corner error (px at 320x180) of ``decode`` on the held-out scenes whose
    four corners are in frame, and the share of those where four peaks were found."""
    import torch

    errs: list[float] = []
    found = 0
    total = 0
    for start in range(0, len(idx), 64):
        part = idx[start : start + 64]
        x, _, c = batch_of(part, augment=False)
        y = model(x)
        out = torch.cat([torch.sigmoid(y[:, :1]), y[:, 1:3], torch.sigmoid(y[:, 3:4])], 1)
        out_np = out.cpu().numpy()
        truth = (c.cpu().numpy() + 0.5) * STRIDE - 0.5
        for k in range(len(part)):
            t = truth[k]
            if not ((t[:, 0] >= 0) & (t[:, 0] <= 319) & (t[:, 1] >= 0) & (t[:, 1] <= 179)).all():
                continue
            total += 1
            quad = decode_peaks(out_np[k])
            if quad is None:
                continue
            found += 1
            d = np.linalg.norm(quad[:, None] - t[None], axis=2)
            errs.extend(d.min(axis=0).tolist())
    if not errs:
        return (float("nan"), float("nan"), 0.0)
    return (float(np.median(errs)), float(np.percentile(errs, 90)), found / max(total, 1))


def decode_peaks(
    out: npt.NDArray[np.float32], floor: float = 0.3
) -> npt.NDArray[np.float32] | None:
    """The four strongest corner peaks (px at the input size), or None: the training watch,
    with the runtime's peak finding and cell mapping (``ekyc.detect.learned``)."""
    cells, _ = corner_peaks(out, floor, 4)
    if len(cells) < 4:
        return None
    return cells_to_pixels(cells, STRIDE).astype(np.float32)


def export(model: Any, out: Path) -> None:
    import torch

    wrapped = Exported.wrap(model).eval()
    dummy = torch.zeros(1, INPUT_SIZE[1], INPUT_SIZE[0], 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapped, (dummy,), str(out), input_names=["image"], output_names=["maps"],
        opset_version=17, dynamo=False,
    )  # fmt: skip


def dynamic_graph(src: Path, out: Path) -> str:
    """Rewrite the exported graph so that it takes any input size; returns the sha256.

    The legacy exporter baked the top-down path's upsampling sizes in as constants (the
    sizes of the stride-16, 8 and 4 maps of a 320x180 input): each ``Resize`` now takes
    its size from the lateral map it is added to (``Shape`` -> ``Slice`` [2:4]), and the
    input and output dimensions H and W are symbolic. The weights and every other node are
    unchanged, so at 320x180 the maps are the same (``ekyc.detect.learned`` then runs it on
    the shot at its own aspect, 320 px wide). Deterministic: the same ``src`` gives the
    same bytes.
    """
    import hashlib

    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    added = []
    for k, node in enumerate(n for n in list(graph.node) if n.op_type == "Resize"):
        concat = producer[node.input[3]]  # Concat(Slice(Shape(x))[0:2], const [h, w])
        (add,) = [c for c in consumers[node.output[0]] if c.op_type == "Add"]
        (target,) = [i for i in add.input if i != node.output[0]]
        shape, hw = f"/dyn/Shape_{k}", f"/dyn/Slice_{k}"
        starts, ends = f"/dyn/starts_{k}", f"/dyn/ends_{k}"
        for name, value in ((starts, 2), (ends, 4)):
            graph.initializer.append(numpy_helper.from_array(np.array([value]), name))
        added += [
            helper.make_node("Shape", [target], [shape + "_output_0"], name=shape),
            helper.make_node("Slice", [shape + "_output_0", starts, ends],
                             [hw + "_output_0"], name=hw),
        ]  # fmt: skip
        concat.input[1] = hw + "_output_0"
    # Topological order again: the new nodes read maps computed after the Concat's inputs.
    nodes = list(graph.node) + added
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    ordered: list[Any] = []
    while nodes:
        ready = [n for n in nodes if all(i in known for i in n.input)]
        if not ready:
            raise ValueError("the graph has a cycle or a missing input")
        for node in ready:
            ordered.append(node)
            known.update(node.output)
        nodes = [n for n in nodes if n not in ready]
    unused = {n.output[0] for n in ordered if n.op_type == "Constant"} - {
        i for n in ordered for i in n.input
    }
    del graph.node[:]
    graph.node.extend(n for n in ordered if not (n.op_type == "Constant" and n.output[0] in unused))
    for value, names in ((graph.input[0], ("batch", "height", "width")),
                         (graph.output[0], ("batch", "cells_y", "cells_x"))):  # fmt: skip
        dims = value.type.tensor_type.shape.dim
        spatial = (1, 2) if value is graph.input[0] else (2, 3)
        for index, name in zip(spatial, names[1:], strict=True):
            dims[index].Clear()
            dims[index].dim_param = name
    del graph.value_info[:]
    onnx.checker.check_model(model)
    data = model.SerializeToString(deterministic=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--n", type=int, default=3200)
    r.add_argument("--seed", type=int, default=910000)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--workers", type=int, default=2)
    t = sub.add_parser("train")
    t.add_argument("--data", type=Path, nargs="+", required=True)
    t.add_argument("--steps", type=int, default=6000)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", type=Path, default=DEFAULT_OUT)
    t.add_argument("--log", type=Path)
    t.add_argument("--device", default="cuda")
    t.add_argument("--minutes", type=float, help="train for this long instead of --steps")
    a = sub.add_parser("anysize", help="rewrite an exported graph to take any input size")
    a.add_argument("--src", type=Path, default=DEFAULT_OUT)
    a.add_argument("--out", type=Path, default=ANYSIZE_OUT)
    args = parser.parse_args(argv)
    if args.cmd == "anysize":
        print(f"wrote {args.out} (sha256 {dynamic_graph(args.src, args.out)})")
    elif args.cmd == "render":
        render(args.n, args.seed, args.out, args.workers)
    else:
        train(
            args.data, args.steps, args.out, args.log, args.device, args.batch, args.seed,
            args.minutes,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
