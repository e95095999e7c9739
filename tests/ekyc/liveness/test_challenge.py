from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from ekyc.liveness import Action, Challenge, new_challenge, secure_rng
from tests.ekyc.liveness.conftest import NOW


class TestNewChallenge:
    def test_smoke(self):
        c = new_challenge(np.random.default_rng(0), NOW)
        assert 2 <= len(c.actions) <= 3
        assert len(set(c.actions)) == len(c.actions)
        assert c.expires_at - c.issued_at == timedelta(seconds=60)

    def test_randomness(self):
        made = [new_challenge(np.random.default_rng(s), NOW) for s in range(200)]
        assert len({c.nonce for c in made}) == 200
        assert len({c.actions for c in made}) > 30
        assert {len(c.actions) for c in made} == {2, 3}
        assert {a for c in made for a in c.actions} == set(Action)
        firsts = {c.actions[0] for c in made}
        assert firsts == set(Action)

    def test_seeded_is_reproducible(self):
        a = new_challenge(np.random.default_rng(5), NOW)
        b = new_challenge(np.random.default_rng(5), NOW)
        assert a == b
        assert new_challenge(secure_rng(), NOW).nonce != new_challenge(secure_rng(), NOW).nonce

    def test_expiry(self):
        c = new_challenge(np.random.default_rng(0), NOW, ttl_s=30)
        assert c.expires_at == NOW + timedelta(seconds=30)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [({"ttl_s": 0}, "ttl_s"), ({"ttl_s": -5}, "ttl_s")],
    )
    def test_exception(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            new_challenge(np.random.default_rng(0), NOW, **kwargs)
        with pytest.raises(ValueError, match="timezone"):
            new_challenge(np.random.default_rng(0), datetime(2026, 1, 1))


class TestChallengeType:
    def test_json_round_trip(self):
        c = new_challenge(np.random.default_rng(3), NOW)
        assert Challenge.from_dict(c.to_dict()) == c

    @pytest.mark.parametrize(
        "change",
        [
            {"nonce": "short"},
            {"nonce": "XYZ" * 8},
            {"actions": ()},
            {"expires_at": NOW},
            {"issued_at": datetime(2026, 1, 1)},
        ],
    )
    def test_validation(self, change):
        base = {
            "actions": (Action.BLINK, Action.TURN_LEFT),
            "nonce": "ab" * 16,
            "issued_at": NOW,
            "expires_at": NOW + timedelta(seconds=60),
        }
        with pytest.raises(ValueError, match=r"must|after"):
            Challenge(**(base | change))

    def test_malformed_dict(self):
        with pytest.raises(ValueError, match="malformed"):
            Challenge.from_dict({"nonce": "ab" * 16})
        with pytest.raises(ValueError, match="fly"):
            Challenge.from_dict({"actions": ["fly"], "nonce": "ab" * 16, "issued_at": "x"})


class TestLivenessResultJson:
    def test_round_trip(self):
        from ekyc.liveness import AttackType, LivenessResult, Reason
        from ekyc.types import ModelRef

        result = LivenessResult(
            live=False,
            score=2 / 3 * 0.99,
            threshold=1.0,
            reasons=(Reason.ACTIONS_OUT_OF_ORDER, Reason.FACE_TURNED_AT_REST),
            attack_type=AttackType.REPLAYED_SEQUENCE,
            models=(ModelRef("face-landmarks/x@1", "ab" * 32),),
            details={"rest_yaw_deg": 41.5},
        )
        again = LivenessResult.from_dict(result.to_dict())
        assert again.to_dict() == result.to_dict()
        assert again.reasons == result.reasons
        assert again.attack_type is AttackType.REPLAYED_SEQUENCE
        live = LivenessResult(True, 1.0, 1.0)
        assert LivenessResult.from_dict(live.to_dict()) == live

    def test_exception(self):
        from ekyc.liveness import LivenessResult

        with pytest.raises(ValueError, match="malformed"):
            LivenessResult.from_dict({"live": True})
