"""``verify``: the one place that knows the order of the verification stages.

Order: the document rules (refusals and missing or forbidden shots, before any pixel is
decoded) -> decoding every shot -> the method's document stages (``ImageMethod``: card,
tilt, same card, back) -> OCR of the card's key fields and the cross-check with the
application (or the expiry alone) -> the selfie: a My Number back in it is refused, the
face gate, the card's portrait, the face match -> liveness (passive check, card-portrait reuse, the
active challenge, capture metadata) -> the decision.

The method is pluggable (``ekyc.methods.DocumentMethod``): an IC-chip method hands the
chip's portrait to the same selfie stages.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import heapq
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from ekyc.capture.decode import decode_image
from ekyc.config import DecodeLimits, PipelineConfig
from ekyc.detect import (
    CardLayouts,
    find_card,
    find_held_my_number_back,
    refuse_my_number_back,
)
from ekyc.detect.back import find_my_number_back, held_back_half
from ekyc.detect.learned import CornerProposer
from ekyc.errors import ModelNotFound, StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence, LivenessResult, evaluate
from ekyc.match import FaceGate, FaceMatcher, MatchConfig, assess_face
from ekyc.methods import DocumentFindings, DocumentMethod, Evidence, ImageMethod
from ekyc.methods.image import ShotLook
from ekyc.read import (
    Applicant,
    FieldName,
    FieldRead,
    FieldReads,
    LineReader,
    OcrUnavailable,
    default_reader,
    read_fields,
)
from ekyc.read.ocr import SCREENED_FIELDS
from ekyc.registry import Registry
from ekyc.rules import rule_for
from ekyc.screening import ShotScreening
from ekyc.stages import (
    CardReading,
    LivenessInputs,
    LivenessLook,
    PortraitLook,
    check_selfie_for_back,
    field_groups,
    join_readings,
    join_selfie_look,
    liveness_stage,
    look_active,
    look_at_portrait,
    look_at_selfie_faces,
    look_passive,
    read_card,
    read_card_image,
    reading_stage,
    selfie_stage,
)
from ekyc.types import (
    CardDetection,
    DocumentType,
    FaceDetection,
    Frame,
    QualityReport,
    RectifiedCard,
    RGBImage,
    Shot,
    Side,
    TiltCheck,
)
from ekyc.verdict import ReasonCode, Verdict, decide

__all__ = ["VERIFY_MATCH", "ImageSource", "Verifier"]

_JST = ZoneInfo("Asia/Tokyo")
_log = logging.getLogger(__name__)
_CARD_STEPS = frozenset({"front", "tilt", "back"})
# The order shots are handed to the threads in: longest work first.
_SHOT_ORDER = ("selfie", "front", "tilt", "back")
# Decoded shots kept by ``screen_shot`` for ``verify`` (``_Frames``): a 12 MP shot decoded
# at most 2048 px wide is 9 MB, so 8 of them (two sessions of four shots) hold ~73 MB.
_FRAMES_KEPT = 8
# Which ready piece of a verification goes first (lowest first; ``_Graph``): the card
# shots' chain to the method's examination (decode, look at the card, examine, the other
# views' portraits), then the selfie's own look, then what fills the other thread: the OCR
# of the front (~170 ms of CPU, measured on 12 MP shots) beside the examination, the
# front's portrait, the passive check. The challenge (~45 frames through FaceMesh) is the
# longest piece when there is one: first once the selfie is decoded. The selfie's My Number
# back gate (``check_selfie_for_back``, ~40 % of a 12 MP verification's CPU) is the longest
# piece without one: it starts as soon as the selfie is decoded, on one thread, while the
# other does the card shots; its faces and embedding are a piece of their own.
_PRIORITY = {
    "examine": 0, "other_portraits": 1, "active": 1, "decode.selfie": 2, "gate.selfie": 2,
    "decode": 3, "prepare": 4, "prepare.selfie": 5, "ocr": 6, "portrait": 7, "passive": 8,
}  # fmt: skip
# Cards found by ``screen_shot`` kept for ``verify`` (corners and type only, a few hundred
# bytes each): the most recent this many shots, about 64 sessions of 4 shots.
_SCREENED_KEPT = 256

VERIFY_MATCH = MatchConfig(budget="card", review_fmr=1e-2)
"""The face match of a verification: thresholds calibrated on card portraits vs selfies
(benchmarks/match_cards.py; the LFW budget let 0.17 % impostor card pairs through at its
"1e-3"), accepted at FMR 1e-3; a score between the FMR 1e-2 and 1e-3 thresholds goes to a
person (``FACE_MATCH_UNCERTAIN``, ``MatchConfig.review_fmr``) instead of being rejected. The
same band judges any method's reference face (an IC chip's portrait included): the selfie
stage is shared."""

ImageSource = bytes | str | os.PathLike[str] | Frame
"""A shot as bytes, a path, or an already decoded ``Frame``."""


class Verifier:
    """Loaded models plus configuration; build once, verify many times (thread-safe reads).

    Example:
        >>> verifier = Verifier.from_registry(Registry.from_manifest())  # doctest: +SKIP
        >>> verifier.verify("drivers_license", {"front": "f.jpg", "tilt": "t.jpg",
        ...                 "back": "b.jpg", "selfie": "me.jpg"}).decision  # doctest: +SKIP
        <Decision.REVIEW: 'review'>
    """

    def __init__(self, matcher: FaceMatcher, method: DocumentMethod, layouts: CardLayouts,
                 config: PipelineConfig | None = None, match_config: MatchConfig | None = None,
                 reader: LineReader | None = None, passive: Any = None,
                 registry: Registry | None = None,
                 proposer: CornerProposer | None = None) -> None:  # fmt: skip
        self.matcher = matcher
        self.method = method
        self.layouts = layouts
        self.config = config or PipelineConfig()
        self.match_config = match_config or MatchConfig()
        self.reader = reader
        self.passive = passive
        self._registry = registry
        # find_card's corner proposer (``from_registry`` loads it from its registry; None:
        # the default manifest's, ``ekyc.detect.learned.default_proposer``).
        self.proposer = proposer
        self._tracker: Any = None
        self._tracker_lock = threading.Lock()
        self._threads = _Threads(self.config.threads)
        self._screened = _Screened(_SCREENED_KEPT)
        self._frames = _Frames(_FRAMES_KEPT)
        # What judges a card step on arrival: the method itself where it is the image
        # method with the detector's default settings (its judgements are then reused by
        # ``verify``), else an image method with this configuration (judged, not reused).
        self._judge = (method if isinstance(method, ImageMethod) and method.detect_config is None
                       else ImageMethod(layouts, self.config, proposer=proposer))  # fmt: skip

    @classmethod
    def from_registry(cls, registry: Registry, config: PipelineConfig | None = None,
                      match_config: MatchConfig | None = None) -> Verifier:  # fmt: skip
        """Load every model the image method needs, corner proposer included (checksummed).

        The passive liveness model is trained at setup from the evaluation data; where that
        data was absent the model is missing and the passive check is recorded as skipped.
        ``match_config``: ``VERIFY_MATCH`` when None (``review_fmr=None`` turns the face
        match's review band off).
        """
        from ekyc.liveness import PassiveChecker

        cfg = config or PipelineConfig()
        layouts = CardLayouts.from_registry(registry)
        proposer = CornerProposer.from_registry(registry)
        match_config = match_config or VERIFY_MATCH
        matcher = FaceMatcher.from_registry(registry, config=match_config)
        try:
            passive = PassiveChecker(registry)
        except ModelNotFound as exc:
            _log.warning("passive liveness unavailable: %s", exc.message)
            passive = None
        return cls(matcher, ImageMethod(layouts, cfg, proposer=proposer), layouts, cfg,
                   match_config, reader=default_reader(), passive=passive, registry=registry,
                   proposer=proposer)  # fmt: skip

    def tracker(self) -> Any:
        """The FaceMesh tracker for challenges, loaded on first use."""
        with self._tracker_lock:
            if self._tracker is None:
                from ekyc.liveness import FaceMeshTracker

                self._tracker = FaceMeshTracker(self._registry or Registry.from_manifest())
            return self._tracker

    def verify(self, document: DocumentType | str, shots: Mapping[str, ImageSource], *,
               applicant: Applicant | None = None, today: dt.date | None = None,
               challenge: Challenge | None = None, frames: FrameSequence | None = None,
               now: dt.datetime | None = None,
               active: LivenessResult | None = None) -> Verdict:  # fmt: skip
        """Verify one applicant's shots (``front``, ``tilt``, ``back``, ``selfie``).

        Args:
            document: The document type the applicant chose.
            shots: ``front``, ``tilt``, ``back`` (when the type has one), ``selfie``.
            applicant: The application's data to cross-check the card against; without it
                only the card's expiry is checked.
            today: The date of the check; the date in Japan when omitted.
            challenge: The liveness challenge the applicant was given ...
            frames: ... and the frames they recorded for it. Without them the verdict can
                at most reach review (``LIVENESS_NOT_PROVEN``).
            now: Server time of the evaluation (timezone-aware); now when omitted.
            active: ``evaluate_challenge``'s result for this very ``challenge``, ``frames``,
                ``now`` and selfie (a daemon judges a recording on arrival): recorded as
                the challenge's evaluation instead of evaluating it again. Needs
                ``challenge`` and ``frames``; the caller vouches that the inputs are the
                same (a result for another selfie would skip its "selfie among the frames"
                check).

        Raises:
            StepNotAllowed: a shot the rules forbid (a My Number card's back) or a missing
                one; the forbidden bytes are not decoded, let alone kept.
            InputError: a shot that cannot be decoded.
        """
        return self.verify_with_frames(
            document,
            shots,
            applicant=applicant,
            today=today,
            challenge=challenge,
            frames=frames,
            now=now,
            active=active,
        )[0]

    def evaluate_challenge(self, challenge: Challenge, frames: FrameSequence, *,
                           now: dt.datetime, selfie: ImageSource | None = None
                           ) -> LivenessResult:  # fmt: skip
        """The active challenge judged as ``verify`` judges it, before the other shots.

        The same tracker, matcher and selfie decoding (``config.decode``) as ``verify``'s,
        so that with the same ``challenge``, ``frames``, ``now`` and ``selfie`` the result
        is the one ``verify`` records, and may be handed to it (``active``) instead of
        evaluating the recording twice. Without ``selfie`` the "selfie among the frames"
        check is skipped: such a result says nothing about a selfie and must not be
        handed to ``verify``.

        Raises:
            InputError: ``selfie`` cannot be decoded.
        """
        tracker = self.tracker()
        if selfie is None:
            return evaluate(challenge, frames, now, tracker=tracker, matcher=self.matcher)
        inputs = LivenessInputs(challenge, frames, now)
        look = look_active(self._decode(selfie)[0], inputs, tracker=tracker, matcher=self.matcher)
        result: LivenessResult = look.result
        return result

    def verify_with_frames(self, document: DocumentType | str,
                           shots: Mapping[str, ImageSource], *,
                           applicant: Applicant | None = None, today: dt.date | None = None,
                           challenge: Challenge | None = None,
                           frames: FrameSequence | None = None, now: dt.datetime | None = None,
                           active: LivenessResult | None = None
                           ) -> tuple[Verdict, dict[str, Frame]]:  # fmt: skip
        """``verify``, also returning the decoded shots (for evidence images)."""
        document_type = DocumentType(document)
        liveness = LivenessInputs(challenge, frames, now)
        if active is not None and challenge is None:
            raise ValueError("an active result comes with its challenge and frames")
        # Judged before (on the recording's arrival): recorded as such, no time spent here.
        arrived = LivenessLook(active, 0.0) if active is not None else None
        evidence = Evidence()
        rule = rule_for(document_type)
        if not rule.accepted:
            evidence.reason(ReasonCode.DOCUMENT_NOT_ACCEPTED, "rules", rule.refusal or "")
            return self._verdict(evidence, {}, document_type), {}
        _check_shots(document_type, shots)
        # Every piece of work that needs no recorded evidence runs as soon as what it needs
        # is done, on up to ``config.threads`` threads (``_Graph``): each shot's decoding
        # and its own look (the card, or the selfie's faces); the method's examination once
        # every card shot is looked at; the OCR and the portrait of the front's card as
        # soon as it is rectified; the passive check (and the challenge) once the selfie is
        # decoded. The evidence is then recorded in one fixed order. Failures surface in a
        # fixed order too: any undecodable shot first (in the order given), then the card
        # shots' refusals, then the selfie's.
        names = sorted(shots, key=_SHOT_ORDER.index)
        graph = _Graph(self._threads)
        decodes = {name: graph.add(functools.partial(self._decode, shots[name]),
                                   priority=_PRIORITY["decode" if name != "selfie" else
                                                      "decode.selfie"])
                   for name in names}  # fmt: skip
        looks = {name: graph.add(functools.partial(self._prepare_decoded, name, decodes[name]),
                                 after=[decodes[name]],
                                 priority=_PRIORITY["prepare" if name != "selfie" else
                                                    "prepare.selfie"])
                 for name in names}  # fmt: skip
        selfie = decodes["selfie"]
        # The selfie's look is its back gate (looks["selfie"]: faces, gate, embedding) and
        # the gate, joined after the graph as ``look_at_selfie`` returns them.
        selfie_gate = graph.add(functools.partial(self._selfie_gate, selfie), after=[selfie],
                                priority=_PRIORITY["gate.selfie"])  # fmt: skip
        passive = (graph.add(lambda: look_passive(selfie.value()[0], self.passive), after=[selfie],
                             priority=_PRIORITY["passive"])
                   if self.passive is not None else None)  # fmt: skip
        active_task = (graph.add(lambda: look_active(selfie.value()[0], liveness,
                                                     tracker=self.tracker(),
                                                     matcher=self.matcher),
                                 after=[selfie], priority=_PRIORITY["active"])
                       if challenge is not None and arrived is None else None)  # fmt: skip
        front = looks["front"]  # every accepted document has one (_check_shots)
        # The OCR in groups of fields, one per thread: each group on a reader handle of
        # its own (``TesseractLib.handles``), read exactly as all fields at once. A reader
        # that reads one call at a time (the binary: a process a call) gets one group.
        readers = max(1, int(getattr(self.reader, "handles", 1)))
        early_ocr = [
            graph.add(functools.partial(_on_card, front, functools.partial(
                self._read_group, front, decodes["front"], document_type, group)),
                after=[front], priority=_PRIORITY["ocr"])
            for group in field_groups(document_type, min(self._threads.n, readers))
        ]  # fmt: skip
        early_portrait = graph.add(
            lambda: _on_card(front, lambda card: self._front_portrait(front, decodes["front"],
                                                                      card)),
            after=[front], priority=_PRIORITY["portrait"])  # fmt: skip
        examined = Evidence()
        card_looks = [task for name, task in looks.items() if name != "selfie"]
        examine = graph.add(
            lambda: self.method.examine(document_type,
                                        {name: task.value()[0] for name, task in decodes.items()},
                                        examined,
                                        {name: task.value() for name, task in looks.items()
                                         if name != "selfie"}),
            after=[*decodes.values(), *card_looks], priority=_PRIORITY["examine"])  # fmt: skip

        def other_portraits() -> list[PortraitLook]:
            """The portraits on the findings' other views, where the front's is used."""
            findings: DocumentFindings = examine.value()
            seen: PortraitLook | None = early_portrait.value()
            if findings.reference_face is not _early_card(front) or seen is None or not seen.faces:
                return []
            return [look_at_portrait(view, self.matcher) for view in findings.other_views]

        others = graph.add(other_portraits, after=[examine, early_portrait],
                           priority=_PRIORITY["other_portraits"])  # fmt: skip
        graph.run()

        decoded: dict[str, Frame] = {}
        decode_ms = 0.0
        for name in shots:
            frame, ms = decodes[name].value()
            decoded[name], decode_ms = frame, decode_ms + ms
        evidence.timing("decode", decode_ms)
        for name in names:  # the card shots' refusals, then the selfie's
            if name != "selfie":
                looks[name].value()
        selfie_look = join_selfie_look(selfie_gate.value(), looks["selfie"].value())
        findings: DocumentFindings = examine.value()
        evidence.merge(examined)
        # The early reads stand for the findings' only when made on the very same card.
        card = _early_card(front)
        reading: CardReading | None = None
        portraits: list[PortraitLook] | None = None
        if card is not None and findings.card_image is card:
            reading = join_readings([task.value() for task in early_ocr])
        if card is not None and findings.reference_face is card:
            front_portrait = early_portrait.value()
            portraits = (
                [front_portrait, *others.value()]
                if front_portrait.faces
                else [front_portrait]  # the other views only count beside the front's
            )
        # The OCR was recorded before the face match and liveness: kept in that order.
        tail = Evidence()
        if reading is None:
            reading = read_card(findings, self.reader)
        faces = selfie_stage(decoded["selfie"], findings, self.matcher, self.layouts,
                             self.match_config, tail, look=selfie_look,
                             portraits=portraits)  # fmt: skip
        liveness_stage(decoded, faces, liveness, passive=self.passive,
                       tracker=self.tracker() if challenge is not None else None,
                       matcher=self.matcher, evidence=tail,
                       passive_look=passive.value() if passive is not None else None,
                       active_look=(active_task.value() if active_task is not None
                                    else arrived))  # fmt: skip
        reading_stage(findings, applicant, today or dt.datetime.now(_JST).date(), self.reader,
                      evidence, reading=reading)  # fmt: skip
        evidence.merge(tail)
        return self._verdict(evidence, decoded, document_type), decoded

    def screen_shot(self, source: ImageSource, *, selfie: bool = False,
                    limits: DecodeLimits | None = None, step: str | None = None
                    ) -> ShotScreening:  # fmt: skip
        """Refuse a My Number card's back in one shot before a caller keeps its bytes.

        Whatever step it was sent as (a licence's back, a front, the selfie): a session
        that stores shots as they arrive must look first, since ``verify`` only runs once
        every shot is in. The same decoding and detection as ``verify``'s.

        ``selfie``: the shot is the selfie, where a card held up below the face is looked
        for too (``find_held_my_number_back``): the head and shoulders outrank it.

        ``limits``: the caller's decoding limits (``config.decode`` when None), so that a
        caller with its own (fewer formats, say) decodes the shot once, here.

        ``step``: the step the shot was sent as (``"front"``, ``"tilt"``, ``"back"``,
        ``"selfie"``); a found card's capture quality is then judged, on the front the glare
        over its printed portrait and whether its name, date of birth and expiry are legible, on the
        tilted step its tilt and thickness, and in the selfie its faces and face quality
        (``ShotScreening.quality``, ``.portrait_faces``, ``.portrait_glare``, ``.portrait_faded``,
        ``.key_fields``, ``.tilt``, ``.face_gate``), as ``verify`` judges them, so that a
        caller can ask for a retake before the verification would reject the shot (or read
        it wrongly: ``KEY_FIELDS_ILLEGIBLE``).

        Returns the frame and its card, for the caller's retake rules
        (``ShotScreening.retake_reason``); a selfie's card is None (it is searched for a
        My Number back alone, which is refused). The card is kept for a later ``verify`` of the
        same bytes, which then does not look for it again: a session screens every shot on
        arrival and verifies them all at the end; so are the step's judgements, which
        ``verify`` of the same bytes as the same step reuses (``_Arrival``: the very figures
        it would compute, so the verdict is the one it gives without a screen). So are the
        decoded pixels of the last few shots (``_FRAMES_KEPT``), which ``verify`` then does
        not decode again.

        Raises:
            StepNotAllowed: the shot shows a My Number card's back (``reason``
                ``my_number_back``); the caller must drop the bytes.
            InputError: the shot cannot be decoded.
        """
        limits = limits or self.config.decode
        frame, _ = self._decode(source, limits)
        # A selfie is searched for a My Number back only (``back.find_my_number_back``:
        # without the corner proposal, and only where a candidate could be one), a tilted
        # shot with the proposal as the last resort only (``ImageMethod.propose_first``).
        half = held_back_half(frame) if selfie else None  # shared with the windows
        if selfie:
            detection = find_my_number_back(frame, self.layouts, half=half)
        else:
            detection = find_card(frame, self.layouts, learned=self._judge.learned,
                                  propose_first=self._judge.propose_first(step))  # fmt: skip
        refuse_my_number_back(detection)
        if selfie:
            refuse_my_number_back(find_held_my_number_back(frame, self.layouts, half=half))
        if isinstance(source, bytes):  # after the refusals: a My Number back is never kept
            self._frames.put(frame, limits)
        arrival = _Arrival(detection, selfie, step, (self._judge, self.matcher, self.match_config))
        if step == "selfie":  # judged as verify will: one face, and a usable one
            faces = tuple(self.matcher.detector.detect(frame.image))
            arrival = replace(arrival, faces=faces,
                              gate=assess_face(frame.image, faces, self.match_config))  # fmt: skip
        elif step in _CARD_STEPS and detection is not None:  # judged by ImageMethod's rules
            look = self._judge.prepare(step, frame, ShotScreening(frame, detection))
            if look is not None and look.quality is not None:
                arrival = replace(arrival, quality=look.quality)
                if step == "tilt":
                    arrival = replace(arrival, tilt=self._judge.check_tilt(frame, detection))
                if step == "front" and look.card is not None:  # its printed portrait's glare
                    portrait = look_at_portrait(look.card.image, self.matcher)
                    fields = self._key_fields(look.card, detection)  # name, dob, expiry
                    arrival = replace(arrival, portrait=replace(portrait, ms=0.0),
                                      key_fields=fields)  # fmt: skip
        self._screened.put(frame, arrival)
        return arrival.screening(frame)

    def _key_fields(self, card: RectifiedCard, detection: CardDetection
                    ) -> tuple[FieldRead, ...] | None:  # fmt: skip
        """The front's name, date of birth and expiry read on arrival, as ``verify`` reads them.

        ``SCREENED_FIELDS``, first reads.

        For ``key_field_problems``; None where the card is not an accepted document's front
        (its card problem comes first) or no OCR engine runs (``verify`` says so).
        """
        found = detection.document_type
        if found is None or not found.accepted or detection.side is not Side.FRONT:
            return None
        try:
            reads = read_fields(card, found, Side.FRONT, reader=self.reader,
                                only=SCREENED_FIELDS)  # fmt: skip
        except OcrUnavailable:
            return None
        return reads.fields

    def _stamp(self) -> tuple[Any, ...]:
        """What ``verify`` judges with, as ``_Arrival.stamp``.

        Judgements on arrival made by another method than ``self.method`` (``_judge``) are
        not reused.
        """
        return (self.method, self.matcher, self.match_config)

    def _front_portrait(self, front: _Task, decoded: _Task, card: RGBImage) -> PortraitLook:
        """``look_at_portrait`` on the front's rectified ``card``, or the screen's look.

        The screen's look on arrival stands when it was made on the very card: the same
        bytes' frame, the same ``CardDetection`` it handed to this verification, and the
        same method, so the same rectified pixels.
        """
        arrival = self._front_arrival(front, decoded)
        if arrival is not None and arrival.portrait is not None:
            return arrival.portrait
        return look_at_portrait(card, self.matcher)

    def _front_arrival(self, front: _Task, decoded: _Task) -> _Arrival | None:
        """The screen's judgement of the front on arrival, if made on the very card.

        The same bytes' frame and the same ``CardDetection`` this verification looks at.
        """
        arrival = self._screened.get(decoded.value()[0], self._stamp())
        look = front.value()
        if (
            arrival is not None
            and arrival.step == "front"
            and isinstance(look, ShotLook)
            and look.detection is arrival.detection
        ):
            return arrival
        return None

    def _read_group(self, front: _Task, decoded: _Task, document_type: DocumentType,
                    group: frozenset[FieldName], card: RGBImage) -> CardReading:  # fmt: skip
        """``read_card_image`` of ``group`` on the front's ``card``, reusing the screen's reads.

        The fields the screen read on arrival (``_key_fields``) stand when read on the
        very card, as ``_front_portrait``'s look does: the same bytes' frame, the same
        ``CardDetection`` handed to this verification, read as ``document_type``; the other
        fields of ``group`` are read here. Saves ~60 ms of OCR CPU per screened front (more
        since the expiry is read on arrival too).
        """
        arrival = self._front_arrival(front, decoded)
        known: tuple[FieldRead, ...] = ()
        if (
            arrival is not None
            and arrival.key_fields is not None
            and arrival.detection is not None
            and arrival.detection.document_type is document_type
        ):
            known = tuple(read for read in arrival.key_fields if read.field in group)
        rest = group - {read.field for read in known}
        reading = read_card_image(card, document_type, self.reader, only=rest)
        if not known:
            return reading
        screened = FieldReads(document_type, Side.FRONT, known, 0.0)
        return join_readings([reading, CardReading(screened, 0.0)])

    def _decode(self, source: ImageSource, limits: DecodeLimits | None = None
                ) -> tuple[Frame, float]:  # fmt: skip
        if isinstance(source, Frame):
            return source, 0.0
        start = time.perf_counter()
        limits = limits or self.config.decode
        frame = self._frames.get(source, limits) if isinstance(source, bytes) else None
        if frame is None:
            frame = decode_image(source, limits)
        return frame, (time.perf_counter() - start) * 1000.0

    def _prepare_decoded(self, name: str, decoded: _Task) -> Any:
        frame, _ = decoded.value()
        return self._prepare(name, frame)

    def _prepare(self, name: str, frame: Frame) -> Any:
        """A card shot's look (``method.prepare``), or the selfie's faces, gate, embedding."""
        screened = self._screening(frame, name)
        if name == "selfie":
            return look_at_selfie_faces(frame, self.matcher, self.match_config, screened)
        return self.method.prepare(name, frame, screened=screened)

    def _selfie_gate(self, decoded: _Task) -> dict[str, float]:
        """The selfie's My Number back gate (``check_selfie_for_back``): its timings."""
        frame, _ = decoded.value()
        return check_selfie_for_back(frame, self.layouts, self._screening(frame, "selfie"))

    def _screening(self, frame: Frame, name: str) -> ShotScreening | None:
        """What the screen on arrival found and judged on ``frame`` as step ``name``."""
        arrival = self._screened.get(frame, self._stamp())
        return None if arrival is None else arrival.screening(frame, name)

    def close(self) -> None:
        """Stop the worker threads (a later ``verify`` starts them again)."""
        self._threads.close()

    def _verdict(self, evidence: Evidence, frames: Mapping[str, Frame],
                 document_type: DocumentType) -> Verdict:  # fmt: skip
        return Verdict(
            decision=decide(evidence.reasons), reasons=tuple(evidence.reasons),
            method=self.method.name, checks=evidence.checks,
            models=tuple(evidence.models.values()),
            inputs_sha256={name: f.source_sha256 for name, f in frames.items()},
            timings_ms=evidence.timings_ms, document=document_type.value)  # fmt: skip


def _check_shots(document_type: DocumentType, shots: Mapping[str, ImageSource]) -> None:
    """Refuse unknown, forbidden and missing shots before anything is decoded."""
    allowed = {shot.value for shot in rule_for(document_type).shots}
    for name in shots:
        if name == Shot.BACK.value and name not in allowed:
            raise StepNotAllowed(
                "the back of the My Number card must not be photographed; the image was "
                "discarded (個人番号カードの裏面は撮影できません)",
                reason="my_number_back",
            )
        if name not in allowed:
            raise StepNotAllowed(
                f"{name!r} is not a shot of the image method", reason="unknown_shot", shot=name
            )
    missing = [name for name in sorted(allowed) if name not in shots]
    if missing:
        raise StepNotAllowed(
            f"missing shot(s): {', '.join(missing)}", reason="missing_shot", missing=missing
        )


def _early_card(front: _Task) -> RGBImage | None:
    """The front's rectified card from ``ImageMethod.prepare``'s look, None without one.

    ``examine`` hands the same image on (``DocumentFindings.card_image`` and
    ``reference_face``). The pipeline reads it and looks for its portrait before
    ``examine`` is done, and uses those early looks only when the findings hold this very
    image.
    """
    look, error = front.outcome
    if error is not None or not isinstance(look, ShotLook):
        return None
    if look.detection is None or look.quality is None or look.card is None:
        return None
    return look.card.image


def _on_card(front: _Task, work: Callable[[RGBImage], Any]) -> Any:
    """``work`` on the front's rectified card (``_early_card``), None when it shows none."""
    card = _early_card(front)
    return None if card is None else work(card)


class _Frames:
    """The decoded pixels of the last few shots ``screen_shot`` passed, for ``verify``.

    A session screens each shot on arrival and verifies all of them at the end; decoding
    a 12 MP JPEG again costs ~45 ms of CPU a shot. Keyed by the bytes' sha256 and the
    limits that shape the pixels (``max_side``, ``pdf_render_max_side``): the same bytes
    decoded under those give the same frame. Only ``screen_shot`` adds, and the pixels are
    read-only, so no stage can change what a later ``verify`` gets. At most ``size``
    frames (the oldest go); a shot no longer kept is decoded again, as before.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._frames: OrderedDict[tuple[str, int | None, int], Frame] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(sha256: str, limits: DecodeLimits) -> tuple[str, int | None, int]:
        return (sha256, limits.max_side, limits.pdf_render_max_side)

    def put(self, frame: Frame, limits: DecodeLimits) -> None:
        if self._size <= 0:
            return
        frame.image.flags.writeable = False
        key = self._key(frame.source_sha256, limits)
        with self._lock:
            self._frames[key] = frame
            self._frames.move_to_end(key)
            while len(self._frames) > self._size:
                self._frames.popitem(last=False)

    def get(self, data: bytes, limits: DecodeLimits) -> Frame | None:
        """The frame decoded from ``data`` under ``limits``, None if not kept."""
        if self._size <= 0 or len(data) > limits.max_bytes:
            return None
        with self._lock:  # none kept (nothing screened): no digest (~3 ms a 12 MP shot)
            if not self._frames:
                return None
        key = self._key(hashlib.sha256(data).hexdigest(), limits)
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            return frame

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)


@dataclass(frozen=True, slots=True, eq=False)
class _Arrival:
    """What ``screen_shot`` found and judged on one shot, for ``verify`` of the same bytes.

    The card (``None``: none found) and whether the held-back windows were searched; with
    a ``step``, that step's judgements: a card step's ``quality`` (and the front's printed
    ``portrait``, the tilted step's ``tilt``) by the image method in ``stamp``, a selfie's
    ``faces`` and face ``gate`` by the matcher and match configuration in ``stamp``.
    """

    detection: CardDetection | None
    held_back_checked: bool
    step: str | None = None
    stamp: tuple[Any, ...] = ()
    quality: QualityReport | None = None
    tilt: TiltCheck | None = None
    portrait: PortraitLook | None = None
    key_fields: tuple[FieldRead, ...] | None = None
    faces: tuple[FaceDetection, ...] = ()
    gate: FaceGate | None = None

    def screening(self, frame: Frame, step: str | None = None) -> ShotScreening:
        """The screen's answer, with what it judged only for the step it judged.

        ``step``: the step ``verify`` uses the shot as (None: the one screened); the same
        bytes sent as another step are judged again.
        """
        if step is not None and step != self.step:
            return ShotScreening(frame, self.detection, self.held_back_checked)
        portrait = self.portrait
        glare = portrait.glare if portrait is not None and portrait.faces else None
        faded = portrait.faded if portrait is not None and portrait.faces else None
        faces = None if portrait is None else len(portrait.faces)
        return ShotScreening(frame, self.detection, self.held_back_checked,
                             quality=self.quality, tilt=self.tilt, face_gate=self.gate,
                             found_faces=self.faces, portrait_glare=glare,
                             portrait_faded=faded, portrait_faces=faces,
                             key_fields=self.key_fields)  # fmt: skip

    def judged_by(self, stamp: tuple[Any, ...]) -> bool:
        """Whether the judgements were made with ``stamp``'s components.

        The same objects, or equal configurations.
        """
        return len(stamp) == len(self.stamp) and all(
            a is b or a == b for a, b in zip(self.stamp, stamp, strict=True)
        )


class _Screened:
    """What ``screen_shot`` found and judged on shots that passed it, for ``verify``.

    Keyed by the bytes' sha256 and the decoded size: the same bytes decoded by the same
    ``Verifier`` give the same frame, hence the same card and the same judgements, which
    ``verify`` then does not make again (``_Arrival``; the judgements only where made with
    the components ``verify`` uses: ``get``'s ``stamp``). Only ``screen_shot`` adds (a
    My Number back never gets here: it is refused first); ``verify`` looks up and never
    adds, so verifying shots that were not screened finds every card itself. The oldest
    entries go beyond ``size``; an entry holds no pixels (a few kB: corners, figures, a
    portrait's embedding).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, tuple[int, ...]], _Arrival] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, frame: Frame, arrival: _Arrival) -> None:
        key = (frame.source_sha256, frame.image.shape)
        with self._lock:
            self._seen[key] = arrival
            self._seen.move_to_end(key)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)

    def get(self, frame: Frame, stamp: tuple[Any, ...] | None = None) -> _Arrival | None:
        """What was screened on ``frame``'s bytes, None if never screened.

        The judgements are dropped unless made with ``stamp``'s components (None: kept).
        """
        key = (frame.source_sha256, frame.image.shape)
        with self._lock:
            arrival = self._seen.get(key)
            if arrival is None:
                return None
            self._seen.move_to_end(key)
        if stamp is not None and not arrival.judged_by(stamp):
            return _Arrival(arrival.detection, arrival.held_back_checked)
        return arrival

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


# A result or the exception that stood in its way.
_Outcome = tuple[Any, BaseException | None]
_NOT_RUN = RuntimeError("the piece has not run")


def _call(fn: Callable[[], Any]) -> _Outcome:
    try:
        return fn(), None
    except Exception as exc:  # handed back to the caller, raised there in order
        return None, exc


def _value(outcome: _Outcome) -> Any:
    value, error = outcome
    if error is not None:
        raise error
    return value


class _Threads:
    """Runs independent pieces of one verification on up to ``n`` threads, caller included.

    The pool (``n - 1`` threads) is shared by every verification of a ``Verifier``; a
    piece it has not started when the caller is free is taken back and run by the caller,
    so verifications on many request threads never wait on a busy pool.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, pieces: Sequence[Callable[[], Any]]) -> list[_Outcome]:
        """Every piece's result or exception, in the order given."""
        if self.n <= 1 or len(pieces) <= 1:
            return [_call(piece) for piece in pieces]
        pool = self._ensure_pool()
        futures: list[Future[_Outcome]] = [pool.submit(_call, p) for p in pieces[1:]]
        outcomes: list[_Outcome | None] = [_call(pieces[0])]
        for piece, future in zip(pieces[1:], futures, strict=True):
            outcomes.append(_call(piece) if future.cancel() else None)
        return [
            outcome if outcome is not None else futures[i - 1].result()
            for i, outcome in enumerate(outcomes)
        ]

    def _ensure_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.n - 1, thread_name_prefix="ekyc-verify")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _done() -> None:
    """What a piece's function becomes once its graph has run."""


class _Task:
    """One piece of a verification in a ``_Graph``.

    ``fn`` runs once every task it comes ``after`` has succeeded; if one failed, this one
    is not run and carries that task's error.
    """

    __slots__ = ("after", "dependents", "fn", "order", "outcome", "priority", "waiting")

    def __init__(self, fn: Callable[[], Any], after: tuple[_Task, ...], priority: int,
                 order: int) -> None:  # fmt: skip
        self.fn = fn
        self.after = after
        self.priority = priority
        self.order = order
        self.dependents: list[_Task] = []
        self.waiting = len(after)
        self.outcome: _Outcome = (None, _NOT_RUN)

    def value(self) -> Any:
        """The result, or raise the exception that stood in its way."""
        return _value(self.outcome)


class _Graph:
    """The pieces of one verification, each run as soon as the pieces it needs are done.

    ``run`` works through them on the calling thread and on up to ``threads - 1`` helpers
    from the ``_Threads`` pool, the ready piece of lowest ``priority`` first (then the
    first added). A helper leaves when nothing is ready and a new one is asked for when
    work is ready again, so a pool busy with other verifications never holds this one
    up: the caller runs whatever no helper has taken, and waits only for pieces running.
    """

    def __init__(self, threads: _Threads) -> None:
        self._threads = threads
        self._tasks: list[_Task] = []
        self._ready: list[tuple[int, int, _Task]] = []
        self._left = 0
        self._helpers = 0
        self._cond = threading.Condition()

    def add(self, fn: Callable[[], Any], *, after: Sequence[_Task] = (),
            priority: int = 0) -> _Task:  # fmt: skip
        """A piece to run after ``after`` (all added before ``run``)."""
        task = _Task(fn, tuple(after), priority, len(self._tasks))
        for dep in task.after:
            dep.dependents.append(task)
        self._tasks.append(task)
        return task

    def run(self) -> None:
        """Run every piece; returns when each has its outcome.

        Then only the outcomes are kept: the pieces' functions (closures over the other
        pieces) and their links make reference cycles, which would keep every decoded shot
        of the verification alive until the garbage collector's next full pass.
        """
        with self._cond:
            self._left = len(self._tasks)
            for task in self._tasks:
                if not task.waiting:
                    heapq.heappush(self._ready, (task.priority, task.order, task))
            self._call_helpers()
        self._work(helper=False)
        for task in self._tasks:
            task.fn, task.after, task.dependents = _done, (), []

    def _call_helpers(self) -> None:  # under self._cond
        wanted = min(self._threads.n - 1, len(self._ready)) - self._helpers
        if wanted <= 0:
            return
        pool = self._threads._ensure_pool()
        for _ in range(wanted):
            self._helpers += 1
            pool.submit(self._work, helper=True)

    def _work(self, helper: bool) -> None:
        while True:
            with self._cond:
                while not self._ready:
                    if helper:
                        self._helpers -= 1
                        return
                    if self._left == 0:
                        return
                    self._cond.wait()
                _, _, task = heapq.heappop(self._ready)
            failed = next((d.outcome for d in task.after if d.outcome[1] is not None), None)
            outcome = failed if failed is not None else _call(task.fn)
            with self._cond:
                task.outcome = outcome
                self._left -= 1
                for nxt in task.dependents:
                    nxt.waiting -= 1
                    if nxt.waiting == 0:
                        heapq.heappush(self._ready, (nxt.priority, nxt.order, nxt))
                self._call_helpers()
                self._cond.notify_all()
