"""The shared stages after the document method: reading, selfie and face match, liveness.

Each stage is a function of the loaded components, its inputs and the ``Evidence`` it
writes to; ``ekyc.pipeline`` alone decides their order.
"""

from ekyc.stages.liveness import LivenessInputs, liveness_stage
from ekyc.stages.reading import CardReading, read_card, reading_stage
from ekyc.stages.selfie import SelfieFaces, SelfieLook, look_at_selfie, selfie_stage

__all__ = [
    "CardReading",
    "LivenessInputs",
    "SelfieFaces",
    "SelfieLook",
    "liveness_stage",
    "look_at_selfie",
    "read_card",
    "reading_stage",
    "selfie_stage",
]
