"""The image-based method: the card photographed front, tilted (about 45 degrees), and back.

Its stages, in order: find and recognise the card on each shot (a My Number card's back is
refused on sight), judge capture quality on the card, check the tilted shot's angle and the
card's visible thickness, check that the tilted shot shows the same card as the front,
check the back. The rectified front is the reference for the face match and for OCR; the
tilted shot's card, once shown to be the same card, is a second view for OCR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ekyc.capture.quality import assess_quality
from ekyc.config import PipelineConfig
from ekyc.detect import (
    CardLayouts,
    DetectConfig,
    compare_cards,
    estimate_tilt,
    find_card,
    rectify,
    refuse_my_number_back,
)
from ekyc.detect.learned import CornerProposer, default_proposer
from ekyc.methods.base import DocumentFindings, Evidence, timed_into
from ekyc.rules import rule_for
from ekyc.screening import ShotScreening, card_problems, quality_problems, tilt_problems
from ekyc.types import (
    CardDetection,
    DocumentType,
    Frame,
    QualityReport,
    RectifiedCard,
    Shot,
    Side,
    TiltCheck,
)
from ekyc.verdict import ReasonCode

__all__ = ["ImageMethod"]

# The rectified card that the portrait is found on and the fields are read from: an ID-1
# card becomes 856 x 540 pixels, the portrait ~240 px wide.
_CARD_PX_PER_MM = 10.0


# The shots this method examines.
_CARD_SHOTS = ("front", "tilt", "back")


@dataclass(frozen=True, slots=True, eq=False)
class _Seen:
    detection: CardDetection
    card: RectifiedCard
    tilt: TiltCheck | None = None


@dataclass(frozen=True, slots=True, eq=False)
class ShotLook:
    """``ImageMethod.prepare``'s result: the card found on one shot, judged and rectified.

    ``tilt``: ``ImageMethod.check_tilt`` on this card, where a screen on arrival already
    ran it (the tilted step); ``examine`` runs it otherwise.
    """

    detection: CardDetection | None
    quality: QualityReport | None = None
    card: RectifiedCard | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    tilt: TiltCheck | None = None


class ImageMethod:
    """Examine photographed cards. Holds the loaded models and the settings.

    ``proposer``: the corner model ``find_card`` tries first (the default manifest's, when
    None).
    """

    name = "image"

    def __init__(
        self,
        layouts: CardLayouts,
        config: PipelineConfig | None = None,
        detect_config: DetectConfig | None = None,
        proposer: CornerProposer | None = None,
    ) -> None:
        self.layouts = layouts
        self.config = config or PipelineConfig()
        self.detect_config = detect_config
        self.proposer = proposer

    @property
    def learned(self) -> bool | CornerProposer:
        """``find_card``'s ``learned`` for every card step: the proposer, else the default's.

        ``propose_first`` says when it is tried.
        """
        return self.proposer or True

    def propose_first(self, shot: str | None) -> bool:
        """``find_card``'s ``propose_first``: not on a tilt, where it is the last resort only.

        ``learned_card`` leaves a tilted card to the classical search (its side face
        shows): on 9 applicants' 12 MP tilted shots (seeds 9100+) it kept none and cost
        ~9 ms CPU each. When the search reads no layout, the proposal is read then
        (``DetectConfig.proposal_last_resort``: 4 of 44 genuine tilted shots of seed
        40000's bench scenes read only so).
        """
        return shot != "tilt"

    def prepare(
        self, shot: str, frame: Frame, screened: ShotScreening | None = None
    ) -> ShotLook | None:
        """Find the card on a front, tilt or back shot, judge its quality, rectify it.

        Records nothing, so shots can be prepared at once on several threads. ``screened``
        is ``find_card``'s result on this shot's bytes from an earlier look (a screen on
        arrival, default detector settings): used instead of finding the card again when
        this method has no ``detect_config`` of its own. Its ``quality`` and ``tilt``, where
        set, are this method's own judgements of that card on arrival (the pipeline hands
        them on only for the same bytes, step and method): not judged again.

        Raises:
            StepNotAllowed: the shot shows a My Number card's back (before anything of it
                is kept).
        """
        if shot not in _CARD_SHOTS:
            return None
        return self._look(shot, frame, screened if self.detect_config is None else None)

    def _look(self, shot: str, frame: Frame, screened: ShotScreening | None = None) -> ShotLook:
        timings: dict[str, float] = {}
        if screened is not None:
            detection = screened.detection
        else:
            with timed_into(timings, f"{shot}.detect"):
                detection = find_card(frame, self.layouts, config=self.detect_config,
                                      learned=self.learned,
                                      propose_first=self.propose_first(shot))  # fmt: skip
        refuse_my_number_back(detection)  # before anything of this shot is kept
        if detection is None:
            return ShotLook(None, timings_ms=timings)
        quality = screened.quality if screened is not None else None
        if quality is None:
            with timed_into(timings, f"{shot}.quality"):
                quality = assess_quality(frame, self.config.quality, region=detection.quad)
        with timed_into(timings, f"{shot}.rectify"):
            card = rectify(frame, detection.quad, px_per_mm=_CARD_PX_PER_MM)
        tilt = screened.tilt if screened is not None else None
        return ShotLook(detection, quality, card, timings, tilt)

    def examine(
        self,
        document_type: DocumentType,
        shots: Mapping[str, Frame],
        evidence: Evidence,
        prepared: Mapping[str, Any] | None = None,
    ) -> DocumentFindings:
        """Run the card stages on ``front``, ``tilt`` and, when the rule has one, ``back``."""
        evidence.model(self.layouts.model)
        proposer = self.proposer or default_proposer()  # find_card tries it first
        if proposer.model is not None:
            evidence.model(proposer.model)
        ready = prepared or {}
        front = self._card(shots["front"], ready.get("front"), Shot.FRONT, document_type,
                           evidence)  # fmt: skip
        tilt = self._card(shots["tilt"], ready.get("tilt"), Shot.TILT, document_type,
                          evidence)  # fmt: skip
        if tilt is not None:
            self._tilt(shots["tilt"], tilt, evidence)
        same = front is not None and tilt is not None and self._same_card(front, tilt, evidence)
        # The tilted shot's card is a second view for OCR only when it is this document's
        # front and the same card as the front shot.
        views = (
            (tilt.card.image,)
            if same and tilt is not None and tilt.detection.document_type is document_type
            and tilt.detection.side is Side.FRONT
            else ()
        )  # fmt: skip
        if rule_for(document_type).has_back:
            self._card(shots["back"], ready.get("back"), Shot.BACK, document_type,
                       evidence)  # fmt: skip
        card = front.card.image if front is not None else None
        return DocumentFindings(reference_face=card, card_image=card, document_type=document_type,
                                other_views=views)  # fmt: skip

    def _card(self, frame: Frame, look: ShotLook | None, shot: Shot, expected: DocumentType,
              evidence: Evidence) -> _Seen | None:  # fmt: skip
        stage, side = shot.value, shot.card_side
        if side is None:
            raise ValueError(f"{stage} is not a card shot")
        seen = look if look is not None else self._look(stage, frame)
        for name, ms in seen.timings_ms.items():
            evidence.timing(name, ms)
        detection = seen.detection
        if detection is None or seen.quality is None or seen.card is None:
            evidence.check(stage, found=False)
            evidence.reason(ReasonCode.CARD_NOT_FOUND, stage)
            return None
        found = detection.document_type
        evidence.check(
            stage, found=True, corners=detection.quad.corners.round(2).tolist(),
            score=round(detection.quad.score, 4), cut_by_border=detection.cut_by_border,
            document_type=found.value if found else None, side=detection.side.value,
            layout_score=round(detection.layout_score, 4))  # fmt: skip
        for problem in card_problems(detection, expected, side):  # as on arrival
            evidence.reason(problem.code, stage, problem.detail)
        self._judge_quality(seen.quality, stage, evidence)
        return _Seen(detection, seen.card, seen.tilt)

    @staticmethod
    def _judge_quality(report: QualityReport, stage: str, evidence: Evidence) -> None:
        evidence.check(
            stage,
            quality={
                name: {"value": round(c.value, 4), "threshold": c.threshold, "passed": c.passed}
                for name, c in report.checks.items()
            },
        )
        for problem in quality_problems(report):  # as on arrival
            evidence.reason(problem.code, stage, problem.detail)

    def check_tilt(self, frame: Frame, detection: CardDetection) -> TiltCheck:
        """The tilted shot's angle and the card's visible thickness, as ``examine`` judges."""
        size = (frame.width, frame.height)
        return estimate_tilt(detection.quad, size, frame.metadata, self.detect_config,
                             image=frame.image)  # fmt: skip

    def _tilt(self, frame: Frame, tilt: _Seen, evidence: Evidence) -> None:
        if tilt.tilt is not None:  # judged on arrival, on this very card
            check = tilt.tilt
        else:
            with evidence.timed("tilt.angle"):
                check = self.check_tilt(frame, tilt.detection)
        evidence.check(
            "tilt",
            tilt_deg=round(check.tilt_deg, 2),
            band_deg=[check.min_tilt_deg, check.max_tilt_deg],
            thickness_visible=check.thickness_visible,
            edge_band_px=round(check.edge_band_px, 2),
            focal_length_source=check.focal_length_source,
            edge_blurred=check.edge_blurred,
        )
        for problem in tilt_problems(check):  # as on arrival
            evidence.reason(problem.code, "tilt", problem.detail)

    def _same_card(self, front: _Seen, tilt: _Seen, evidence: Evidence) -> bool:
        """Record the same-card check; True when both shots show one card of one type."""

        def key(seen: _Seen) -> tuple[DocumentType, Side] | None:
            doc = seen.detection.document_type
            return None if doc is None else (doc, seen.detection.side)

        with evidence.timed("tilt.same_card"):
            check = compare_cards(
                front.card.image, tilt.card.image, self.layouts, type_a=key(front), type_b=key(tilt)
            )
        evidence.check(
            "same_card",
            similarity=round(check.similarity, 4),
            threshold=check.threshold,
            same=check.same,
            document_types_agree=check.document_types_agree,
        )
        if check.document_types_agree and not check.same:
            evidence.reason(ReasonCode.DIFFERENT_CARD, "tilt")
        return check.document_types_agree and check.same
