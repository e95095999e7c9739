"""The shared stages after the document method: reading, selfie and face match, liveness.

Each stage is a function of the loaded components, its inputs and the ``Evidence`` it
writes to; ``ekyc.pipeline`` alone decides their order.
"""

from ekyc.stages.liveness import (
    LivenessInputs,
    LivenessLook,
    liveness_stage,
    look_active,
    look_passive,
)
from ekyc.stages.reading import (
    CardReading,
    field_groups,
    join_readings,
    read_card,
    read_card_image,
    reading_stage,
)
from ekyc.stages.selfie import (
    PortraitLook,
    SelfieFaces,
    SelfieLook,
    check_selfie_for_back,
    join_selfie_look,
    look_at_portrait,
    look_at_selfie,
    look_at_selfie_faces,
    selfie_stage,
)

__all__ = [
    "CardReading",
    "LivenessInputs",
    "LivenessLook",
    "PortraitLook",
    "SelfieFaces",
    "SelfieLook",
    "check_selfie_for_back",
    "field_groups",
    "join_readings",
    "join_selfie_look",
    "liveness_stage",
    "look_active",
    "look_at_portrait",
    "look_at_selfie",
    "look_at_selfie_faces",
    "look_passive",
    "read_card",
    "read_card_image",
    "reading_stage",
    "selfie_stage",
]
