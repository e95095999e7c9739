"""A cascade: one cheap member screens each pair; the fusion decides only what it cannot.

Why: the fusion (``ekyc.match.fusion``) meets the accuracy targets that neither member meets
alone, but it runs both networks on every face (int8 SFace ~14 ms, int8 dlib ~5 ms CPU).
Most pairs are clear on dlib's distance alone: on LFW and on card portrait vs selfie pairs,
most genuine pairs score above every impostor and most impostors below every genuine pair
the fusion accepts. Only pairs between those two bounds need SFace.

How: a manifest entry of ``format = "cascade"`` names a small JSON (checksummed like any
model file): ``{"fusion": ID, "screen": ID, "reject_below": LO, "accept_from": HI}``, the
screen a member of the fusion and ``LO``/``HI`` in the screen's own similarity scale (minus
dlib's distance), chosen by ``benchmarks/match_cascade.py`` on LFW folds 1-6 and the card
pairs (HI: above every impostor; LO: below every genuine pair the fusion accepts at its
loosest calibrated threshold). ``CascadeEmbedder.embed`` runs only the screen and returns
``StagedEmbedding``s that keep the aligned crop; ``ekyc.match.compare`` decides:

* screen similarity >= HI: a match, ``MatchScore(similarity=screen, threshold=HI)``;
* screen similarity < LO: no match, ``MatchScore(similarity=screen, threshold=LO)``;
* otherwise both embeddings are finished (the fusion's other members run on the kept crops,
  once per embedding) and the fused similarity is judged against the calibrated threshold
  (the fusion's, copied into the cascade's entry).

So a result's similarity and threshold are on the screen's scale when the screen decided and
on the fusion's otherwise; ``match`` is always ``similarity >= threshold``. A rule in the
fusion's first member's scale (``primary_similarity``) finishes the embeddings it reads.

Limit: ``accept_from`` is above every pair of different people of the calibration images
(~17.7 M for ``cascade-dlib-fusion@2``), so an unseen impostor passes it early with a
probability of about one in that number; only FMR 1e-3 thresholds are shipped. Few genuine
pairs clear so strict a screen: the cascade saves SFace mostly on impostors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.match.align import realign
from ekyc.match.embed import Embedder
from ekyc.match.fusion import FusedEmbedder, load_embedder
from ekyc.registry import Registry
from ekyc.types import Embedding, ModelRef, RGBImage

__all__ = ["CASCADE_FORMAT", "CascadeEmbedder", "StagedEmbedding", "load_cascade", "parse_metric"]

CASCADE_FORMAT = "cascade"


@dataclass(frozen=True, slots=True, eq=False)
class StagedEmbedding(Embedding):
    """The screen member's descriptor, plus what it takes to finish the fused one.

    ``vector`` is the screen's descriptor; ``full()`` gives the fusion's descriptor (members
    side by side), computed from ``crop`` on first use and kept.
    """

    crop: RGBImage | None = field(repr=False, default=None)
    cascade: CascadeEmbedder | None = field(repr=False, default=None)
    _full: list[Embedding] = field(repr=False, default_factory=list)

    def full(self) -> Embedding:
        """The fused descriptor of the same face (the fusion's other members run once)."""
        if not self._full:
            if self.cascade is None or self.crop is None:
                raise ValueError("a staged embedding needs its crop and cascade to finish")
            self._full.append(self.cascade.finish(self))
        return self._full[0]

    @property
    def finished(self) -> bool:
        """Whether the fused descriptor has been computed."""
        return bool(self._full)


def parse_metric(metric: str) -> tuple[str, float, float, str]:
    """``cascade:SCREEN_METRIC,LO,HI|FUSED_METRIC`` -> (screen metric, LO, HI, fused metric)."""
    if not metric.startswith("cascade:") or "|" not in metric:
        raise ValueError(f"not a cascade metric: {metric!r}")
    head, fused = metric.removeprefix("cascade:").split("|", 1)
    screen, lo, hi = head.split(",")
    return screen, float(lo), float(hi), fused


class CascadeEmbedder:
    """The screen member embeds every face; the fusion's other members only when asked.

    Example:
        >>> cascade = load_embedder(Registry.from_manifest(), "face-embed/cascade-dlib-fusion@2")
        >>> cascade.metric  # doctest: +SKIP
        'cascade:euclidean,-0.6854,-0.5086|zsum:cosine,128,0.0994,0.08897;euclidean,...'
    """

    def __init__(self, ref: ModelRef, fusion: FusedEmbedder, screen: int, *,
                 reject_below: float, accept_from: float) -> None:  # fmt: skip
        if not 0 <= screen < len(fusion.members):
            raise ValueError(f"screen must index one of the {len(fusion.members)} members")
        if not (np.isfinite(reject_below) and np.isfinite(accept_from)):
            raise ValueError("the band's bounds must be finite")
        if reject_below > accept_from:
            raise ValueError(f"reject_below {reject_below} is above accept_from {accept_from}")
        self._ref = ref
        self._fusion = fusion
        self._screen = screen
        self.reject_below = float(reject_below)
        self.accept_from = float(accept_from)

    @property
    def model(self) -> ModelRef:
        """The cascade's manifest id + the sha256 of its definition file."""
        return self._ref

    @property
    def template(self) -> str:
        """The fusion's alignment template (the crop every member is warped from)."""
        return self._fusion.template

    @property
    def fusion(self) -> FusedEmbedder:
        """The fusion that decides the pairs the screen leaves open."""
        return self._fusion

    @property
    def screen(self) -> Embedder:
        """The member that screens every pair."""
        return self._fusion.members[self._screen].embedder

    @property
    def metric(self) -> str:
        """``cascade:SCREEN_METRIC,LO,HI|`` + the fusion's ``zsum:`` metric."""
        return (f"cascade:{self.screen.metric},{self.reject_below!r},{self.accept_from!r}|"
                f"{self._fusion.metric}")  # fmt: skip

    def _member_vectors(self, index: int, crops: Sequence[RGBImage]) -> npt.NDArray[np.float32]:
        member = self._fusion.members[index]
        mine = crops
        if member.embedder.template != self.template:
            mine = [realign(c, self.template, member.embedder.template) for c in crops]
        vectors = np.stack([e.vector for e in member.embedder.embed(mine)]).astype(np.float32)
        if vectors.shape[1] != member.dims:
            raise ValueError(f"{member.embedder.model.id} gave {vectors.shape[1]} dimensions, "
                             f"the fusion declares {member.dims}")  # fmt: skip
        return vectors

    def embed(self, crops: Sequence[RGBImage]) -> tuple[StagedEmbedding, ...]:
        """The screen's descriptor of each crop aligned to ``template``, the crop kept."""
        if not crops:
            return ()
        vectors = self._member_vectors(self._screen, crops)
        return tuple(
            StagedEmbedding(vector=v.copy(), model=self._ref, crop=np.asarray(c), cascade=self)
            for v, c in zip(vectors, crops, strict=True)
        )

    def finish(self, staged: StagedEmbedding) -> Embedding:
        """The fused descriptor of ``staged``'s face: its screen part reused, the rest run."""
        if staged.crop is None:
            raise ValueError("a staged embedding needs its crop to finish")
        crop = staged.crop
        parts = [
            staged.vector[None] if i == self._screen else self._member_vectors(i, [crop])
            for i in range(len(self._fusion.members))
        ]
        return Embedding(vector=np.concatenate(parts, axis=1)[0].astype(np.float32),
                         model=self._ref)  # fmt: skip


def load_cascade(
    registry: Registry,
    model_id: str,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> CascadeEmbedder:
    """The cascade of a ``format = "cascade"`` entry.

    Its file (checksummed) is JSON: ``{"fusion": ID, "screen": ID, "reject_below": LO,
    "accept_from": HI}``.
    """
    spec = registry.spec(model_id)
    if spec.format != CASCADE_FORMAT:
        raise ValueError(f"{model_id} is not a cascade (format {spec.format!r})")
    raw: Any = json.loads(registry.path(model_id).read_text(encoding="utf-8"))
    fusion = load_embedder(registry, str(raw["fusion"]), providers)
    if not isinstance(fusion, FusedEmbedder):
        raise ValueError(f"{model_id}: {raw['fusion']} is not a fusion")
    ids = [m.embedder.model.id for m in fusion.members]
    if raw["screen"] not in ids:
        raise ValueError(f"{model_id}: screen {raw['screen']} is not a member of {ids}")
    return CascadeEmbedder(spec.ref, fusion, ids.index(str(raw["screen"])),
                           reject_below=float(raw["reject_below"]),
                           accept_from=float(raw["accept_from"]))  # fmt: skip
