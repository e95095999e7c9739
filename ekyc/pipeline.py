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
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

from ekyc.capture.decode import decode_image
from ekyc.config import PipelineConfig
from ekyc.detect import CardLayouts, find_card, refuse_my_number_back
from ekyc.errors import ModelNotFound, StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence
from ekyc.match import FaceMatcher, MatchConfig
from ekyc.methods import DocumentMethod, Evidence, ImageMethod
from ekyc.read import Applicant, LineReader, default_reader
from ekyc.registry import Registry
from ekyc.rules import rule_for
from ekyc.screening import ShotScreening
from ekyc.stages import (
    LivenessInputs,
    liveness_stage,
    look_at_selfie,
    read_card,
    reading_stage,
    selfie_stage,
)
from ekyc.types import CardDetection, DocumentType, Frame, Shot
from ekyc.verdict import ReasonCode, Verdict, decide

__all__ = ["ImageSource", "Verifier"]

_JST = ZoneInfo("Asia/Tokyo")
_log = logging.getLogger(__name__)
# The order shots are handed to the threads in: longest work first.
_SHOT_ORDER = ("selfie", "front", "tilt", "back")
# Cards found by ``screen_shot`` kept for ``verify`` (corners and type only, a few hundred
# bytes each): the most recent this many shots, about 64 sessions of 4 shots.
_SCREENED_KEPT = 256

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
                 registry: Registry | None = None) -> None:  # fmt: skip
        self.matcher = matcher
        self.method = method
        self.layouts = layouts
        self.config = config or PipelineConfig()
        self.match_config = match_config or MatchConfig()
        self.reader = reader
        self.passive = passive
        self._registry = registry
        self._tracker: Any = None
        self._tracker_lock = threading.Lock()
        self._threads = _Threads(self.config.threads)
        self._screened = _Screened(_SCREENED_KEPT)

    @classmethod
    def from_registry(cls, registry: Registry, config: PipelineConfig | None = None) -> Verifier:
        """Load every model the image method needs (checksums checked).

        The passive liveness model is trained at setup from the evaluation data; where that
        data was absent the model is missing and the passive check is recorded as skipped.
        """
        from ekyc.liveness import PassiveChecker

        cfg = config or PipelineConfig()
        layouts = CardLayouts.from_registry(registry)
        # Thresholds calibrated on card portraits vs selfies (benchmarks/match_cards.py):
        # the LFW budget let 0.17 % impostor card pairs through at its "1e-3".
        match_config = MatchConfig(budget="card")
        matcher = FaceMatcher.from_registry(registry, config=match_config)
        try:
            passive = PassiveChecker(registry)
        except ModelNotFound as exc:
            _log.warning("passive liveness unavailable: %s", exc.message)
            passive = None
        return cls(matcher, ImageMethod(layouts, cfg), layouts, cfg, match_config,
                   reader=default_reader(),
                   passive=passive, registry=registry)  # fmt: skip

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
               now: dt.datetime | None = None) -> Verdict:  # fmt: skip
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
        )[0]

    def verify_with_frames(self, document: DocumentType | str,
                           shots: Mapping[str, ImageSource], *,
                           applicant: Applicant | None = None, today: dt.date | None = None,
                           challenge: Challenge | None = None,
                           frames: FrameSequence | None = None, now: dt.datetime | None = None
                           ) -> tuple[Verdict, dict[str, Frame]]:  # fmt: skip
        """``verify``, also returning the decoded shots (for evidence images)."""
        document_type = DocumentType(document)
        liveness = LivenessInputs(challenge, frames, now)
        evidence = Evidence()
        rule = rule_for(document_type)
        if not rule.accepted:
            evidence.reason(ReasonCode.DOCUMENT_NOT_ACCEPTED, "rules", rule.refusal or "")
            return self._verdict(evidence, {}, document_type), {}
        _check_shots(document_type, shots)
        # Every shot's own work at once: decoding, then the card (front, tilt, back) or the
        # selfie's faces. Failures surface in a fixed order: any undecodable shot first (in
        # the order given), then the card shots' refusals, then the selfie's.
        names = sorted(shots, key=_SHOT_ORDER.index)
        decoded_or_error = self._threads.run([functools.partial(self._decode, shots[name])
                                              for name in names])  # fmt: skip
        decoded: dict[str, Frame] = {}
        decode_ms = 0.0
        for name in shots:
            frame, ms = _value(decoded_or_error[names.index(name)])
            decoded[name], decode_ms = frame, decode_ms + ms
        evidence.timing("decode", decode_ms)
        looks = self._threads.run([functools.partial(self._prepare, name, decoded[name])
                                   for name in names])  # fmt: skip
        prepared = {name: _value(looks[i]) for i, name in enumerate(names) if name != "selfie"}
        selfie_look = _value(looks[names.index("selfie")])
        findings = self.method.examine(document_type, decoded, evidence, prepared)
        # The OCR beside the face match and liveness, recorded in that order afterwards.
        tail = Evidence()

        def faces_and_liveness() -> None:
            faces = selfie_stage(decoded["selfie"], findings, self.matcher, self.layouts,
                                 self.match_config, tail, look=selfie_look)  # fmt: skip
            liveness_stage(decoded, faces, liveness, passive=self.passive,
                           tracker=self.tracker() if challenge is not None else None,
                           matcher=self.matcher, evidence=tail)  # fmt: skip

        done, reading = self._threads.run(
            [faces_and_liveness, functools.partial(read_card, findings, self.reader)]
        )
        reading_stage(findings, applicant, today or dt.datetime.now(_JST).date(), self.reader,
                      evidence, reading=_value(reading))  # fmt: skip
        _value(done)
        evidence.merge(tail)
        return self._verdict(evidence, decoded, document_type), decoded

    def screen_shot(self, source: ImageSource) -> ShotScreening:
        """Refuse a My Number card's back in one shot before a caller keeps its bytes.

        Whatever step it was sent as (a licence's back, a front, the selfie): a session
        that stores shots as they arrive must look first, since ``verify`` only runs once
        every shot is in. The same decoding and detection as ``verify``'s.

        Returns the frame and its card, for the caller's retake rules
        (``ShotScreening.retake_reason``). The card (not the pixels) is kept for a later
        ``verify`` of the same bytes, which then does not look for it again: a session
        screens every shot on arrival and verifies them all at the end.

        Raises:
            StepNotAllowed: the shot shows a My Number card's back (``reason``
                ``my_number_back``); the caller must drop the bytes.
            InputError: the shot cannot be decoded.
        """
        frame, _ = self._decode(source)
        detection = find_card(frame, self.layouts)
        refuse_my_number_back(detection)
        self._screened.put(frame, detection)
        return ShotScreening(frame, detection)

    def _decode(self, source: ImageSource) -> tuple[Frame, float]:
        if isinstance(source, Frame):
            return source, 0.0
        start = time.perf_counter()
        frame = decode_image(source, self.config.decode)
        return frame, (time.perf_counter() - start) * 1000.0

    def _prepare(self, name: str, frame: Frame) -> Any:
        screened = self._screened.get(frame)
        if name == "selfie":
            return look_at_selfie(frame, self.matcher, self.layouts, self.match_config,
                                  screened=screened)  # fmt: skip
        return self.method.prepare(name, frame, screened=screened)

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


class _Screened:
    """``find_card``'s results on shots that passed ``screen_shot``, for ``verify``.

    Keyed by the bytes' sha256 and the decoded size: the same bytes decoded by the same
    ``Verifier`` give the same frame, hence the same card. Only ``screen_shot`` adds (a
    My Number back never gets here: it is refused first); ``verify`` looks up and never
    adds, so verifying shots that were not screened finds every card itself. The oldest
    entries go beyond ``size``.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._cards: OrderedDict[tuple[str, tuple[int, ...]], CardDetection | None] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, frame: Frame, detection: CardDetection | None) -> None:
        key = (frame.source_sha256, frame.image.shape)
        with self._lock:
            self._cards[key] = detection
            self._cards.move_to_end(key)
            while len(self._cards) > self._size:
                self._cards.popitem(last=False)

    def get(self, frame: Frame) -> ShotScreening | None:
        """``frame`` with the card screened on the same bytes, None if never screened."""
        key = (frame.source_sha256, frame.image.shape)
        with self._lock:
            if key not in self._cards:
                return None
            self._cards.move_to_end(key)
            return ShotScreening(frame, self._cards[key])

    def __len__(self) -> int:
        with self._lock:
            return len(self._cards)


# A result or the exception that stood in its way.
_Outcome = tuple[Any, BaseException | None]


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
        self._n = n
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, pieces: Sequence[Callable[[], Any]]) -> list[_Outcome]:
        """Every piece's result or exception, in the order given."""
        if self._n <= 1 or len(pieces) <= 1:
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
                self._pool = ThreadPoolExecutor(self._n - 1, thread_name_prefix="ekyc-verify")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
