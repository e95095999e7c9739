"""The matcher: detector + embedder + calibrated threshold, loaded once, used many times.

Why a class: it only holds the loaded models and the threshold (the CLI's ``--pairs`` mode
and the daemon load once and match many); the work is the pure steps of this package.
"""

from __future__ import annotations

from ekyc.errors import NoFaceFound
from ekyc.match.compare import calibrated_threshold, compare
from ekyc.match.config import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, MatchConfig
from ekyc.match.detect import FaceDetector, YuNetDetector
from ekyc.match.embed import Embedder, embed_faces
from ekyc.match.fusion import load_embedder
from ekyc.registry import Registry
from ekyc.types import Embedding, MatchScore, ModelRef, RGBImage

__all__ = ["FaceMatcher", "NoFaceFound"]


class FaceMatcher:
    """Match the most prominent face of two images with one embedder.

    Example:
        >>> matcher = FaceMatcher.from_registry(Registry.from_manifest())  # doctest: +SKIP
        >>> matcher.match(selfie.image, portrait.image).match  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        detector: FaceDetector,
        embedder: Embedder,
        *,
        threshold: float,
        fmr: float,
        review_threshold: float | None = None,
        review_fmr: float | None = None,
    ) -> None:
        if (review_threshold is None) != (review_fmr is None):
            raise ValueError("review_threshold and review_fmr come together, or neither")
        if review_threshold is not None and review_threshold > threshold:
            raise ValueError(
                f"review_threshold {review_threshold} is above the threshold {threshold}"
            )
        self.detector = detector
        self.embedder = embedder
        self.threshold = threshold
        self.fmr = fmr
        self.review_threshold = review_threshold
        self.review_fmr = review_fmr

    @classmethod
    def from_registry(
        cls,
        registry: Registry,
        model_id: str = DEFAULT_EMBEDDER,
        config: MatchConfig | None = None,
        detector_id: str = DEFAULT_DETECTOR,
    ) -> FaceMatcher:
        """Load the detector, the embedder (checksums checked) and the calibrated threshold.

        The threshold is the manifest's for ``config.fmr`` in ``config.budget``'s table; with
        ``config.review_fmr``, the review band's lower threshold is that rate's in the same
        table (a model without one, e.g. a cascade, raises ``ValueError``).
        """
        cfg = config or MatchConfig()
        spec = registry.spec(model_id)
        threshold = calibrated_threshold(spec, cfg.fmr, cfg.budget)
        review = (None if cfg.review_fmr is None
                  else calibrated_threshold(spec, cfg.review_fmr, cfg.budget))  # fmt: skip
        embedder = load_embedder(registry, model_id)
        detector = YuNetDetector(registry, detector_id, cfg)
        return cls(detector, embedder, threshold=threshold, fmr=cfg.fmr,
                   review_threshold=review, review_fmr=cfg.review_fmr)  # fmt: skip

    @property
    def model(self) -> ModelRef:
        """The embedder's id + sha256."""
        return self.embedder.model

    def embed_image(self, image: RGBImage) -> Embedding:
        """The embedding of the highest-scoring face; ``NoFaceFound`` if there is none."""
        faces = self.detector.detect(image)
        if not faces:
            raise NoFaceFound("no face was found in the image")
        return embed_faces(image, faces[:1], self.embedder)[0]

    def match(self, image_a: RGBImage, image_b: RGBImage) -> MatchScore:
        """Compare the most prominent face of each image."""
        return self.compare(self.embed_image(image_a), self.embed_image(image_b))

    def compare(self, a: Embedding, b: Embedding) -> MatchScore:
        """Judge two embeddings of this matcher's model against its threshold."""
        return compare(a, b, metric=self.embedder.metric, threshold=self.threshold, fmr=self.fmr)

    def in_review_band(self, score: MatchScore) -> bool:
        """Whether ``score`` misses the threshold but reaches the review band's (if any).

        ``MatchConfig.review_fmr`` says why the band exists. A score judged against another
        threshold than this matcher's (a cascade's early decision, in its screen's scale)
        is never in the band.
        """
        return (self.review_threshold is not None and not score.match
                and score.threshold == self.threshold
                and score.similarity >= self.review_threshold)  # fmt: skip
