"""Active liveness: did a live face perform the challenge's actions, in order, in time?

The steps are pure functions: ``measure_frames`` (frames -> per-frame ``FrameSignals``),
``detect_events`` (signals -> action events), ``evaluate`` (challenge + frames -> a
``LivenessResult``). Models are passed in: a ``FaceMeshTracker`` for landmarks and,
optionally, a ``FaceMatcher`` for "same face throughout" and the still selfie.

Measures are read relative to the face's own neutral state (each action fills a minority of
the frames: the app asks for a neutral pause between actions), so per-person offsets such as
a habitual head tilt cancel: the median head pose over the recording, and the eyes and
mouth of the frames at that pose (``_neutral``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.liveness.frames import FrameSequence
from ekyc.liveness.injection import dhash, hamming
from ekyc.liveness.landmarks import (
    FaceMeshTracker,
    eye_aspect_ratio,
    head_pose_deg,
    mouth_opening,
)
from ekyc.liveness.results import Action, AttackType, Challenge, LivenessResult, Reason
from ekyc.types import Embedding, FaceDetection, ModelRef, RGBImage

__all__ = ["ActiveConfig", "Event", "FrameSignals", "detect_events", "evaluate", "measure_frames"]


@dataclass(frozen=True, slots=True)
class ActiveConfig:
    """Thresholds of the active check, each with why.

    Attributes:
        turn_deg: Yaw change that counts as a turn. A real 20-degree turn reads ~20 on
            FaceMesh, as do the synthetic mesh-warped turns (a 28-degree turn reads
            16-36); the old flat cylinder faces read ~1/3 of their nominal angle. 10 stays
            above the +-3 degree jitter of a still face.
        up_deg: Pitch change that counts as looking up. Neutral frames jitter by +-1.5
            degrees; a real or mesh-warped 20-degree look-up reads ~14-22 (the flat
            40-degree look-up ~11).
        blink_ratio: Eye aspect ratio below this fraction of the neutral one is a blink
            (open ~0.3, shut < 0.1: 0.6 sits well between) in a frame whose head is
            posed: FaceMesh reads eyes narrower on a turned or raised head (down to 0.59 of
            the open eye without a blink: dev seed 23020's 23-degree turn).
        rest_blink_ratio: The same, in a frame whose head is near the rest pose (within
            ``turn_deg`` and ``up_deg`` of it, as ``_neutral``'s frames), where a requested
            blink is performed. Eyes behind glasses or cast down read a full closure at
            only 0.60 of the open eye (fresh seeds 33026, glasses, and 33071: ACTION_MISSING
            at 0.6); no frame near rest outside a blink read under 0.80 of it (2,240
            frames of the first recordings of dev seeds 21000+/23000+, 72, and fresh
            33000-33099, 100). 0.7 sits between.
        shut_eye: A frame at the rest pose whose eyes read at most this, and under
            ``narrow_rest_ratio`` of the eyes at rest, is a blink too. Why: narrow eyes at
            rest leave a full closure little room below them as a ratio; FaceMesh reads
            shut eyes at 0.02-0.16 (``min_open_eye``'s 38 dev-seed blinks), and dev seed
            21097 (0.19 at rest, a smiling squint) read its closure at 0.143-0.148 through
            five frames: 0.76 of the eyes at rest, over ``rest_blink_ratio``
            (``NOT_LIVE``). Eyes open near 0.3 are not concerned (0.16 is 0.53 of them).
        narrow_rest_ratio: See ``shut_eye``: the floor no frame at rest outside a blink
            read under (``rest_blink_ratio``'s 2,240 frames: 0.80).
        mouth_delta: Mouth opening (gap / width) above neutral + this is "open"; a smile
            adds ~0.05-0.1, a deliberately opened mouth 0.2+.
        pose_margin_ms: A mouth reading within a head pose, or within this of its
            first or last frame, is the pose's side effect (``_apart_from_poses``): the
            frames either side of a turn read the head already moving, under ``turn_deg``,
            and FaceMesh's mouth gap with it (dev seed 23030's retake, a face turned 43
            degrees at rest: one-frame mouth readings of +0.15 and +0.17 just before and
            after its turn read as an extra action, a replay). 100 ms: one frame at 15
            frames/s, three at 30; a performed action, held several frames and apart from
            the pose by the app's neutral pause, is never that short and that close.
        min_pose_frames: A head pose (turn, look up) read in fewer consecutive frames is
            landmark noise, not an action: FaceMesh's pitch jumps by 6+ degrees in single
            frames of a large turn (verify_rates seed 20005: one frame at +6.2 inside a
            21-degree turn became an extra look-up, ACTIONS_OUT_OF_ORDER). At 15 frames/s
            2 frames are 130 ms, far shorter than any deliberate head movement. Blinks and
            mouth openings count from one frame (a quick blink can be that short).
        max_rest_yaw_deg: A face resting more turned than this cannot show a turn further
            that way: FaceMesh lost seed 23030's face (42 degrees at rest) in every frame of
            its turn (~70 degrees). Only explains a failure (``FACE_TURNED_AT_REST``).
        min_open_eye: Eyes at rest under this ratio cannot show a blink: it must read under
            ``rest_blink_ratio`` x rest (the figures here were taken when that was 0.6; at
            0.7 a squint may pass, as 23036 now does), and FaceMesh reads shut eyes at
            0.02-0.16 (median 0.065 over the 38 dev-seed blinks' deepest frames). Seed 23036
            (0.10 at rest, a squint) read 0.067 shut. 0.13: the synthetic faces of seeds
            32000-32199, shut fully in one 640x480 frame each, showed no blink at 0.11-0.13
            at rest (5 of 5 read 0.63-0.88 of it), 3 of 4 at 0.13-0.15, 6 of 6 at
            0.15-0.18. Only explains a failure (``EYES_NOT_OPEN``): it asks for a retake,
            never passes one.
        max_rest_mouth: A mouth already clearly open at rest (``mouth_opening``: > 0.35)
            has to open to a near-maximal gap to show ``mouth_delta`` more, and there
            FaceMesh can put the chin on the dropped lower lip and read the mouth closing
            (seed 23041, a laugh at 0.42: +0.14 at most; bench liveness LFW seed 38, 0.49:
            +0.14). Only explains a failure (``MOUTH_OPEN_AT_REST``).
        min_frames: Fewer frames cannot show 2-3 actions and a neutral start.
        min_face_fraction: The face must be found in this share of frames.
        static_grey_levels: Largest mean absolute grey change from the first frame below
            which the sequence is one still image repeated (sensor noise alone gives 1-3).
        clock_skew_s: Tolerated difference between client and server clocks.
        selfie_max_bits: dHash distance (of 64) under which the still is one of the frames.
        embed_every: Embed every n-th frame for the same-face check (speed: ~35 ms each).
        max_embeddings: At most this many frames, spread over the recording, are embedded
            (a 45-frame challenge at every 3rd frame cost ~1.2 s of the verification).
    """

    turn_deg: float = 10.0
    up_deg: float = 6.0
    blink_ratio: float = 0.6
    rest_blink_ratio: float = 0.7
    shut_eye: float = 0.16
    narrow_rest_ratio: float = 0.8
    mouth_delta: float = 0.15
    min_pose_frames: int = 2
    pose_margin_ms: float = 100.0
    max_rest_yaw_deg: float = 35.0
    min_open_eye: float = 0.13
    max_rest_mouth: float = 0.35
    min_frames: int = 4
    min_face_fraction: float = 0.8
    static_grey_levels: float = 0.75
    clock_skew_s: float = 5.0
    selfie_max_bits: int = 6
    embed_every: int = 3
    max_embeddings: int = 6


@dataclass(frozen=True, slots=True)
class FrameSignals:
    """What one frame shows; NaN where no face was found."""

    t_ms: float
    yaw_deg: float
    pitch_deg: float
    eye_ratio: float
    mouth_ratio: float

    @property
    def found(self) -> bool:
        """A face was measured in this frame."""
        return math.isfinite(self.yaw_deg)


@dataclass(frozen=True, slots=True)
class Event:
    """A run of consecutive frames in which one action was being performed."""

    action: Action
    start_ms: float
    end_ms: float


def measure_frames(sequence: FrameSequence, tracker: FaceMeshTracker) -> tuple[FrameSignals, ...]:
    """Per-frame head pose, eye and mouth measures from FaceMesh landmarks."""
    out = []
    for frame in sequence.frames:
        pts = tracker.landmarks(frame.image)
        if pts is None:
            nan = float("nan")
            out.append(FrameSignals(frame.t_ms, nan, nan, nan, nan))
            continue
        yaw, pitch = head_pose_deg(pts)
        out.append(FrameSignals(frame.t_ms, yaw, pitch, eye_aspect_ratio(pts), mouth_opening(pts)))
    return tuple(out)


def _active_flags(s: FrameSignals, neutral: FrameSignals, cfg: ActiveConfig) -> set[Action]:
    if not s.found:
        return set()
    flags = set()
    yaw = s.yaw_deg - neutral.yaw_deg
    pitch = s.pitch_deg - neutral.pitch_deg
    # One head pose per frame, the larger rotation in degrees: FaceMesh's yaw and pitch
    # leak into each other on a face whose neutral pose is already turned or bowed
    # (verify_rates seed 21009, neutral pitch -24: a 31-degree turn read +8 to +13 pitch;
    # seed 21004, neutral yaw -30: a 23-degree look-up read -11 yaw), and the leak became
    # an extra action. A person performs one pose at a time; a separate extra pose still
    # counts. (Not the ratio to each threshold: up_deg is the smaller, so a leaked pitch of
    # 13 beat a 21-degree turn.)
    if abs(yaw) >= pitch:
        if abs(yaw) >= cfg.turn_deg:
            flags.add(Action.TURN_LEFT if yaw < 0 else Action.TURN_RIGHT)
    elif pitch >= cfg.up_deg:
        flags.add(Action.LOOK_UP)
    at_rest = abs(yaw) < cfg.turn_deg and abs(pitch) < cfg.up_deg
    if s.eye_ratio < (cfg.rest_blink_ratio if at_rest else cfg.blink_ratio) * neutral.eye_ratio:
        flags.add(Action.BLINK)
    elif (
        at_rest
        and s.eye_ratio <= cfg.shut_eye
        and s.eye_ratio < (cfg.narrow_rest_ratio * neutral.eye_ratio)
    ):
        flags.add(Action.BLINK)  # narrow eyes shut (``shut_eye``)
    if s.mouth_ratio - neutral.mouth_ratio >= cfg.mouth_delta:
        flags.add(Action.OPEN_MOUTH)
    return flags


def _neutral(
    signals: Sequence[FrameSignals], cfg: ActiveConfig | None = None
) -> FrameSignals | None:
    """The face at rest: the median head pose, and the eyes and mouth at that pose.

    The eyes at rest are the upper quartile, the mouth the lower quartile, of the frames
    whose head is within ``turn_deg`` and ``up_deg`` of the median pose. Why those frames:
    FaceMesh reads eyes narrower on a turned or raised head (seed 23032: 0.29 at rest,
    0.23-0.25 through a turn and a look-up), and with two pose actions half the frames are
    posed, so the all-frame median (0.26) made a full blink (0.163: 0.56 of the eyes at
    rest) read as 0.63 of it, no blink. Why quartiles: a blink only narrows the eyes and an
    opened mouth only opens, and a requested one fills up to half of the frames at rest
    (bench liveness LFW seed 8: 9 of 19), where their median fell into the blink (0.156
    against 0.16-0.165 open) and the blink's 0.095 no longer read under 0.6 of it.
    """
    cfg = cfg or ActiveConfig()
    found = [s for s in signals if s.found]
    if not found:
        return None
    yaw, pitch = (float(v) for v in np.median([[s.yaw_deg, s.pitch_deg] for s in found], 0))
    rest = [
        s
        for s in found
        if abs(s.yaw_deg - yaw) < cfg.turn_deg and abs(s.pitch_deg - pitch) < cfg.up_deg
    ]
    if len(rest) < cfg.min_frames:
        rest = found
    eye = float(np.percentile([s.eye_ratio for s in rest], 75))
    mouth = float(np.percentile([s.mouth_ratio for s in rest], 25))
    return FrameSignals(found[0].t_ms, yaw, pitch, eye, mouth)


def detect_events(
    signals: Sequence[FrameSignals], config: ActiveConfig | None = None
) -> tuple[Event, ...]:
    """Action events in time order: maximal runs of frames where each action's flag is on.

    A head-pose run shorter than ``min_pose_frames`` frames is dropped as landmark noise.
    """
    cfg = config or ActiveConfig()
    neutral = _neutral(signals, cfg)
    if neutral is None:
        return ()
    runs: list[tuple[Event, int]] = []
    open_runs: dict[Action, float] = {}
    last_t: dict[Action, float] = {}
    count: dict[Action, int] = {}
    for s in signals:
        flags = _active_flags(s, neutral, cfg)
        for action in list(open_runs):
            if action not in flags:
                runs.append((Event(action, open_runs.pop(action), last_t[action]), count[action]))
        for action in flags:
            if action not in open_runs:
                open_runs[action], count[action] = s.t_ms, 0
            last_t[action] = s.t_ms
            count[action] += 1
    runs += [(Event(a, start, last_t[a]), count[a]) for a, start in open_runs.items()]
    events = [e for e, n in runs if not e.action.is_pose or n >= cfg.min_pose_frames]
    return tuple(sorted(events, key=lambda e: (e.start_ms, e.action.value)))


def _apart_from_poses(events: Sequence[Event], margin_ms: float) -> list[Event]:
    """The events less the open-mouth readings within a head pose, +- ``margin_ms``.

    A reading counts as the pose's when it lies within those bounds and lasts no longer
    than the pose. Why: FaceMesh's mouth gap moves with the pose (requested or not), so
    such a reading is the pose's side effect, not the action performed; a side effect
    does not outlast its cause. Blinks are left alone: an extra one is tolerated anyway,
    and a requested one just after a pose is the action (``in_pose`` already refuses one
    during the pose).
    """
    poses = [e for e in events if e.action.is_pose]

    def side_effect(e: Event) -> bool:
        return e.action is Action.OPEN_MOUTH and any(
            p.start_ms - margin_ms <= e.start_ms
            and e.end_ms <= p.end_ms + margin_ms
            and e.end_ms - e.start_ms <= p.end_ms - p.start_ms
            for p in poses
        )

    return [e for e in events if not side_effect(e)]


def _match_actions(
    actions: Sequence[Action],
    events: Sequence[Event],
    timeout_ms: float,
    t0: float,
    margin_ms: float = ActiveConfig().pose_margin_ms,
) -> tuple[Reason, ...]:
    """Walk the events: requested ones must come in order, no other head/mouth action.

    Tolerated besides the requested actions: spontaneous blinks, a turn that dips and
    resumes (a repeat of the action just matched), and an open mouth while a requested head
    pose is held (overlapping it in time): looking up drops the jaw, as FaceMesh reads it.
    An extra head pose is never excused, nor a mouth opened apart from a pose, so one
    recording still cannot answer challenges that differ by a head action. A requested
    mouth or blink counts only once the previous requested pose has ended, and a mouth
    reading that starts and ends inside any head pose (or within ``margin_ms`` of it),
    requested or not, is that pose's side effect (``_apart_from_poses``): neither the
    action nor an extra one (seed 28008, a laugh at rest: the opened mouth read nothing in
    its own window and +0.21 inside the look-up after it, and was matched there, which
    made the look-up look replayed out of order instead of the mouth missing, open at
    rest).
    """
    events = _apart_from_poses(events, margin_ms)
    matched: list[Event] = []
    others: list[Event] = []
    for ev in events:
        prev = matched[-1] if matched else None
        # a mouth or eye reading taken while the head is still held in the previous pose
        # is not that action performed (FaceMesh's mouth and eye measures move with pose)
        in_pose = prev is not None and prev.action.is_pose and ev.start_ms <= prev.end_ms
        if (len(matched) < len(actions) and ev.action is actions[len(matched)]
                and not (in_pose and not ev.action.is_pose)):  # fmt: skip
            matched.append(ev)
        elif ev.action is Action.BLINK or (matched and ev.action is matched[-1].action):
            continue  # spontaneous blinks, and a turn that dips and resumes, are natural
        else:
            others.append(ev)
    poses = [m for m in matched if m.action.is_pose]
    side_effects = [
        o
        for o in others
        if not o.action.is_pose
        and any(o.start_ms <= p.end_ms and p.start_ms <= o.end_ms for p in poses)
    ]
    unexpected = len(side_effects) < len(others)
    if len(matched) < len(actions):
        seen = {e.action for e in events if e not in side_effects}
        missing = set(actions[len(matched) :])
        return (Reason.ACTIONS_OUT_OF_ORDER,) if missing <= seen else (Reason.ACTION_MISSING,)
    if unexpected:
        return (Reason.ACTIONS_OUT_OF_ORDER,)
    starts = [t0] + [e.start_ms for e in matched]
    if any(b - a > timeout_ms for a, b in itertools.pairwise(starts)):
        return (Reason.ACTION_TOO_SLOW,)
    return ()


def _unjudged(
    actions: Sequence[Action],
    events: Sequence[Event],
    neutral: FrameSignals | None,
    cfg: ActiveConfig,
) -> list[Reason]:
    """Why requested actions could not be seen, where the face at rest explains it.

    Never clears a failure: these reasons go beside ``ACTION_MISSING`` or ``NO_FACE`` so
    that the applicant is told what to change (face the camera, open the eyes: glasses
    off, close the mouth before starting) when asked to retake, instead of only "not
    live".
    """
    if neutral is None:
        return []
    seen = {e.action for e in _apart_from_poses(events, cfg.pose_margin_ms)}
    out = []
    unseen = [a for a in actions if a not in seen]
    if abs(neutral.yaw_deg) > cfg.max_rest_yaw_deg and any(a.is_pose for a in unseen):
        out.append(Reason.FACE_TURNED_AT_REST)
    if Action.BLINK in unseen and neutral.eye_ratio < cfg.min_open_eye:
        out.append(Reason.EYES_NOT_OPEN)
    if Action.OPEN_MOUTH in unseen and neutral.mouth_ratio > cfg.max_rest_mouth:
        out.append(Reason.MOUTH_OPEN_AT_REST)
    return out


def _window_reasons(
    challenge: Challenge, seq: FrameSequence, now: datetime, cfg: ActiveConfig
) -> list[Reason]:
    reasons = []
    if now > challenge.expires_at:
        reasons.append(Reason.CHALLENGE_EXPIRED)
    if seq.nonce != challenge.nonce:
        reasons.append(Reason.NONCE_MISMATCH)
    times = [f.t_ms for f in seq.frames]
    skew = timedelta(seconds=cfg.clock_skew_s)
    end = seq.started_at + timedelta(milliseconds=max(times, default=0.0))
    if (
        any(b <= a for a, b in itertools.pairwise(times))
        or min(times, default=0.0) < 0
        or seq.started_at < challenge.issued_at - skew
        or end > challenge.expires_at + skew
    ):
        reasons.append(Reason.BAD_TIMESTAMPS)
    if len(seq.frames) < cfg.min_frames:
        reasons.append(Reason.TOO_FEW_FRAMES)
    return reasons


def _is_static(images: Sequence[RGBImage], cfg: ActiveConfig) -> bool:
    import cv2

    def grey(img: RGBImage) -> npt.NDArray[np.float32]:
        small = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)
        out: npt.NDArray[np.float32] = small.astype(np.float32).mean(axis=2)
        return out

    first = grey(images[0])
    change = max((float(np.abs(grey(i) - first).mean()) for i in images[1:]), default=0.0)
    return change < cfg.static_grey_levels


class _FrameFaces:
    """Each frame's first face, found at most once, and its descriptor, embedded at most once.

    Why: the same-face and the selfie checks both read frame 0 (and the frames both sample);
    the selfie check used to detect and embed it again (~40 ms CPU per challenge).
    """

    def __init__(self, images: Sequence[RGBImage], matcher: Any) -> None:
        self._images = images
        self._matcher = matcher
        self._faces: dict[int, FaceDetection | None] = {}
        self._embeddings: dict[int, Embedding] = {}

    def face(self, i: int) -> FaceDetection | None:
        """Frame ``i``'s first face (the detector's order), None if it has none."""
        if i not in self._faces:
            found = self._matcher.detector.detect(self._images[i])
            self._faces[i] = found[0] if found else None
        return self._faces[i]

    def embed(self, indices: Sequence[int]) -> list[Embedding | None]:
        """The descriptors of ``indices``' frames (None: no face); new ones in one batch."""
        from ekyc.match import embed_each

        todo = [i for i in dict.fromkeys(indices) if i not in self._embeddings]
        shots = [(i, face) for i in todo if (face := self.face(i)) is not None]
        if shots:
            batch = embed_each([(self._images[i], f) for i, f in shots], self._matcher.embedder)
            self._embeddings.update(zip((i for i, _ in shots), batch, strict=True))
        return [self._embeddings.get(i) for i in indices]


def _same_face(images: Sequence[RGBImage], matcher: Any, cfg: ActiveConfig,
               faces: _FrameFaces | None = None) -> bool:  # fmt: skip
    """The sampled frames' faces all match the first; embedded in one batch (less CPU)."""
    faces = faces or _FrameFaces(images, matcher)
    step = max(cfg.embed_every, -(-len(images) // cfg.max_embeddings))
    found = [i for i in range(0, len(images), step) if faces.face(i) is not None]
    if len(found) < 2:
        return True  # too few faces to compare; NO_FACE reports the real problem
    embeddings = [e for e in faces.embed(found) if e is not None]
    return all(matcher.compare(embeddings[0], e).match for e in embeddings[1:])


def _selfie_in_sequence(
    selfie: RGBImage,
    images: Sequence[RGBImage],
    matcher: Any,
    cfg: ActiveConfig,
    faces: _FrameFaces | None = None,
) -> bool:
    """The selfie is a frame of the recording, or its face matches a sampled frame's.

    Frames are read in order until one matches (each at most once per evaluation:
    ``faces``); a frame without a face is passed over.
    """
    h = dhash(selfie)
    if min(hamming(h, dhash(i)) for i in images) <= cfg.selfie_max_bits:
        return True
    if matcher is None:
        return False
    from ekyc.errors import NoFaceFound

    try:
        ref = matcher.embed_image(selfie)
    except NoFaceFound:
        return False
    faces = faces or _FrameFaces(images, matcher)
    for i in range(0, len(images), cfg.embed_every):
        (embedding,) = faces.embed([i])
        if embedding is not None and matcher.compare(ref, embedding).match:
            return True
    return False


def evaluate(
    challenge: Challenge,
    frames: FrameSequence,
    now: datetime,
    *,
    tracker: FaceMeshTracker,
    matcher: Any = None,
    selfie: RGBImage | None = None,
    config: ActiveConfig | None = None,
) -> LivenessResult:
    """Judge a recorded challenge; every failed aspect adds a ``Reason``.

    Args:
        challenge: What was asked.
        frames: What the client sent, bound to a nonce.
        now: Server time of the evaluation (timezone-aware).
        tracker: FaceMesh landmarks.
        matcher: An ``ekyc.match.FaceMatcher``; without it the same-face check is skipped
            and the still selfie must be pixel-near one of the frames.
        selfie: The still selfie submitted for face matching, if any.
        config: Thresholds; ``ActiveConfig()`` when omitted.

    Returns:
        ``score`` = share of the requested actions performed in order; ``threshold`` 1.0.
    """
    cfg = config or ActiveConfig()
    reasons = _window_reasons(challenge, frames, now, cfg)
    images = [f.image for f in frames.frames]
    models: list[ModelRef] = [tracker.model] + ([matcher.model] if matcher is not None else [])
    attack: AttackType | None = None
    score = 0.0
    if images and _is_static(images, cfg):
        reasons.append(Reason.STATIC_SEQUENCE)
        attack = AttackType.STATIC_IMAGE
    elif images:
        signals = measure_frames(frames, tracker)
        if sum(s.found for s in signals) < cfg.min_face_fraction * len(signals):
            reasons.append(Reason.NO_FACE)
        events = detect_events(signals, cfg)
        t0 = signals[0].t_ms
        order = _match_actions(
            challenge.actions, events, challenge.action_timeout_ms, t0, cfg.pose_margin_ms
        )
        reasons += order
        if Reason.ACTION_MISSING in order or Reason.NO_FACE in reasons:
            reasons += _unjudged(challenge.actions, events, _neutral(signals, cfg), cfg)
        performed = _apart_from_poses(events, cfg.pose_margin_ms)
        done = [a for a in challenge.actions if any(e.action is a for e in performed)]
        score = 1.0 if not order else len(done) / len(challenge.actions) * 0.99
        faces = _FrameFaces(images, matcher) if matcher is not None else None
        if matcher is not None and not _same_face(images, matcher, cfg, faces):
            reasons.append(Reason.FACE_CHANGED)
        if selfie is not None and not _selfie_in_sequence(selfie, images, matcher, cfg, faces):
            reasons.append(Reason.SELFIE_NOT_IN_SEQUENCE)
    if Reason.NONCE_MISMATCH in reasons or Reason.ACTIONS_OUT_OF_ORDER in reasons:
        attack = attack or AttackType.REPLAYED_SEQUENCE
    live = not reasons
    return LivenessResult(
        live=live,
        score=score if live or score < 1.0 else 0.99,
        threshold=1.0,
        reasons=tuple(reasons),
        attack_type=None if live else attack,
        models=tuple(models),
    )
