"""Face matching: detection, alignment to each embedder's template, embeddings, comparison.

The steps, in order: ``YuNetDetector.detect`` (image -> ``FaceDetection``), ``assess_face``
(the selfie gate), ``align_face`` (to the embedder's template), ``OnnxEmbedder.embed``
(-> ``Embedding``; ``FusedEmbedder`` puts several side by side), ``compare`` (->
``MatchScore`` at a calibrated threshold).
``CascadeEmbedder`` screens pairs with one member and runs the fusion only where needed.
``FaceMatcher`` holds the loaded models for the whole chain. Importing this package loads
no model runtime; models load when a detector or embedder is built.
"""

from ekyc.match.align import TEMPLATES, align_face, realign, similarity_transform
from ekyc.match.cascade import CascadeEmbedder, StagedEmbedding
from ekyc.match.compare import (
    calibrated_threshold,
    compare,
    primary_similarity,
    similarities,
    similarity,
)
from ekyc.match.config import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, MatchConfig
from ekyc.match.detect import FaceDetector, YuNetDetector, decode_yunet, refine_face
from ekyc.match.embed import Embedder, OnnxEmbedder, embed_each, embed_faces
from ekyc.match.faces import FaceMatcher, NoFaceFound
from ekyc.match.fusion import FusedEmbedder, Member, load_embedder
from ekyc.match.quality import FaceGate, FaceIssue, assess_face

__all__ = [
    "DEFAULT_DETECTOR",
    "DEFAULT_EMBEDDER",
    "TEMPLATES",
    "CascadeEmbedder",
    "Embedder",
    "FaceDetector",
    "FaceGate",
    "FaceIssue",
    "FaceMatcher",
    "FusedEmbedder",
    "MatchConfig",
    "Member",
    "NoFaceFound",
    "OnnxEmbedder",
    "StagedEmbedding",
    "YuNetDetector",
    "align_face",
    "assess_face",
    "calibrated_threshold",
    "compare",
    "decode_yunet",
    "embed_each",
    "embed_faces",
    "load_embedder",
    "primary_similarity",
    "realign",
    "refine_face",
    "similarities",
    "similarity",
    "similarity_transform",
]
