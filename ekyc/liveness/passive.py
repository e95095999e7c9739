"""Passive presentation-attack detection on one frame: hand-made features + a tiny model.

Why hand-made features: no installable package ships an anti-spoofing network, and the
little labelled data there is (NUAA print attacks, synthetic prints and replays) would
overfit a deep one. The features name what an attack changes:

* texture: LBP histograms of the face at two scales (print halftone, screen pixels, blur);
* colour: chroma and saturation statistics (ink gamut, screen white point);
* spectrum: high-frequency energy and its peakiness (moire of a pixel grid);
* specular highlights on the face (glossy paper, glass);
* ink tone at the landmarks: how dark the eyes and nostrils get, and how red the skin is,
  against the cheeks' skin (ink lifts black and washes out colour; a ratio in one face,
  so the camera's exposure and the room's light cancel);
* context: straight edges around the face and the brightness of the ring around it (a
  photo's border, a phone's bezel, a card's outline), and long straight edges anywhere in
  the frame (the border of a print or screen holding a small face).
* print tone (feature set 4, ``_print_tone``): colour against the face's own saturation
  (ink's gamut squeezes the saturated colours, a pale face is dull all over), the skin's
  grain at twice the face crop's resolution, and the face's size in the frame.

``pad_features`` computes them (``FEATURE_SETS``: each model names its set in the manifest);
``PadModel`` (five 16-unit MLPs over live / print / screen replay, averaged, trained by
``models/train_pad.py``) scores them; ``PassiveChecker`` holds
the detector and the model. ``portrait_reused`` flags a selfie that is the ID card's own
portrait re-photographed (too similar to it, and not shown live).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.liveness.results import AttackType, LivenessResult, Reason
from ekyc.match.compare import primary_similarity
from ekyc.registry import Registry
from ekyc.types import Embedding, FaceDetection, ModelRef, RGBImage

__all__ = [
    "CLASSES",
    "FEATURE_NAMES",
    "FEATURE_SETS",
    "PAD_MODEL_ID",
    "PadModel",
    "PassiveChecker",
    "largest_face",
    "largest_face_box",
    "pad_features",
    "portrait_reused",
]

PAD_MODEL_ID = "liveness/pad-lbpchroma@4"
CLASSES = ("live", "print", "screen_replay")
_ATTACKS = {"print": AttackType.PRINT, "screen_replay": AttackType.SCREEN_REPLAY}
_NAMES_V3 = (
    *(f"lbp1_{i}" for i in range(10)),
    *(f"lbp2_{i}" for i in range(10)),
    "cr_mean", "cb_mean", "cr_std", "cb_std", "sat_mean", "sat_std", "val_std",
    "log_lap_face", "log_lap_context", "hf_energy", "hf_peak",
    "specular", "context_lines", "ring_minus_face_val", "ring_val_std", "frame_lines",
    "eye_dark", "skin_cr", "nostril_dark", "eye_range", "eye_std", "eye_bright",
)  # fmt: skip
_PRINT_TONE = ("sat_p95_rel", "cheek_grain", "cr_std_rel", "sat_cv")
FEATURE_SETS = {3: _NAMES_V3, 4: (*_NAMES_V3, *_PRINT_TONE, "face_frac")}
"""Feature names by feature set (a model's manifest ``feature_set``; 3 when absent).

3: @3's 42, the context crop read with the black beyond the frame. 4: the same 42 with the
context read inside the frame only (``_inside``), plus ``_print_tone``'s (chroma judged
against the face's own saturation, the grain of the skin at twice the resolution) and
``face_frac``, the face box's larger side over the frame's shorter side.

Why ``face_frac``: @3 told a print held at arm's length (a small face) from a selfie partly
by the black its context crop draws beyond the frame (a selfie's face is large and near the
edge); read inside the frame only, that cue went, and with it a third of its catch of the
old synthetic prints (leave-subjects-out APCER 3.2 % without ``face_frac``, 1.6 % with it,
session 12). It says openly what the black bar said by accident."""
FEATURE_SET = 4
"""The default model's feature set (``PAD_MODEL_ID``)."""
FEATURE_NAMES = FEATURE_SETS[FEATURE_SET]
F32 = npt.NDArray[np.float32]


def _lbp_riu2(grey: npt.NDArray[np.float32], radius: int) -> F32:
    """Rotation-invariant uniform LBP (8 neighbours): 10-bin normalised histogram."""
    h, w = grey.shape
    r = radius
    centre = grey[r : h - r, r : w - r]
    offsets = ((-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r))
    bits = np.stack(
        [grey[r + dy : h - r + dy, r + dx : w - r + dx] >= centre for dy, dx in offsets]
    ).astype(np.int8)
    transitions = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(axis=0)
    code = np.where(transitions <= 2, bits.sum(axis=0), 9)
    hist = np.bincount(code.reshape(-1), minlength=10).astype(np.float32)
    out: F32 = hist / hist.sum()
    return out


def _crop(image: RGBImage, box: npt.NDArray[np.float32], scale: float, size: int) -> RGBImage:
    """A square crop ``scale`` times the box's larger side, centred on it, black outside."""
    import cv2

    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * scale
    cx, cy = x + w / 2, y + h / 2
    half = side / 2
    src = np.array([[cx - half, cy - half], [cx + half, cy - half], [cx - half, cy + half]],
                   np.float32)  # fmt: skip
    dst = np.array([[0, 0], [size, 0], [0, size]], np.float32)
    # warpAffine has no area filter: INTER_AREA acts as bilinear here (kept: the model's
    # training features were computed this way).
    out: RGBImage = np.asarray(
        cv2.warpAffine(image, cv2.getAffineTransform(src, dst), (size, size),
                       flags=cv2.INTER_AREA), np.uint8)  # fmt: skip
    return out


def _inside(shape: tuple[int, ...], box: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Which pixels of the context crop (``_crop(image, box, 2.4, 128)``) lie in the image.

    2 px clear of its edge.

    Why: the crop is black beyond the frame, and that black reads as a print's border (a
    straight edge, a dark ring) or, learned from the synthetic set, as a live face: a live
    selfie's face is large and often near the frame's edge (the context left the frame on
    93 % of the synthetic live faces, 6 % of the arm's-length prints), so black padding
    was a shortcut to "live", and a face near the top of the frame (dev seed 21046) got a
    black bar that read as a border. The context features read only the image's pixels.
    """
    import cv2

    ones = np.full((int(shape[0]), int(shape[1])), 255, np.uint8)
    valid = (_crop(ones, box, 2.4, 128) >= 250).astype(np.uint8)
    out: npt.NDArray[np.bool_] = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    return out


def _spectrum(grey: npt.NDArray[np.float32]) -> tuple[float, float]:
    n = grey.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    mag = np.abs(np.fft.fftshift(np.fft.fft2((grey - grey.mean()) * window)))
    yy, xx = np.mgrid[:n, :n] - n // 2
    radius = np.hypot(yy, xx) / (n / 2)
    high = mag[(radius > 0.35) & (radius < 0.95)]
    energy = float(high.sum() / (mag[radius > 0.02].sum() + 1e-6))
    peak = float(np.log(high.max() / (np.median(high) + 1e-6) + 1e-6))
    return energy, peak


def _frame_lines(image: RGBImage, box: npt.NDArray[np.float32]) -> float:
    """Long straight edges anywhere in the frame but on the face.

    A print's or a screen's border around a small face lies beyond ``context`` (2.4 face
    widths). Read on the whole frame at 160 px (the crop around the face would draw the frame's
    own border as an edge); lines of at least 0.3 of the short side count (not the neck).
    """
    import cv2

    h, w = image.shape[:2]
    s = 160.0 / max(h, w)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    edges = cv2.Canny(small, 50, 150)
    x, y, bw, bh = (float(v) * s for v in box)
    pad_x, pad_y = bw * 0.15, bh * 0.15
    y0, y1 = max(0, int(y - pad_y)), max(0, int(y + bh + pad_y) + 1)
    x0, x1 = max(0, int(x - pad_x)), max(0, int(x + bw + pad_x) + 1)
    edges[y0:y1, x0:x1] = 0
    shortest = max(8, round(0.3 * min(small.shape[:2])))
    lines = cv2.HoughLinesP(edges, 1, np.pi / 90, 20, minLineLength=shortest, maxLineGap=2)
    return float(np.log1p(0 if lines is None else len(lines)))


def _window(c: npt.NDArray[np.float64], half: float, h: int, w: int) -> tuple[slice, slice]:
    """Rows and columns of the square of half-side ``half`` around ``c`` (x, y), in the image."""
    x, y = min(max(float(c[0]), 0.0), w - 1.0), min(max(float(c[1]), 0.0), h - 1.0)
    return (slice(int(max(0.0, y - half)), int(min(h, y + half + 1))),
            slice(int(max(0.0, x - half)), int(min(w, x + half + 1))))  # fmt: skip


def _ink_tone(image: RGBImage, landmarks: npt.NDArray[np.float32]) -> tuple[float, ...]:
    """Ink's tone at the landmarks, against the cheeks' skin (``FEATURE_NAMES`` ``eye_*``...).

    In order: ``eye_dark``, the darkest eye pixels (3rd percentile) as a log ratio to the
    cheeks' median grey; ``skin_cr``, the cheeks' redness (Cr - 128); ``nostril_dark``, as
    ``eye_dark`` under the nose; ``eye_range``, ``eye_std``, the eyes' 98th - 3rd percentile
    and standard deviation over the skin's grey; ``eye_bright``, the eyes' 98th percentile
    (the catchlight) as a log ratio to it.

    Why: ink can print neither black nor saturated colour (a print's pupils are paper grey,
    its skin washed out), and within one face the ratios do not depend on the exposure or
    the room's light. Windows scale with the eye distance ``d``: the eyes 0.44 d squares,
    the nostrils a 0.3 d square 0.12 d under the nose tip, the cheeks 0.24 d squares halfway
    from each eye to its mouth corner. Each value alone (AUC, benchmarks/liveness.py's
    faces): synthetic prints against live faces 0.54-0.80, close-up prints (never trained
    on) 0.51-0.79, NUAA's prints 0.51-0.69: they add to the print class without dragging
    NUAA's live faces along.
    """
    import cv2

    h, w = image.shape[:2]
    lm = landmarks.astype(np.float64)
    el, er, nose, ml, mr = lm
    d = max(4.0, float(np.hypot(*(er - el))))
    eyes = [_window(el, 0.22 * d, h, w), _window(er, 0.22 * d, h, w)]
    nostril = _window(nose + np.array([0.0, 0.12 * d]), 0.15 * d, h, w)
    cheeks = [_window((el + ml) / 2, 0.12 * d, h, w), _window((er + mr) / 2, 0.12 * d, h, w)]
    wins = [*eyes, nostril, *cheeks]
    y0, y1 = min(s[0].start for s in wins), max(s[0].stop for s in wins)
    x0, x1 = min(s[1].start for s in wins), max(s[1].stop for s in wins)
    patch = np.ascontiguousarray(image[y0:y1, x0:x1])
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    cr = cv2.cvtColor(patch, cv2.COLOR_RGB2YCrCb)[..., 1].astype(np.float32)

    def take(a: F32, ws: list[tuple[slice, slice]]) -> F32:
        return np.concatenate(
            [a[r.start - y0 : r.stop - y0, c.start - x0 : c.stop - x0].ravel() for r, c in ws]
        )

    skin = float(np.median(take(grey, cheeks))) + 2
    eye = take(grey, eyes)
    dark, bright = (float(v) for v in np.percentile(eye, [3, 98]))
    nostril_dark = np.log((float(np.percentile(take(grey, [nostril]), 3)) + 2) / skin)
    skin_cr = (float(np.median(take(cr, cheeks))) - 128) / 255
    eye_dark, eye_bright = (float(np.log((v + 2) / skin)) for v in (dark, bright))
    spread = ((bright - dark) / skin, float(eye.std()) / skin)
    return eye_dark, skin_cr, float(nostril_dark), *spread, eye_bright


def _print_tone(
    face: RGBImage,
    face2x: RGBImage,
    box: npt.NDArray[np.float32],
    landmarks: npt.NDArray[np.float32],
) -> list[float]:
    """Ink's gamut and paper's grain, judged against the face's own colour (feature set 4).

    ``face`` is the 96 px face crop, ``face2x`` the same crop at 192 px. In order:
    ``sat_p95_rel``, the crop's 95th percentile of saturation over the cheeks' median;
    ``cheek_grain``, the cheeks' grey detail finer than a 1 px Gaussian at 192 px over their
    grey (log); ``cr_std_rel``, the spread of Cr over the face's mean chroma (+ 0.02);
    ``sat_cv``, the saturation's spread over its mean (+ 0.02).

    Why: a model trained on ink prints read a low spread of chroma (``cr_std``) as ink, and
    rejected live faces of little colour (dev selfies 3 -> 6 of 120, session 11): ink
    compresses the saturated colours more than the dull ones, a pale face is dull all over,
    so the ratios tell them apart where the levels do not. Ink's dots and paper fibre are
    finer than the 96 px crop's pixel, so the grain is read at twice that.
    """
    import cv2

    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * 1.1
    origin = np.array([x + w / 2 - side / 2, y + h / 2 - side / 2])
    el, er, _, ml, mr = (np.asarray(landmarks, np.float64) - origin) * (192 / side)
    d = max(4.0, float(np.hypot(*(er - el))))
    ycc2 = cv2.cvtColor(face2x, cv2.COLOR_RGB2YCrCb).astype(np.float32) / 255
    hsv2 = cv2.cvtColor(face2x, cv2.COLOR_RGB2HSV).astype(np.float32) / 255
    grey2 = ycc2[..., 0]
    detail = grey2 - cv2.GaussianBlur(grey2, (0, 0), 1.0)
    cheeks = [
        _window((el + ml) / 2, 0.12 * d, 192, 192),
        _window((er + mr) / 2, 0.12 * d, 192, 192),
    ]
    cheek_grey = np.concatenate([grey2[r, c].ravel() for r, c in cheeks])
    cheek_sat = np.concatenate([hsv2[..., 1][r, c].ravel() for r, c in cheeks])
    cheek_detail = np.concatenate([detail[r, c].ravel() for r, c in cheeks])
    ycc = cv2.cvtColor(face, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32) / 255
    sat = cv2.cvtColor(face, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32) / 255
    cr, cb = ycc[:, 1] - 0.5, ycc[:, 2] - 0.5
    chroma = float(np.hypot(cr.mean(), cb.mean()))
    return [
        float(np.percentile(hsv2[..., 1], 95) / (np.median(cheek_sat) + 0.02)),
        float(np.log(cheek_detail.std() / (np.median(cheek_grey) + 0.02) + 1e-4)),
        float(cr.std() / (chroma + 0.02)),
        float(sat.std() / (sat.mean() + 0.02)),
    ]


def pad_features(
    image: RGBImage,
    box: npt.NDArray[np.float32],
    landmarks: npt.NDArray[np.float32],
    feature_set: int = FEATURE_SET,
) -> F32:
    """The ``FEATURE_SETS[feature_set]`` vector of the face in ``box`` (x, y, w, h).

    ``image``: RGB. ``landmarks``: the face's five (``FaceDetection.landmarks``). Set 3 is
    @3's, computed as it was trained (the context crop's black beyond the frame included).
    """
    import cv2

    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown PAD feature set {feature_set}")
    face = _crop(image, box, 1.1, 96)
    context = _crop(image, box, 2.4, 128)
    grey: F32 = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small: F32 = np.asarray(cv2.resize(grey, (48, 48), interpolation=cv2.INTER_AREA), np.float32)
    ycc = cv2.cvtColor(face, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32) / 255
    hsv = cv2.cvtColor(face, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float32) / 255
    ctx_grey = cv2.cvtColor(context, cv2.COLOR_RGB2GRAY)
    lap_face = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    lap = cv2.Laplacian(ctx_grey.astype(np.float32), cv2.CV_32F)
    energy, peak = _spectrum(grey)
    specular = float(np.mean((hsv[:, 2] > 0.94) & (hsv[:, 1] < 0.12)))
    edges = cv2.Canny(ctx_grey, 60, 150)
    ring = cv2.cvtColor(context, cv2.COLOR_RGB2HSV)[..., 2].astype(np.float32) / 255
    mask = np.ones(ring.shape, bool)
    mask[32:96, 32:96] = False
    if feature_set == 3:
        lap_ctx = float(lap.var())
        ring_v = ring[mask]
        ring_dv, ring_std = ring_v.mean() - hsv[:, 2].mean(), ring_v.std()
    else:
        inside = _inside(image.shape[:2], box)
        lap_ctx = float(lap[inside].var()) if inside.sum() > 16 else 0.0
        edges[~inside] = 0  # the frame's own edge, where the crop leaves it, is no border
        ring_v = ring[mask & inside]
        ring_dv, ring_std = (
            (ring_v.mean() - hsv[:, 2].mean(), ring_v.std()) if ring_v.size else (0, 0)
        )
    edges[32:96, 32:96] = 0  # the face itself: its contours are not a frame around it
    lines = cv2.HoughLinesP(edges, 1, np.pi / 90, 30, minLineLength=36, maxLineGap=3)
    values = [
        *_lbp_riu2(grey, 1),
        *_lbp_riu2(small, 1),
        ycc[:, 1].mean(), ycc[:, 2].mean(), ycc[:, 1].std(), ycc[:, 2].std(),
        hsv[:, 1].mean(), hsv[:, 1].std(), hsv[:, 2].std(),
        np.log1p(lap_face), np.log1p(lap_ctx), energy, peak, specular,
        np.log1p(0 if lines is None else len(lines)),
        ring_dv, ring_std, _frame_lines(image, box),
        *_ink_tone(image, landmarks),
    ]  # fmt: skip
    if feature_set >= 4:
        values += _print_tone(face, _crop(image, box, 1.1, 192), box, landmarks)
        values.append(float(max(box[2], box[3])) / min(image.shape[:2]))
    return np.asarray(values, np.float32)


def largest_face(faces: Sequence[FaceDetection]) -> FaceDetection | None:
    """The largest detected face: the applicant, not a bystander behind them (None: none)."""
    if not faces:
        return None
    return max(faces, key=lambda f: float(f.box[2] * f.box[3]))


def largest_face_box(faces: Sequence[FaceDetection]) -> npt.NDArray[np.float32] | None:
    """The box of ``largest_face``."""
    best = largest_face(faces)
    return None if best is None else np.asarray(best.box, np.float32)


class PadModel:
    """The trained MLP ensemble from the registry: ``members`` float32 rows, unpacked here.

    Layout of a row, for F features, H hidden units (manifest ``hidden``) and C classes:
    feature mean (F), feature std (F), W1 (F x H), b1 (H), W2 (H x C), b2 (C). The class
    probabilities are the mean of the members' (manifest ``members``; one flat row when
    absent). Its features are ``FEATURE_SETS[feature_set]`` (manifest ``feature_set``; 3,
    @3's, when absent).
    """

    def __init__(self, registry: Registry, model_id: str = PAD_MODEL_ID) -> None:
        spec = registry.spec(model_id)
        values = np.load(registry.path(model_id), allow_pickle=False).astype(np.float32)
        self.feature_set = int(spec.extra.get("feature_set", 3))
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(f"{model_id}: unknown feature_set {self.feature_set}")
        n, h = len(FEATURE_SETS[self.feature_set]), int(spec.extra.get("hidden", 16))
        c = len(CLASSES)
        k = int(spec.extra.get("members", 1))
        sizes = (n, n, n * h, h, h * c, c)
        if values.size != k * sum(sizes) or values.ndim > 2:
            raise ValueError(f"{model_id}: expected {k} x {sum(sizes)} values, got {values.shape}")
        parts = np.split(values.reshape(k, sum(sizes)), np.cumsum(sizes)[:-1], axis=1)
        self.mean, self.std, self.b1, self.b2 = parts[0], parts[1], parts[3], parts[5]
        self.w1, self.w2 = parts[2].reshape(k, n, h), parts[4].reshape(k, h, c)
        self.threshold = float(spec.extra.get("threshold", 0.5))
        self.ref: ModelRef = spec.ref

    @property
    def members(self) -> int:
        """How many MLPs are averaged."""
        return int(self.w1.shape[0])

    def probabilities(self, features: F32) -> F32:
        """Class probabilities in ``CLASSES`` order, for one ``(F,)`` or many ``(N, F)``.

        The mean of the members' probabilities.
        """
        z = (features[..., None, :] - self.mean) / self.std  # (..., members, F)
        hidden = np.tanh(np.einsum("...kf,kfh->...kh", z, self.w1) + self.b1)
        logits = np.einsum("...kh,khc->...kc", hidden, self.w2) + self.b2
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        out: F32 = (e / e.sum(axis=-1, keepdims=True)).mean(axis=-2).astype(np.float32)
        return out


class PassiveChecker:
    """YuNet + the PAD model: ``check(image)`` judges one selfie frame.

    Example:
        >>> checker = PassiveChecker(Registry.from_manifest())  # doctest: +SKIP
        >>> checker.check(frame.image).live  # doctest: +SKIP
        True
    """

    def __init__(self, registry: Registry, model_id: str = PAD_MODEL_ID) -> None:
        from ekyc.match import MatchConfig, YuNetDetector

        self.model = PadModel(registry, model_id)
        # 320 px: a selfie face spans a third of the frame, found as well as at 640, 4x faster.
        self.detector = YuNetDetector(registry, config=MatchConfig(detect_max_side=320))

    def check(self, image: RGBImage) -> LivenessResult:
        """Score one frame; ``NoFaceFound`` when there is no face to judge."""
        from ekyc.errors import NoFaceFound

        face = largest_face(self.detector.detect(image))
        if face is None:
            raise NoFaceFound("no face was found in the image")
        feats = pad_features(image, face.box, face.landmarks, self.model.feature_set)
        probs = self.model.probabilities(feats)
        score, threshold = float(probs[0]), self.model.threshold
        live = score >= threshold
        attack = _ATTACKS[CLASSES[1 + int(np.argmax(probs[1:]))]]
        return LivenessResult(
            live=live,
            score=score,
            threshold=threshold,
            reasons=() if live else (Reason.PRESENTATION_ATTACK,),
            attack_type=None if live else attack,
            models=(self.detector.model, self.model.ref),
            details={name: float(p) for name, p in zip(CLASSES, probs, strict=True)},
        )


def portrait_reused(
    selfie: Embedding,
    portrait: Embedding,
    matcher: Any,
    *,
    max_similarity: float = 0.85,
    shown_live: bool = False,
) -> bool:
    """True when the selfie's face is too similar to the card portrait to be a new photo.

    Why: a selfie and an ID photo of the same person taken years apart score ~0.4-0.7
    (SFace cosine); a re-photographed portrait keeps pose, expression and lighting and
    scores 0.85+. ``matcher`` is an ``ekyc.match.FaceMatcher`` of the embeddings' model; a
    fusion is judged by its first member's (SFace) cosine, the scale of ``max_similarity``.

    The similarity alone does not tell the two apart at the genuine tail: two different
    photos of one person, both frontal and neutral, read 0.88-0.91 before any printing (LFW
    photos drawn as card and selfie: held-out verify_rates seeds 22016 and 29018, both
    genuine and rejected as reused). So it needs the card's texture too (issue #6):
    ``shown_live`` (the challenge was passed, so the selfie's face is a live recording's,
    and the passive check read no print or screen in the selfie) clears it. Measured on the
    cards of dev seeds 21000-21039 (benchmarks.match_cards' card shot, SFace cosine to its
    portrait / passive P(live) at 0.61): genuine live selfies 0.29-0.80 / 39 of 40 live;
    the portrait printed and held up 0.51-0.92 (19 of 40 at 0.85+) / 0 of 40 live, so
    flagged as before; the portrait crop composed as a live selfie (an injected still)
    0.78-0.95 (36 at 0.85+) / 39 of 40 live: with a passed challenge, whose frames must
    hold the selfie's face, this check no longer flags it.
    """
    if shown_live:
        return False
    return primary_similarity(selfie, portrait, matcher.embedder.metric) >= max_similarity
