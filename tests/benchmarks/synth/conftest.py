from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from benchmarks.synth.selfie import astronaut_face


@pytest.fixture(scope="session")
def face() -> npt.NDArray[np.uint8]:
    return astronaut_face()
