from __future__ import annotations

import math
from datetime import timedelta

import pytest

from ekyc.liveness import (
    Action,
    AttackType,
    FrameSequence,
    Reason,
    TimedFrame,
    detect_events,
    evaluate,
    measure_frames,
)
from ekyc.liveness.landmarks import five_point_yaw_deg
from tests.ekyc.liveness.conftest import NOW, make_challenge, make_sequence

pytestmark = pytest.mark.models
LATER = NOW + timedelta(seconds=10)


def _retimed(seq: FrameSequence, images) -> FrameSequence:
    frames = tuple(TimedFrame(f.t_ms, img) for f, img in zip(seq.frames, images, strict=True))
    return FrameSequence(seq.nonce, seq.started_at, frames)


class TestMeasure:
    def test_signals_follow_the_actions(self, tracker, left_blink):
        signals = measure_frames(left_blink, tracker)
        assert all(s.found for s in signals)  # FaceMesh tracks the synthetic faces
        events = detect_events(signals)
        actions = [e.action for e in events]
        assert actions == [Action.TURN_LEFT, Action.BLINK]
        assert events[0].end_ms < events[1].start_ms


class TestEvaluate:
    @pytest.mark.parametrize(
        "actions",
        [
            (Action.TURN_LEFT, Action.BLINK),
            (Action.OPEN_MOUTH, Action.TURN_RIGHT, Action.LOOK_UP),
        ],
    )
    def test_genuine_accepted(self, tracker, matcher, actions):
        seq = make_sequence(actions, seed=len(actions))
        selfie = seq.frames[1].image
        result = evaluate(
            make_challenge(*actions), seq, LATER, tracker=tracker, matcher=matcher, selfie=selfie
        )
        assert result.live, result.reasons
        assert result.score == 1.0
        assert result.attack_type is None
        assert {m.id for m in result.models} >= {tracker.model.id, matcher.model.id}

    def test_reordered_rejected(self, tracker, left_blink):
        reordered = _retimed(left_blink, [f.image for f in left_blink.frames][::-1])
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.BLINK), reordered, LATER, tracker=tracker
        )
        assert not result.live
        assert result.reasons == (Reason.ACTIONS_OUT_OF_ORDER,)
        assert result.attack_type is AttackType.REPLAYED_SEQUENCE

    def test_other_challenge_order_rejected(self, tracker, left_blink):
        result = evaluate(
            make_challenge(Action.BLINK, Action.TURN_LEFT), left_blink, LATER, tracker=tracker
        )
        assert Reason.ACTIONS_OUT_OF_ORDER in result.reasons

    def test_missing_action(self, tracker, left_blink):
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.OPEN_MOUTH), left_blink, LATER, tracker=tracker
        )
        assert result.reasons == (Reason.ACTION_MISSING,)
        assert 0 < result.score < 1

    def test_static_frame_repeated(self, tracker, left_blink):
        still = _retimed(left_blink, [left_blink.frames[0].image] * len(left_blink.frames))
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.BLINK), still, LATER, tracker=tracker
        )
        assert result.reasons == (Reason.STATIC_SEQUENCE,)
        assert result.attack_type is AttackType.STATIC_IMAGE

    def test_wrong_nonce(self, tracker, left_blink):
        other = FrameSequence("f" * 32, left_blink.started_at, left_blink.frames)
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.BLINK), other, LATER, tracker=tracker
        )
        assert result.reasons == (Reason.NONCE_MISMATCH,)
        assert result.attack_type is AttackType.REPLAYED_SEQUENCE

    def test_expired(self, tracker, left_blink):
        challenge = make_challenge(Action.TURN_LEFT, Action.BLINK)
        late = challenge.expires_at + timedelta(seconds=1)
        result = evaluate(challenge, left_blink, late, tracker=tracker)
        assert result.reasons == (Reason.CHALLENGE_EXPIRED,)

    def test_recorded_before_issue(self, tracker, left_blink):
        old = FrameSequence(left_blink.nonce, NOW - timedelta(minutes=5), left_blink.frames)
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.BLINK), old, LATER, tracker=tracker
        )
        assert Reason.BAD_TIMESTAMPS in result.reasons

    def test_too_slow(self, tracker, left_blink):
        challenge = make_challenge(Action.TURN_LEFT, Action.BLINK)
        slow = FrameSequence(
            left_blink.nonce,
            left_blink.started_at,
            tuple(TimedFrame(f.t_ms * 20, f.image) for f in left_blink.frames),
        )
        assert evaluate(challenge, slow, LATER, tracker=tracker).reasons == (
            Reason.ACTION_TOO_SLOW,
        )

    def test_selfie_not_in_sequence(self, tracker, matcher, left_blink):
        from skimage import data

        stranger = data.chelsea()  # a cat: no frame, no matching face
        result = evaluate(
            make_challenge(Action.TURN_LEFT, Action.BLINK),
            left_blink,
            LATER,
            tracker=tracker,
            matcher=matcher,
            selfie=stranger,
        )
        assert result.reasons == (Reason.SELFIE_NOT_IN_SEQUENCE,)


def test_five_point_yaw():
    import numpy as np

    frontal = np.array([[40, 50], [70, 50], [55, 65], [42, 80], [68, 80]], np.float32)
    assert abs(five_point_yaw_deg(frontal)) < 1e-6
    turned = frontal.copy()
    turned[2, 0] += 10.5  # nose 0.35 eye distances right: ~30 degrees
    assert math.isclose(five_point_yaw_deg(turned), 30.0, abs_tol=0.5)


class TestMatchActions:
    """The event walk alone (no models): what counts as out of order."""

    @staticmethod
    def _walk(actions, events):
        from ekyc.liveness.active import Event, _match_actions

        evs = [Event(a, s, e) for a, s, e in events]
        return _match_actions(actions, evs, timeout_ms=5000.0, t0=0.0)

    def test_side_effect_of_a_pose_is_tolerated(self):
        # looking up drops the jaw as FaceMesh sees it: open_mouth flags inside look_up
        events = [(Action.LOOK_UP, 300, 700), (Action.OPEN_MOUTH, 250, 500),
                  (Action.TURN_LEFT, 1200, 1600)]  # fmt: skip
        assert self._walk((Action.LOOK_UP, Action.TURN_LEFT), events) == ()

    def test_separate_extra_action_is_out_of_order(self):
        # the same mouth event outside any requested pose: a recording of more actions
        events = [(Action.LOOK_UP, 300, 700), (Action.OPEN_MOUTH, 900, 1100),
                  (Action.TURN_LEFT, 1200, 1600)]  # fmt: skip
        reasons = self._walk((Action.LOOK_UP, Action.TURN_LEFT), events)
        assert reasons == (Reason.ACTIONS_OUT_OF_ORDER,)

    def test_extra_head_pose_is_never_a_side_effect(self):
        for requested in ((Action.OPEN_MOUTH, Action.BLINK), (Action.LOOK_UP, Action.BLINK)):
            events = [(requested[0], 300, 700), (Action.TURN_RIGHT, 400, 600),
                      (Action.BLINK, 1200, 1300)]  # fmt: skip
            assert self._walk(requested, events) == (Reason.ACTIONS_OUT_OF_ORDER,)

    def test_reversed_order_still_rejected(self):
        events = [(Action.TURN_LEFT, 300, 700), (Action.LOOK_UP, 1200, 1600)]
        reasons = self._walk((Action.LOOK_UP, Action.TURN_LEFT), events)
        assert reasons == (Reason.ACTIONS_OUT_OF_ORDER,)

    def test_mouth_read_during_the_previous_pose_does_not_count(self):
        # a reversed recording: the real open mouth is gone, a reading inside the turn is not it
        events = [(Action.TURN_RIGHT, 860, 1400), (Action.OPEN_MOUTH, 1060, 1200)]
        reasons = self._walk((Action.TURN_RIGHT, Action.OPEN_MOUTH), events)
        assert reasons == (Reason.ACTION_MISSING,)
        events.append((Action.OPEN_MOUTH, 1700, 2100))
        assert self._walk((Action.TURN_RIGHT, Action.OPEN_MOUTH), events) == ()

    def test_mouth_read_as_a_turn_starts_and_ends_is_its_side_effect(self):
        # dev seed 23030's retake (a face turned 43 degrees at rest): one-frame mouth
        # readings in the frames just before and after the turn, the head moving
        asked = (Action.OPEN_MOUTH, Action.TURN_RIGHT)
        events = [(Action.OPEN_MOUTH, 333, 600), (Action.OPEN_MOUTH, 933, 933),
                  (Action.BLINK, 1000, 1000), (Action.TURN_RIGHT, 1000, 1133),
                  (Action.BLINK, 1133, 1133), (Action.OPEN_MOUTH, 1200, 1200)]  # fmt: skip
        assert self._walk(asked, events) == ()
        # further from the turn, or longer, it is a mouth opened apart: an extra action
        events[-1] = (Action.OPEN_MOUTH, 1300, 1300)
        assert self._walk(asked, events) == (Reason.ACTIONS_OUT_OF_ORDER,)
        events[-1] = (Action.OPEN_MOUTH, 1200, 1500)
        assert self._walk(asked, events) == (Reason.ACTIONS_OUT_OF_ORDER,)

    def test_mouth_read_inside_an_unrequested_pose_is_not_the_action(self):
        # seed 28008 (a laugh at rest): the opened mouth read nothing in its own window and
        # +0.21 inside the look-up after it; matched there, the look-up before the blink
        # made the recording out of order (a replay). It is missing, and stays rejected.
        asked = (Action.OPEN_MOUTH, Action.BLINK, Action.LOOK_UP)
        events = [(Action.BLINK, 933, 1200), (Action.LOOK_UP, 1466, 1866),
                  (Action.OPEN_MOUTH, 1533, 1600), (Action.OPEN_MOUTH, 1733, 1800)]  # fmt: skip
        assert self._walk(asked, events) == (Reason.ACTION_MISSING,)
        performed = [(Action.OPEN_MOUTH, 300, 800), *events]
        assert self._walk(asked, performed) == ()
        # a mouth opened before a pose and still open as it starts is the action
        events = [(Action.OPEN_MOUTH, 300, 1500), (Action.LOOK_UP, 1466, 1866)]
        assert self._walk((Action.OPEN_MOUTH, Action.LOOK_UP), events) == ()


class TestDetectEvents:
    """Events from per-frame signals (no models): single-frame pose readings are noise."""

    @staticmethod
    def _signals(rows):
        from ekyc.liveness.active import FrameSignals

        # 15 frames/s; eyes open (0.3), mouth closed (0.05) unless a row says otherwise
        return [FrameSignals(i * 66.7, yaw, pitch, eye, mouth)
                for i, (yaw, pitch, eye, mouth) in enumerate(rows)]  # fmt: skip

    def test_one_frame_pitch_jump_inside_a_turn_is_no_look_up(self):
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        turn = (
            [(21.0, 0.0, 0.3, 0.05)] * 3 + [(21.0, 6.2, 0.3, 0.05)] + [(21.0, 0.0, 0.3, 0.05)] * 3
        )
        events = detect_events(self._signals(still + turn + still))
        assert [e.action for e in events] == [Action.TURN_RIGHT]

    def test_a_look_up_held_two_frames_counts(self):
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        up = [(0.0, 9.0, 0.3, 0.05)] * 2
        assert [e.action for e in detect_events(self._signals(still + up + still))] == [
            Action.LOOK_UP
        ]

    def test_a_one_frame_blink_counts(self):
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        blink = [(0.0, 0.0, 0.05, 0.05)]
        assert [e.action for e in detect_events(self._signals(still + blink + still))] == [
            Action.BLINK
        ]

    def test_pitch_leaking_into_a_turn_is_no_look_up(self):
        # verify_rates seed 21009 (a face bowed 24 degrees at rest): FaceMesh read +8 to
        # +13 pitch through a 31-degree turn; the larger rotation, the turn, is the pose
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        turn = [(11.4, 8.1, 0.3, 0.05), (21.0, 13.2, 0.3, 0.05), (31.0, 12.0, 0.3, 0.05),
                (30.0, 12.0, 0.3, 0.05), (11.7, 8.6, 0.3, 0.05)]  # fmt: skip
        events = detect_events(self._signals(still + turn + still))
        assert [e.action for e in events] == [Action.TURN_RIGHT]

    def test_yaw_leaking_into_a_look_up_is_no_turn(self):
        # seed 21004 (a face turned 30 degrees at rest): -11 yaw read through a look-up
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        up = [(-8.0, 17.0, 0.3, 0.05), (-10.9, 20.4, 0.3, 0.05), (-10.8, 23.5, 0.3, 0.05)]
        events = detect_events(self._signals(still + up + still))
        assert [e.action for e in events] == [Action.LOOK_UP]

    def test_a_separate_turn_after_a_look_up_still_counts(self):
        still = [(0.0, 0.0, 0.3, 0.05)] * 8
        up = [(0.0, 12.0, 0.3, 0.05)] * 3
        turn = [(-15.0, 0.0, 0.3, 0.05)] * 3
        events = detect_events(self._signals(still + up + still + turn + still))
        assert [e.action for e in events] == [Action.LOOK_UP, Action.TURN_LEFT]

    def test_eyes_at_rest_are_read_from_the_frames_at_rest(self):
        # verify_rates seed 23032: FaceMesh reads the eyes narrower through a turn and a
        # look-up (0.23-0.25 against 0.29 at rest); the median of every frame (0.26) hid a
        # blink whose deepest frame is 0.56 of the eyes at rest
        still = [(0.0, 0.0, 0.29, 0.0)] * 4
        turn = (
            [(-15.0, 2.6, 0.246, 0.0)] + [(-30.0, 0.0, 0.235, 0.0)] * 5 + [(-16.0, 0.6, 0.246, 0.0)]
        )
        up = [(0.0, 7.4, 0.28, 0.0)] + [(2.0, 18.0, 0.255, 0.0)] * 5 + [(0.3, 8.0, 0.288, 0.0)]
        blink = [(0.0, 0.0, e, 0.0) for e in (0.265, 0.24, 0.175, 0.163, 0.192, 0.233, 0.261)]
        rows = still + turn + still[:2] + up + still[:2] + blink + still[:2]
        events = detect_events(self._signals(rows))
        assert [e.action for e in events] == [Action.TURN_LEFT, Action.LOOK_UP, Action.BLINK]

    def test_narrow_eyes_shut_at_rest_count(self):
        # dev seed 21097 (a smiling squint, 0.19 at rest, bowed -28 degrees): its requested
        # blink read 0.143-0.148 through five frames, 0.76 of the eyes at rest; at most
        # shut_eye and under 0.8 of rest, a blink. Mouth from its recording too.
        still = [(1.0, -28.4, e, 0.004) for e in (0.187, 0.197, 0.194, 0.19, 0.185)]
        blink = [(1.0, -29.0, e, 0.004) for e in (0.146, 0.148, 0.145, 0.145, 0.143)]
        after = [(1.3, -28.4, e, 0.004) for e in (0.176, 0.189, 0.192)]
        mouth = [(0.5, -28.6, 0.188, m) for m in (0.212, 0.402, 0.494, 0.562, 0.484, 0.39)]
        rows = still + blink + after + mouth + still[:2]
        events = detect_events(self._signals(rows))
        assert [e.action for e in events] == [Action.BLINK, Action.OPEN_MOUTH]
        # Not a blink: narrow eyes over 0.8 of rest, or open eyes that read over shut_eye.
        for rest, low in ((0.19, 0.165), (0.3, 0.22)):
            rows = [(0.0, 0.0, rest, 0.004)] * 5 + [(0.0, 0.0, low, 0.004)] * 4
            assert detect_events(self._signals(rows + [(0.0, 0.0, rest, 0.004)] * 3)) == ()

    def test_a_blink_behind_glasses_at_rest_counts(self):
        # fresh seed 33026 (glasses, eyes cast down): a full closure read 0.60 of the open
        # eye (0.114 against 0.19), just over blink_ratio; at the rest pose it is a blink
        still = [(0.0, 0.0, 0.19, 0.003)] * 4
        up = [(0.0, e, 0.2, 0.003) for e in (6.1, 10.2, 13.7, 13.5, 14.3, 10.3, 6.2)]
        blink = [(0.0, 0.0, e, 0.003) for e in (0.152, 0.12, 0.115, 0.118, 0.114, 0.128, 0.147)]
        events = detect_events(self._signals(still + up + still[:2] + blink + still[:2]))
        assert [e.action for e in events] == [Action.LOOK_UP, Action.BLINK]

    def test_eyes_narrowed_by_a_turn_are_no_blink(self):
        # FaceMesh reads eyes narrower on a turned head (dev seed 23020: 0.59 of the open
        # eye through a 23-degree turn): 0.65 is a blink only at the rest pose
        still = [(0.0, 0.0, 0.3, 0.05)] * 6
        turn = [(10.5, 0.0, 0.26, 0.05)] + [(23.0, 0.0, 0.195, 0.05)] * 4
        assert [e.action for e in detect_events(self._signals(still + turn + still))] == [
            Action.TURN_RIGHT
        ]
        narrowed = [(0.0, 0.0, 0.195, 0.05)] * 2
        assert [e.action for e in detect_events(self._signals(still + narrowed + still))] == [
            Action.BLINK
        ]

    def test_a_long_blink_does_not_lower_the_eyes_at_rest(self):
        # bench liveness LFW seed 8: a 9-frame blink is half of the frames at the rest pose;
        # their median (0.156) fell into it and its deepest frame (0.095) read 0.61 of it
        still = [(0.0, 0.0, 0.163, 0.27)] * 4
        turn = (
            [(-7.0, 0.0, 0.15, 0.27)] + [(-20.0, -3.0, 0.17, 0.28)] * 7 + [(-7.5, 0.0, 0.15, 0.28)]
        )
        blink = [
            (0.0, 0.0, e, 0.27)
            for e in (0.156, 0.124, 0.102, 0.096, 0.095, 0.096, 0.104, 0.12, 0.153)
        ]
        rows = still + turn + still[:2] + blink + still[:2]
        events = detect_events(self._signals(rows))
        assert [e.action for e in events] == [Action.TURN_LEFT, Action.BLINK]


class TestUnjudged:
    """A failed challenge says when the face at rest explains the missing action."""

    @staticmethod
    def _why(actions, seen, yaw=0.0, eye=0.3, mouth=0.0):
        from ekyc.liveness.active import ActiveConfig, Event, FrameSignals, _unjudged

        events = [Event(a, 100.0 * i, 100.0 * i + 50) for i, a in enumerate(seen)]
        rest = FrameSignals(0.0, yaw, 0.0, eye, mouth)
        return _unjudged(actions, events, rest, ActiveConfig())

    def test_a_squint_cannot_show_a_blink(self):
        # seed 23036: eyes 0.10 at rest, the rendered shut eye read 0.067 (0.67 of it)
        asked = (Action.TURN_RIGHT, Action.BLINK)
        assert self._why(asked, [Action.TURN_RIGHT], eye=0.10) == [Reason.EYES_NOT_OPEN]
        # seeds 32000-32199: 5 of 5 faces at 0.11-0.13 at rest showed no full blink
        assert self._why(asked, [Action.TURN_RIGHT], eye=0.12) == [Reason.EYES_NOT_OPEN]
        assert self._why(asked, [Action.TURN_RIGHT], eye=0.25) == []
        assert self._why(asked, asked, eye=0.10) == []  # seen: nothing to explain

    def test_a_mouth_open_at_rest_is_named(self):
        # seed 23041: a laugh at 0.42 at rest; the opened mouth read +0.14 at most
        asked = (Action.OPEN_MOUTH, Action.LOOK_UP)
        assert self._why(asked, [Action.LOOK_UP], mouth=0.42) == [Reason.MOUTH_OPEN_AT_REST]
        assert self._why(asked, [Action.LOOK_UP], mouth=0.1) == []

    def test_a_face_turned_at_rest_cannot_show_a_turn(self):
        # seed 23030: 42 degrees turned at rest, FaceMesh lost the face through the turn
        asked = (Action.TURN_LEFT, Action.OPEN_MOUTH)
        assert self._why(asked, [], yaw=-42.0) == [Reason.FACE_TURNED_AT_REST]
        assert self._why(asked, [], yaw=-20.0) == []
        assert self._why(asked, [Action.TURN_LEFT], yaw=-42.0) == []
