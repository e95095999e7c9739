"""Score fusion of face embedders, as one more embedder that the registry names.

Why: on a card's printed portrait against a selfie, SFace and dlib's ResNet fail on different
pairs, and the sum of their z-normalised similarities beats either alone (ekyc bench match,
``--source cards``; the ``fusion z(sface+dlib)`` row of benchmarks/match_cards.py). A fused
model is a manifest entry of ``format = "fusion"`` whose file, a small JSON checksummed like
any model file, lists the member embedders with the mean and standard deviation of each
member's similarity over impostor pairs (``models/fuse.py``).

How: the fused descriptor is the members' descriptors side by side; its metric,
``zsum:METRIC,DIM,MEAN,STD;...`` (``ekyc.match.compare.similarities``), scores a pair by the
sum of the members' similarities, each z-normalised by its impostor mean and std, so
neither member's scale drowns the other's. Thresholds are calibrated on that sum like any
other model's.

The fused model takes crops aligned to its first member's template; a member with another
template gets the crop warped onto its own by the fixed similarity between the two
templates' points (as ``ekyc bench match`` gives every row the same 112 px crop).

An adapted fusion (``models/adapt.py``, #5's card portraits) adds, per member, a few
nuisance directions (``nap``: how a printed, photographed portrait or a selfie shifts a
face's unit descriptor) projected out of the member's descriptor (``nap_project``; the
length is kept), a member ``metric`` (cosine of what remains), and a ``quality`` term:
with ``q = min(|first member a|, |first member b|) - center`` (SFace's descriptor norm falls
with a degraded face), the score is ``z - beta * q + gamma * q * z`` (metric ``zsumq:``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.match.align import realign
from ekyc.match.embed import Embedder, OnnxEmbedder
from ekyc.registry import Registry
from ekyc.types import Embedding, ModelRef, RGBImage

__all__ = ["FUSION_FORMAT", "FusedEmbedder", "Member", "Quality", "load_embedder", "nap_project"]

FUSION_FORMAT = "fusion"


@dataclass(frozen=True, slots=True, eq=False)
class Member:
    """One member of a fusion: its embedder, descriptor size and impostor statistics."""

    embedder: Embedder
    dims: int
    impostor_mean: float
    impostor_std: float
    nap: npt.NDArray[np.float64] | None = None
    """``(r, dims)`` directions projected out of the descriptor (``nap_project``), or None."""
    metric: str | None = None
    """The member's metric in the fusion; None: its embedder's."""

    def __post_init__(self) -> None:
        if self.dims < 1 or not (np.isfinite(self.impostor_std) and self.impostor_std > 0):
            raise ValueError(f"member needs dims >= 1 and std > 0, got {self.dims}, "
                             f"{self.impostor_std}")  # fmt: skip
        if self.nap is not None and (self.nap.ndim != 2 or self.nap.shape[1] != self.dims):
            raise ValueError(f"nap must be (r, {self.dims}), got {self.nap.shape}")


@dataclass(frozen=True, slots=True)
class Quality:
    """``z - beta * q + gamma * q * z``, ``q = min(|first member|) - center`` (see module)."""

    center: float
    beta: float
    gamma: float


def nap_project(vectors: npt.NDArray[np.floating[Any]], nap: npt.NDArray[np.float64]
                ) -> npt.NDArray[np.float64]:  # fmt: skip
    """Unit rows without their components along ``nap``'s rows, made unit, times their length.

    The length is kept: the first member's descriptor norm is the quality term's signal.
    """
    x = np.asarray(vectors, np.float64)
    length = np.linalg.norm(x, axis=1, keepdims=True)
    u = np.divide(x, length, out=np.zeros_like(x), where=length > 0)
    if len(nap):
        u = u - (u @ nap.T) @ nap
        n = np.linalg.norm(u, axis=1, keepdims=True)
        u = np.divide(u, n, out=np.zeros_like(u), where=n > 0)
    out: npt.NDArray[np.float64] = u * length
    return out


class FusedEmbedder:
    """Members' descriptors side by side, compared by the sum of their z-scores.

    Example:
        >>> fused = load_embedder(Registry.from_manifest(), "face-embed/fusion-sface-int8-dlib@2")
        >>> fused.metric  # doctest: +SKIP
        'zsum:cosine,128,0.0994,0.08897;euclidean,128,-0.8193,0.08827'
    """

    def __init__(self, ref: ModelRef, members: Sequence[Member],
                 quality: Quality | None = None) -> None:  # fmt: skip
        if len(members) < 2:
            raise ValueError("a fusion needs two or more members")
        self._ref = ref
        self._members = tuple(members)
        self._quality = quality

    @property
    def model(self) -> ModelRef:
        """The fusion's manifest id + the sha256 of its definition file."""
        return self._ref

    @property
    def template(self) -> str:
        """The first member's alignment template."""
        return self._members[0].embedder.template

    @property
    def metric(self) -> str:
        """``zsum:`` + each member's metric, descriptor size, impostor mean and std.

        With a quality term: ``zsumq:CENTER,BETA,GAMMA|zsum:...``.
        """
        parts = (
            f"{m.metric or m.embedder.metric},{m.dims},{m.impostor_mean!r},{m.impostor_std!r}"
            for m in self._members
        )
        zsum = "zsum:" + ";".join(parts)
        if self._quality is None:
            return zsum
        q = self._quality
        return f"zsumq:{q.center!r},{q.beta!r},{q.gamma!r}|{zsum}"

    @property
    def members(self) -> tuple[Member, ...]:
        """The members, in the order their descriptors are concatenated."""
        return self._members

    def embed(self, crops: Sequence[RGBImage]) -> tuple[Embedding, ...]:
        """One fused descriptor per crop aligned to ``template``, in order."""
        if not crops:
            return ()
        parts = []
        for member in self._members:
            mine = crops
            if member.embedder.template != self.template:
                mine = [realign(c, self.template, member.embedder.template) for c in crops]
            vectors = np.stack([e.vector for e in member.embedder.embed(mine)])
            if vectors.shape[1] != member.dims:
                raise ValueError(f"{member.embedder.model.id} gave {vectors.shape[1]} "
                                 f"dimensions, the fusion declares {member.dims}")  # fmt: skip
            if member.nap is not None:
                parts.append(nap_project(vectors.astype(np.float64), member.nap).astype(np.float32))
            else:
                parts.append(vectors.astype(np.float32))
        fused = np.concatenate(parts, axis=1)
        return tuple(Embedding(vector=v.copy(), model=self._ref) for v in fused)


def load_embedder(
    registry: Registry,
    model_id: str,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> Embedder:
    """The embedder for ``model_id``: a fusion, a cascade or an ONNX embedder.

    A ``FusedEmbedder`` for a fusion entry, a ``CascadeEmbedder`` (``ekyc.match.cascade``)
    for a cascade entry, else an ``OnnxEmbedder``.

    A fusion's file (checksummed) is JSON: ``{"members": [{"id", "dims", "impostor_mean",
    "impostor_std"}, ...]}``; an adapted one's members also have ``nap`` (rows) and
    ``metric``, and the file a ``quality`` object (``center``, ``beta``, ``gamma``).
    """
    spec = registry.spec(model_id)
    if spec.format == "cascade":  # ekyc.match.cascade builds on this module
        from ekyc.match.cascade import load_cascade

        return load_cascade(registry, model_id, providers)
    if spec.format != FUSION_FORMAT:
        return OnnxEmbedder(registry, model_id, providers)
    raw: Any = json.loads(registry.path(model_id).read_text(encoding="utf-8"))
    members = [
        Member(
            OnnxEmbedder(registry, str(m["id"]), providers),
            int(m["dims"]),
            float(m["impostor_mean"]),
            float(m["impostor_std"]),
            np.asarray(m["nap"], np.float64).reshape(-1, int(m["dims"])) if "nap" in m else None,
            str(m["metric"]) if "metric" in m else None,
        )
        for m in raw["members"]
    ]
    q = raw.get("quality")
    quality = None if q is None else Quality(float(q["center"]), float(q["beta"]),
                                             float(q["gamma"]))  # fmt: skip
    return FusedEmbedder(spec.ref, members, quality)
