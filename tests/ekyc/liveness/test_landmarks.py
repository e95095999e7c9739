from __future__ import annotations

import math

import numpy as np
import pytest

from ekyc.liveness.landmarks import head_pose_deg


def _face(pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """FaceMesh's cheeks, forehead and chin of a face bowed or raised by ``pitch_deg`` and
    then turned by ``yaw_deg`` about the vertical axis (as a head turns on the neck), with
    the rig's rotation formulas (``benchmarks.synth.face_rig.rotate``)."""
    pts = np.zeros((478, 3))
    pts[234], pts[454] = (-1.0, 0.0, 0.3), (1.0, 0.0, 0.3)
    pts[10], pts[152] = (0.0, -1.2, 0.1), (0.0, 1.2, 0.1)
    p, y = math.radians(pitch_deg), math.radians(yaw_deg)
    x0, y0, z0 = pts.T
    y1, z1 = y0 * math.cos(p) + z0 * math.sin(p), -y0 * math.sin(p) + z0 * math.cos(p)
    x2, z2 = x0 * math.cos(y) - z1 * math.sin(y), x0 * math.sin(y) + z1 * math.cos(y)
    return np.column_stack([x2, y1, z2]).astype(np.float32)


@pytest.mark.parametrize("pitch", [-21.0, 0.0, 15.0])
@pytest.mark.parametrize("yaw", [0.0, 30.0, -40.0])
def test_a_turn_leaves_the_pitch_alone(pitch: float, yaw: float) -> None:
    # verify_rates seed 21009 (bowed 24, turned 30 degrees at rest): with atan2(ny, nz)
    # the pitch grows by 1/cos(yaw) through a turn, and part of a turn read as a look-up
    read_yaw, read_pitch = head_pose_deg(_face(pitch, yaw))
    assert read_yaw == pytest.approx(yaw, abs=0.01)
    assert read_pitch == pytest.approx(pitch, abs=0.01)
