"""Card-detection parameters: the quad detector, the tilt estimate and the edge-band check.

Every value was set on the synthetic scenes of ``benchmarks.synth`` (``python -m
benchmarks.detect``) and checked on the SmartDoc-15 frames; the comment beside each says why
it has the value it has.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DetectConfig"]


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Parameters of ``find_quad``, ``estimate_tilt`` and ``measure_edge_band``."""

    # --- candidate search (on a downscaled copy) ---------------------------------------
    # Candidates are found at this longer side: a 1280x720 frame becomes 384x216, where the
    # card's outline is still 2+ px wide and edges/contours cost ~3 ms on one core.
    working_side_px: int = 384
    # Gaussian sigma (working pixels) before the gradients: suppresses JPEG blocking and
    # sensor noise without merging the card outline with a nearby table edge.
    blur_sigma_px: float = 1.0
    # Canny hysteresis thresholds as percentiles of the colour-gradient magnitude; a white
    # card on a white table has a weak outline, so the thresholds follow the image rather
    # than being absolute. Several levels are tried: weak outlines need the low one,
    # textured tables the high one.
    canny_percentiles: tuple[float, ...] = (80.0, 92.0)
    # Never threshold below this gradient (grey levels per pixel): pure sensor noise.
    canny_floor: float = 6.0
    # A card filling less of the image than this is too small to read (and too small to
    # fit lines to); the guide asks the user to come closer first.
    min_area_fraction: float = 0.04
    # An outline must fill this share of its convex hull: a closed card outline (or the
    # hole inside it) does, with a finger bitten out of it; edge chains running from the card
    # into the table's texture span huge, empty hulls.
    min_solidity: float = 0.6
    # approxPolyDP tolerance, as a fraction of the hull perimeter: keeps the four sides,
    # drops the rounded corners (3.18 mm radius, ~4 % of the long side).
    approx_epsilon: float = 0.012
    # Lines come from a separate, lower-threshold edge map: a white card on a pale table has
    # an outline of only ~4 grey levels per working pixel, below ``canny_floor``, and noise
    # does not make the long straight segments that lines need.
    line_canny_percentile: float = 70.0
    line_canny_floor: float = 2.5
    # Line segments shorter than this fraction of the working image's short side are
    # texture; a card's short side is at least ~0.3 of it at the minimum area.
    min_segment_fraction: float = 0.1
    # Lines (merged segments) kept for quad hypotheses, longest support first: the card's
    # four sides are among the longest straight edges in a phone shot of it (32: a side
    # broken by a finger ranks up to ~30th on busy tables).
    max_lines: int = 32
    # Opposite sides of a card seen at up to 60 degrees converge by up to ~60 degrees when
    # it is close to the lens and off-centre (seen on the synthetic tilt shots).
    max_side_angle_deg: float = 65.0
    # Adjacent sides meet at 90 degrees in space; perspective narrows that to >= ~40.
    min_corner_angle_deg: float = 35.0
    # At most this many closed-outline candidates are ranked, largest first.
    max_candidates: int = 12
    # At most this many line-built quads are ranked (best pre-rank first, ``lines``): the
    # card's outline is nearly always among them when it never closes.
    max_line_quads: int = 30
    # ... and this many more, the best by boundary and shape alone: the pre-rank's area
    # preference must not drop a strong card outline before the ranking weighs it (the
    # MIDV-500 card, all four sides 1.0, was 88th of 1547 line quads on area-weighted score).
    line_plain_quads: int = 6
    # Ranking (``ekyc.detect.rank``): colours are compared this far (working pixels)
    # inside and outside each side, beyond the 1-2 px a printed rule covers, within the
    # ~3 mm white margin of a card.
    rank_step_px: float = 2.0
    # A step of this many grey levels (RGB distance) counts fully; white card on a white
    # table makes ~10-20 through its shadow, printed panels and dark tables 50+.
    rank_contrast: float = 20.0
    # Gradient (grey levels per working pixel) below which a point shows no edge. A white
    # card on pale paper with no shadow steps by ~8 grey levels, ~2.2 per working pixel
    # after the shrink and blur (seed 777 scene 79); the median gradient of a shot (mostly
    # flat areas) is ~1-2.5 there, wood grain ~3.5, and an edge must also be aligned with
    # the side and step in colour. 3 saw no edge at all on such sides; 2 read the type and
    # side of 3 more of 291 genuine cards in frame (seeds 777, 2024, 4242), lost none.
    rank_min_gradient: float = 2.0
    # Evidence given to a side that lies mostly outside the image (the card is cut there).
    rank_unseen_side: float = 0.5
    # Only the best few ranked candidates are refined at full resolution (the costly step).
    refine_top: int = 2
    # Layout check of runners-up (``find_card``): a quad that takes a printed panel's side
    # or a background line for a faint card side can outrank the card's outline, but only
    # the outline puts the layout in place. The layout is read inside up to
    # ``layout_alternatives`` runner-up candidates (~9 ms each) among the best
    # ``alternatives_ranked``, skipping those whose corners all lie within
    # ``alternative_distinct`` of the image diagonal of one already taken (~15 px at
    # 1280x720: a printed frame 1.5 mm inside the card's edge is ~20 px in).
    layout_alternatives: int = 8
    alternatives_ranked: int = 16
    alternative_distinct: float = 0.01
    # A runner-up replaces the first choice when its layout correlation is higher by this
    # much (its refined quad is checked again): the correlation of the right class moves by
    # ~0.01 between renders of the same card, so smaller gains are noise.
    layout_gain: float = 0.03
    # At most this many runners-up are refined and read again (~10 ms each), those whose
    # rough layout comes within ``layout_gain`` of the first choice's, best first.
    layout_refine: int = 2
    # A first choice whose layout reads at least this is kept without reading any runner-up
    # (~9 reads saved): on 236 scenes (seeds 4242, 7777) no first choice reading >= 0.85 was
    # ever replaced; ~22 % of card shots read that well. With it, ekyc bench detect on 360
    # scenes (seeds 4242, 7777, 31337) gave the same result on every scene; quiet, seed 7777:
    # find_card 157 -> 136 ms per 1280x720 frame. 0.75 since: on 240 scenes (seeds 5151,
    # 7777) the runners-up replaced first choices reading up to 0.706, none of the 42 reading
    # 0.75-0.85 (16.6 ms of runner-up reads each, ~3.4 ms per scene).
    layout_confident: float = 0.75
    # The learned proposal (``card.learned_card``), refined and finished, is kept without
    # the classical search when its layout reads at least this. 0.70 rather than
    # ``layout_confident``: on dev seeds 4242 + 40000 (240 scenes) the 12 proposals reading
    # 0.70-0.75 (4 genuine fronts and backs, 8 flat copies and screens) read the same type
    # and side as the search's answer, at IoU to the truth within -0.03..+0.04 of it, and
    # skip the search (find_card CPU -8 % on those scenes); 0.65 moved 28 scenes, two genuine
    # ones 0.01-0.02 IoU lower.
    proposal_confident: float = 0.70
    # ... or this when it reads a back: the backs' templates are sparse (blank fields,
    # handwriting), so a back on its exact outline reads ~0.4-0.7 where a front reads
    # 0.8-0.95, and the search then spends ~100 ms to return the same quad (or one that
    # ``_realign`` moved onto the sparse layout). Dev detection seeds 4242/40000/41000/43000/
    # 44000 (800 scenes): 49 genuine backs read 0.50-0.70 on the proposal, all of the right
    # type and side; kept, 8 of them came out closer to the truth (IoU +0.001..+0.05), 5 less
    # close (-0.011..-0.026), the rest the same quad; no flat copy or screen read as a back.
    # Paired on those 800: mean IoU per seed 0.9956/0.9870/0.9947/0.9935/0.9962 ->
    # 0.9960/0.9869/0.9956/0.9940/0.9961, type+side, tilt MAE and flats rejected unchanged;
    # the 49 scenes' find_card CPU 146 -> 30 ms median, the 800's mean -7 %.
    proposal_confident_back: float = 0.50
    # A chosen quad whose layout correlation stays below this (the right quad of a clean
    # card reads ~0.8-0.95) has its sides moved until the layout fits (``ekyc.detect.align``),
    # as one whose layout is not recognised at all; the move must gain ``layout_gain``.
    layout_realign_below: float = 0.7
    # ... and so does one whose layout is not read at all. The selfie's My Number back
    # check turns this off (``ekyc.stages.selfie``): there the quad is almost never a card,
    # and moving its sides found no back that the first read or three sides missed on 90
    # scenes of My Number backs (60 alone, 30 held in a selfie; 55 refused either way),
    # while it cost ~47 of the check's ~173 ms per 12 MP selfie.
    realign_unread: bool = True
    # A shot whose chosen quad still shows no layout tries quads of three sides on lines and
    # a fourth placed by the camera model and the ID-1 aspect (``ekyc.detect.three_sides``:
    # one side of a white card on a pale table often shows no edge at all). The best
    # ``three_side_hypotheses`` are screened by rough layout reads (~0.6 ms each);
    # the best readings are then refined and aligned as runners-up are (``layout_refine``).
    three_side_hypotheses: int = 12
    # A hypothesis is refined when its rough read reaches this: a few pixels off, the
    # card's own quad reads up to ~0.05 below ``classify.MIN_LAYOUT_SCORE`` (0.40), which
    # the refined or aligned quad must then reach.
    three_side_min_read: float = 0.35
    # Triples are made of the longest this many lines (the cost grows with its cube; 24
    # lost a card in 20 failures of seeds 7777/31337).
    three_side_lines: int = 32
    # A shot where none of the above reads a layout gets the learned corner proposal read
    # once more, tilted views included (``find_card``'s last resort; ``learned_card`` keeps
    # only front views). Only with a proposer (``find_card(learned=...)``).
    proposal_last_resort: bool = True
    # ``find_card`` first tries ``ekyc.detect.fast`` (one closed outline at 320 px, refined
    # and read once, kept only on strong evidence) and runs the full search when it is not
    # kept. Off by default: it keeps few shots, most show a white card on pale paper (no
    # closed outline), a background line touching the card, a finger or a screen's frame.
    # Seed 4242 (ekyc bench detect, 120 scenes, load ~25): kept 2, find_card CPU median /
    # p90 114.8 / 188.4 ms -> 127.3 / 205.1 with it on; dev seeds 5151 / 7777: kept 8 / 4
    # of 120; clean in-guide previews (benchmarks.autocapture, seed 11): kept 9 of 30.
    fast_path: bool = False

    # --- sub-pixel refinement (full resolution) ----------------------------------------
    # Search half-width along each edge's normal in the first refinement pass, as a
    # fraction of the image's longer side (8 px at 1280): covers the candidate's error.
    search_fraction: float = 0.008
    # Half-width of the final pass, in pixels: the quad is then already within ~1 px.
    final_search_px: float = 3.0
    # Profile sample spacing along the normal, pixels.
    profile_step_px: float = 0.5
    # Distance between profiles along an edge, pixels (capped by max_profiles).
    profile_spacing_px: float = 3.0
    max_profiles: int = 160
    # The quad refinement needs far fewer profiles than the edge-band check (a line fit
    # through 64 points is already well within 0.1 px), and its cost scales with them.
    refine_max_profiles: int = 64
    # Profiles this close to a corner (fraction of the edge) are skipped: the ID-1 corner
    # radius (3.18 mm) bends the outline over ~4 % of the long edge, 6 % of the short one.
    corner_margin: float = 0.08
    # A profile's edge counts when its peak reaches this fraction of the edge's median
    # peak; weaker peaks are texture or an occluding finger's soft shadow.
    min_peak_ratio: float = 0.35
    # Robust line fit: residuals beyond max(this, 3 MADs) pixels are outliers (fingers,
    # glare) and are refitted without.
    outlier_px: float = 1.0
    # Side face (``ekyc.detect.sideface``): a camera-facing side moves onto the inner of two
    # parallel edges when two blurred steps explain the median colour profile across it
    # this many times better (residual ratio) than one step does. 3: a 2.5 px band under a
    # 1.2 px blur scores 3.7, a single edge 1.2-1.7 (Gaussian blur) and up to 3.3 (a
    # 3-6 px motion ramp, which two steps split in halves; such a split also moves the
    # side by under ``min_band_px``, which does not count as a move).
    face_edge_gain: float = 3.0
    # Sides facing away veto every move when they show a second edge inside at the same
    # distance on the card's face as the moved side's band, within this factor (the
    # focal-length prior's error and the band's fitted width).
    face_edge_veto_ratio: float = 1.6
    # Outline (``ekyc.detect.outline``): a side fitted to a printed line runs parallel to
    # the card's edge and inside it; the licence frame and the address boxes are 1-3 mm in.
    # Edges this far out (mm on the card) are looked at, from ``outline_min_mm`` (beyond
    # the side face's band, which ``sideface`` handles) ...
    outline_search_mm: float = 4.0
    outline_min_mm: float = 0.8
    # ... and the strip between must differ from the background by this much (RGB
    # distance): card paper against a table, not a white card on a white table.
    outline_min_contrast: float = 12.0
    # The outline's median profiles come from this many profiles per side at most, sampled
    # every ``outline_step_px`` across the side (its tests compare the medians' colours
    # over millimetres, which these give as well as the refinement's 64 profiles at 0.5 px:
    # on 300 dev frames 3 quads moved at 32 profiles, mean IoU unchanged or up), for about
    # a quarter of the sampling and partitioning.
    outline_max_profiles: int = 32
    outline_step_px: float = 1.0

    # --- scoring ----------------------------------------------------------------------
    # Aspect prior, used loosely: the card's aspect recovered from the quad through the
    # camera model may differ from the prior by this factor before the score drops to 0.
    # Covers the focal-length prior's error (+-20 %) at 60 degrees of tilt.
    aspect_tolerance: float = 0.25
    # Candidates are ranked by score * (area / largest area) ** area_weight: a frame printed
    # inside the card fits its lines as well as the outline does, but is always smaller.
    # 0.5: best mean IoU on the seed-4242 and 9001 benchmark scenes among 0.25 / 0.5 /
    # 0.75 / 1 (1 lets a phone's body outrank the card shown on its screen).
    area_weight: float = 0.5
    # The same for paper documents (``AspectPrior.A4`` / ``ANY``): a page has no printed
    # panels sharing its outline, while the desk, monitor and table edges around it make
    # large quads that a strong area preference rewards (SmartDoc: 0.75 mean IoU at 0.25,
    # 0.66 at 0.5).
    document_area_weight: float = 0.25
    # A further preference among nested candidates only (``rank.nested_preference``): rank
    # *= (area / area of the largest comparable quad containing it) ** nest_weight, a
    # container being comparable when its score is >= ``nest_rival`` x the quad's. It gives
    # a quad nothing over the quads beside it. Documents: a page whose side was taken on a
    # rule printed just inside it yields to the page (SmartDoc background01/magazine001
    # 0.964 -> 0.991; no other frame moved). ID-1 keeps 0: nest_weight 0.5 with
    # area_weight 0.25 found the MIDV-500 card (IoU 0.25 -> 0.996) but lost a tilt shot's
    # thickness on seed 4242 (60 scenes: 0.917 -> 0.833), nested alone (area_weight 0) cut
    # genuine IoU 0.993 -> 0.958 and type+side 1.000 -> 0.943.
    nest_weight: float = 0.0
    document_nest_weight: float = 0.5
    # Paper documents (``A4`` / ``ANY``): the working copy is grey-closed (dilated, then
    # eroded) with a disc this many working pixels wide before anything reads it. A page
    # is light, so a thin dark thing on or across it (print, a cable, a pen's outline)
    # vanishes while the page's own outline, a straight edge of a large region, stays
    # where it is (closing keeps convex light regions as they are). Without it, a
    # cable's two long dark edges crossing a faint page made the strongest lines and the
    # best-scoring quads (SmartDoc background05, a white page on a near-white desk: IoU
    # 0.53 / 0.25 on datasheet001 / letter001). 9 to 21 all gave 0.89-0.95 on those two
    # and left the other eight frames at 0.989-0.993; 7 and 8 left the cable (~5-7
    # working px with its shadow) in and failed. ID-1 keeps the working copy as it is
    # (cards are not light all over, and the card path's figures were set on it).
    document_close_px: int = 11
    nest_rival: float = 0.9
    # The area preference's reason (a printed panel inside the card) needs the smaller quad
    # to lie along the larger one; a firm outline (every side's evidence >= this) that a
    # weaker quad ``surface_area`` times its area or more covers with two sides turned by
    # more than ``aligned_deg``, or cuts across, is an object on a surface made of other
    # lines, and the larger quad claims no more area than it (``rank.claimable_area``).
    # Real phone shot (MIDV-500, a card on a cluttered desk, every side 1.0, desk quads of
    # 0.64-0.76 around it at 2.5x its area and more, turned 11-27 deg): IoU 0.25 -> 0.996.
    # Seeds 4242 (120), 5151 (60), 8123 (60): every genuine and flats figure unchanged; the
    # top candidate changed on 4 screen / copy shots and one tilt shot (0.55 -> 0.98 IoU).
    # Firm 0.9-0.95 and aligned 5-8 deg gave the same figures; firm 0.8 moved a back shot
    # (IoU 0.999 -> 0.969) and aligned 12 let a flat copy through. Without the area ratio an
    # offset copy of a back shot's outline lost its area (seed 8123: 0.02 -> 0.17 % diag);
    # with one turned side counting as turned, a portrait box whose top took a slanted line
    # took the card's area away (seed 8123, rescued only by the layout read).
    firm_side_evidence: float = 0.9
    aligned_deg: float = 8.0
    surface_area: float = 1.5
    # A candidate needs this much edge support (fraction of profiles that agree with the
    # fitted line, averaged over the four edges) to be reported at all.
    min_score: float = 0.35
    # Corners within this many pixels of the image border count as cut by it.
    border_margin_px: float = 1.0

    # --- camera model -----------------------------------------------------------------
    # 35 mm-equivalent focal length assumed without EXIF: phone main cameras are 24-28 mm.
    prior_focal_35mm: float = 26.0

    # --- tilt and thickness -----------------------------------------------------------
    # The image-based method asks for the card tilted; 30-60 degrees shows the side face
    # clearly while keeping the printed face readable.
    min_tilt_deg: float = 30.0
    max_tilt_deg: float = 60.0
    # Card thickness (ISO/IEC 7810 ID-1: 0.76 mm) and long side, for the expected width of
    # the side face in the image.
    card_thickness_mm: float = 0.76
    card_long_side_mm: float = 85.60
    # The side face is searched this far outside the quad, pixels (beyond the widest band
    # a 0.76 mm edge makes at 60 degrees and 12 MP).
    band_search_px: float = 14.0
    # A measured band may be this factor narrower or wider than the geometry predicts;
    # JPEG and blur widen a 1-2 px band, the focal prior's error scales it.
    band_width_tolerance: float = 2.5
    # Bands narrower than this (pixels) cannot be told from the anti-aliased outline.
    min_band_px: float = 1.0
    # The band's outer edge must rise this factor above the valley between it and the
    # printed face's edge; a single blurred edge has no valley.
    band_peak_ratio: float = 1.3
    # Contrast (grey levels) the band must have against the background beyond it.
    min_band_contrast: float = 6.0

    def __post_init__(self) -> None:
        if self.working_side_px < 64:
            raise ValueError(f"working_side_px must be >= 64, got {self.working_side_px}")
        if not 0 <= self.min_tilt_deg < self.max_tilt_deg <= 90:
            raise ValueError(
                f"need 0 <= min_tilt_deg < max_tilt_deg <= 90, got "
                f"{self.min_tilt_deg}, {self.max_tilt_deg}"
            )
        if not self.prior_focal_35mm > 0:
            raise ValueError(f"prior_focal_35mm must be > 0, got {self.prior_focal_35mm}")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.document_close_px < 0:
            raise ValueError(f"document_close_px must be >= 0, got {self.document_close_px}")
