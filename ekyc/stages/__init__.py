"""The shared stages after the document method: reading, selfie and face match, liveness.

Each stage is a function of the loaded components, its inputs and the ``Evidence`` it
writes to; ``ekyc.pipeline`` alone decides their order.
"""

from ekyc.stages.liveness import LivenessInputs, liveness_stage
from ekyc.stages.reading import reading_stage
from ekyc.stages.selfie import SelfieFaces, selfie_stage

__all__ = ["LivenessInputs", "SelfieFaces", "liveness_stage", "reading_stage", "selfie_stage"]
