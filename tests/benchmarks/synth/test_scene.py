from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.synth.cards import DOCUMENTS, render_card
from benchmarks.synth.compose import Surface, place_surface
from benchmarks.synth.geometry import (
    Camera,
    Pose,
    centred_rect,
    project_card_corners,
    tilt_deg,
)
from benchmarks.synth.identity import make_identity
from benchmarks.synth.scene import card_surface, clean_spec, render_scene, sample_spec
from ekyc.types import DocumentType, Side

SIZE = (1280, 720)


def _ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    x = a[mask].astype(np.float64).ravel()
    y = b[mask].astype(np.float64).ravel()
    x -= x.mean()
    y -= y.mean()
    return float((x @ y) / np.sqrt((x @ x) * (y @ y)))


def _scene(kind: str, seed: int, face, doc=DocumentType.DRIVERS_LICENSE, clean=True):
    ident = make_identity(seed, doc)
    rng = np.random.default_rng(seed)
    spec = sample_spec(kind, ident, SIZE, rng, background_kind="wood", clean=clean)
    return spec, render_scene(spec, rng, portrait=face)


class TestRenderScene:
    @pytest.mark.parametrize(
        ("kind", "seed"), [("front", 1), ("tilt", 2), ("back", 3), ("tilt", 4)]
    )
    def test_corners_match_pose(self, face, kind: str, seed: int) -> None:
        spec, scene = _scene(kind, seed, face, clean=False)
        rec = scene.record
        pose, cam = Pose(**rec["pose"]), Camera(**rec["camera"])
        expected = project_card_corners(pose, cam, tuple(rec["doc_size_mm"]))
        np.testing.assert_allclose(np.array(rec["corners"]), expected, atol=2e-3)
        assert rec["tilt_deg"] == pytest.approx(tilt_deg(spec.pose), abs=1e-3)
        lo, hi = {"front": (0, 15), "back": (0, 15), "tilt": (30, 60)}[kind]
        assert lo - 1e-6 <= rec["tilt_deg"] <= hi + 1e-6

    @pytest.mark.parametrize(
        ("kind", "seed", "doc"),
        [
            ("front", 11, DocumentType.DRIVERS_LICENSE),
            ("tilt", 12, DocumentType.MY_NUMBER_CARD),
            ("back", 13, DocumentType.RESIDENCE_CARD),
            ("front", 14, DocumentType.PASSPORT),
        ],
    )
    def test_rectification_reproduces_face(
        self, face, kind: str, seed: int, doc: DocumentType
    ) -> None:
        spec, scene = _scene(kind, seed, face, doc=doc)
        card = render_card(spec.doc_type, spec.side, spec.identity, face, spec.px_per_mm)
        h, w = card.image.shape[:2]
        src = np.array(scene.record["corners"], np.float32) - 0.5  # to cv2 pixel-centre origin
        dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - 0.5
        rect = cv2.warpPerspective(
            scene.image, cv2.getPerspectiveTransform(src, dst), (w, h), flags=cv2.INTER_LINEAR
        )
        mask = cv2.erode(card.alpha, np.ones((9, 9), np.uint8)) == 255
        assert scene.record["visible_fraction"] == pytest.approx(1.0)
        assert _ncc(rect, card.image, mask) > 0.9

    def test_thickness_visible_only_when_tilted(self, face) -> None:
        _, flat = _scene("front", 21, face)
        _, tilted = _scene("tilt", 22, face)
        assert tilted.record["thickness_visible"] is True
        assert tilted.record["thickness_px"] >= 1.0
        assert flat.record["thickness_px"] < tilted.record["thickness_px"]

    def test_edges_drawn_only_when_facing(self, face) -> None:
        ident = make_identity(5, DocumentType.DRIVERS_LICENSE)
        surf = card_surface(render_card(DocumentType.DRIVERS_LICENSE, Side.FRONT, ident, face, 8.0))
        cam = Camera(640, 480, 65.0)
        pose = Pose(55.0, 0.0, 0.0, 160.0)  # top edge turned towards the camera
        frame = np.zeros((480, 640, 3), np.uint8)
        placed = place_surface(frame, surf, pose, cam)
        assert placed is not None
        assert placed.visible_edges > 0
        c = project_card_corners(pose, cam)
        top_mid = (c[0] + c[1]) / 2
        bottom_mid = (c[2] + c[3]) / 2
        band = int(np.ceil(placed.thickness_px))
        x = round(float(top_mid[0]))
        above = frame[int(top_mid[1]) - band : int(top_mid[1]) - 0, x - 2 : x + 3]
        assert above.max() > 60  # the edge band above the printed face is drawn
        assert frame[int(bottom_mid[1]) + 3, round(float(bottom_mid[0]))].max() == 0  # hidden edge
        flat = np.zeros_like(frame)
        flat_placed = place_surface(flat, surf, Pose(0.0, 0.0, 0.0, 160.0), cam)
        assert flat_placed is not None
        assert flat_placed.visible_edges == 0

    @pytest.mark.parametrize("roll", [0.0, 4.0])
    def test_side_face_has_no_dark_seam(self, roll: float) -> None:
        """Across table, side face and printed face nothing is darker than the table.

        The side face's colour fill (LINE_8) once stopped short of its anti-aliased
        coverage, and the fringe blended black into the table: a seam ~40 % darker along
        the far edge, a line no card shows. The table (200) is darker than the side face
        (~216 lit at this pose) and the face (255), so any blend of the three is >= 200.
        ``roll`` slants the edge so that the fringe's coverage sweeps 0-1 along it.
        """
        rgba = np.full((54, 86, 4), 255, np.uint8)
        surf = Surface(rgba, centred_rect((85.6, 53.98)), 3.18, 0.76, (226, 226, 220), 1.0)
        cam = Camera(640, 480, 65.0)
        pose = Pose(55.0, 0.0, roll, 160.0)  # the top side face turned towards the camera
        frame = np.full((480, 640, 3), 200, np.uint8)
        placed = place_surface(frame, surf, pose, cam)
        assert placed is not None
        assert placed.thickness_px > 1.5
        c = project_card_corners(pose, cam)
        lows = []
        for t in np.linspace(0.3, 0.7, 24):  # the top side's middle, clear of the corners
            x, y = c[0] + t * (c[1] - c[0])
            lows.append(frame[int(y) - 12 : int(y) + 4, round(float(x))].min())
        assert min(lows) >= 197  # with the seam: 158 (roll 0), 64 (roll 4)
        assert max(lows) < 255  # the columns do cross the side face and the table

    def test_seed_reproduces_pixels(self, face) -> None:
        _, a = _scene("tilt", 31, face, clean=False)
        _, b = _scene("tilt", 31, face, clean=False)
        assert a.image.tobytes() == b.image.tobytes()
        assert a.record == b.record

    @pytest.mark.parametrize("attack", ["screen", "photocopy"])
    @pytest.mark.parametrize("doc", [DocumentType.DRIVERS_LICENSE, DocumentType.PASSPORT])
    def test_attacks_have_no_card_thickness(self, face, attack: str, doc: DocumentType) -> None:
        _, scene = _scene(attack, 41, face, doc=doc, clean=False)
        rec = scene.record
        assert rec["attack"] == attack
        assert rec["thickness_visible"] is False
        expected = project_card_corners(
            Pose(**rec["pose"]), Camera(**rec["camera"]), tuple(rec["doc_size_mm"])
        )
        np.testing.assert_allclose(np.array(rec["corners"]), expected, atol=2e-3)

    def test_clean_spec_has_no_effects(self, face) -> None:
        spec, _ = _scene("front", 51, face, clean=False)
        fx = clean_spec(spec).effects
        assert (fx.glare_spots, fx.fingers, fx.noise_sigma, fx.motion_px) == (0, 0, 0.0, 0.0)

    def test_unknown_kind(self, face) -> None:
        with pytest.raises(ValueError, match="unknown card scene kind"):
            sample_spec(
                "nope", make_identity(1, DocumentType.PASSPORT), SIZE, np.random.default_rng(0)
            )


def test_documents_are_id1_except_passport() -> None:
    for doc, spec in DOCUMENTS.items():
        if doc is not DocumentType.PASSPORT:
            assert spec.size_mm == (85.60, 53.98)
            assert spec.thickness_mm == 0.76


def test_a_tilt_range_replaces_the_kinds_own_with_the_same_draws() -> None:
    # verify_rates' screen_shallow: the screen held at the shallow end of the tilt check's
    # band (its own range is 0-35 degrees, so most screens never reach the thickness check).
    from benchmarks.synth.applicant import SHALLOW_DEG

    ident = make_identity(5, DocumentType.DRIVERS_LICENSE)
    plain = sample_spec("screen", ident, SIZE, np.random.default_rng(7))
    assert sample_spec("screen", ident, SIZE, np.random.default_rng(7), tilt_range=None) == plain
    tilts = [
        tilt_deg(
            sample_spec(
                "screen", ident, SIZE, np.random.default_rng(s), tilt_range=SHALLOW_DEG
            ).pose
        )
        for s in range(8)
    ]
    assert all(SHALLOW_DEG[0] - 1e-6 <= t <= SHALLOW_DEG[1] + 1e-6 for t in tilts)
