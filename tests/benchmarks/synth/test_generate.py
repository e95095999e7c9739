from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from benchmarks.synth import attacks, backgrounds, cards, effects, layout_common, scene
from benchmarks.synth.__main__ import main
from benchmarks.synth.generate import generate
from benchmarks.synth.manifest import read_manifest
from benchmarks.synth.selfie import ARCFACE_112, head_turn, render_selfie, turn_face
from ekyc.types import DocumentType

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
KINDS = (
    "front",
    "tilt",
    "back",
    "selfie",
    "screen",
    "photocopy",
    "other_person",
    "print_face",
    "replay_face",
)


class TestGenerate:
    def test_reproducible_bytes(self, tmp_path: Path) -> None:
        a = generate(tmp_path / "a", 6, seed=7, kinds=KINDS, size=(480, 320))
        b = generate(tmp_path / "b", 6, seed=7, kinds=KINDS, size=(480, 320))
        assert a == b
        for rec in a:
            assert (tmp_path / "a" / rec["path"]).read_bytes() == (
                tmp_path / "b" / rec["path"]
            ).read_bytes()
        assert (tmp_path / "a" / "manifest.jsonl").read_bytes() == (
            tmp_path / "b" / "manifest.jsonl"
        ).read_bytes()

    def test_worker_split_invariant(self, tmp_path: Path) -> None:
        one = generate(tmp_path / "one", 10, seed=3, kinds=("front", "tilt"), size=(320, 240))
        two = generate(
            tmp_path / "two", 10, seed=3, kinds=("front", "tilt"), size=(320, 240), workers=2
        )
        assert one == two

    def test_scene_independent_of_what_was_rendered_before(self, tmp_path: Path) -> None:
        # The renderer caches card faces, glyphs, textures and mip levels; a scene rendered
        # alone, with every cache empty, must equal the same scene rendered in a batch.
        batch = generate(tmp_path / "batch", 9, seed=11, kinds=KINDS, size=(480, 320))
        layout_common._GLYPHS.clear()
        cards._CACHE.clear()
        scene._SURFACES.clear()
        for cached in (
            layout_common._gradient,
            cards.rounded_alpha,
            attacks._subpixel_mask,
            backgrounds.procedural,
            effects._noise_tile,
        ):
            cached.cache_clear()
        for index in (8, 3):
            alone = tmp_path / f"alone{index}"
            generate(alone, index + 1, seed=11, kinds=KINDS, size=(480, 320), first=index)
            rec = batch[index]
            assert read_manifest(alone / "manifest.jsonl") == [rec]
            assert (alone / rec["path"]).read_bytes() == (
                tmp_path / "batch" / rec["path"]
            ).read_bytes()

    def test_jpeg_exif_focal_length(self, tmp_path: Path) -> None:
        recs = generate(tmp_path, 3, seed=1, kinds=("tilt",), size=(640, 360))
        for rec in recs:
            with Image.open(tmp_path / rec["path"]) as im:
                exif = im.getexif()
                sub = exif.get_ifd(0x8769)
            assert exif[0x010F] == rec["exif"]["make"]
            assert sub[0xA405] == round(rec["focal_35mm"])
            assert sub[0x9003].count(":") == 4
            f_px = sub[0xA405] * math.hypot(640, 360) / math.hypot(36, 24)
            assert f_px == pytest.approx(rec["focal_px"], rel=0.04)
            assert rec["doc_type"]
            assert rec["shot"] == "tilt"
            assert len(rec["corners"]) == 4

    def test_heic_decodes(self, tmp_path: Path) -> None:
        recs = generate(tmp_path, 2, seed=2, kinds=("front",), size=(320, 240), fmt="heic")
        for rec in recs:
            heif = pillow_heif.open_heif(io.BytesIO((tmp_path / rec["path"]).read_bytes()))
            assert heif.size == (320, 240)
            assert np.asarray(heif).shape == (240, 320, 3)

    def test_head_turn_frames(self, tmp_path: Path) -> None:
        recs = generate(tmp_path, 1, seed=4, kinds=("head_turn",), size=(320, 240))
        assert len(recs) == 8
        assert len({r["path"] for r in recs}) == 8
        yaws = [r["yaw_deg"] for r in recs]
        assert yaws[0] == pytest.approx(0.0, abs=1e-6)
        assert max(abs(y) for y in yaws) >= 25

    def test_exception(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="unknown kinds"):
            generate(tmp_path, 1, seed=0, kinds=("nope",))


class TestSelfie:
    def test_landmarks_follow_turn(self, face) -> None:
        _, lm_right = turn_face(face, 30.0)
        _, lm_left = turn_face(face, -30.0)
        assert lm_right[2, 0] > ARCFACE_112[2, 0] > lm_left[2, 0]  # the nose moves with the yaw

    def test_selfie_is_portrait_with_landmarks(self, face) -> None:
        img, info = render_selfie(face, (640, 360), np.random.default_rng(0))
        assert img.shape == (640, 360, 3)
        x0, y0, x1, y1 = info["face_box"]
        lm = np.array(info["landmarks"])
        assert np.all((lm[:, 0] > x0) & (lm[:, 0] < x1) & (lm[:, 1] > y0) & (lm[:, 1] < y1))

    def test_head_turn_shares_background(self, face) -> None:
        frames = head_turn(face, (320, 240), np.random.default_rng(1), n_frames=4)
        assert [f[1]["frame_index"] for f in frames] == [0, 1, 2, 3]
        assert np.abs(frames[0][0][:10].astype(int) - frames[2][0][:10].astype(int)).mean() < 8


class TestCli:
    def test_writes_images_and_manifest(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "out"
        assert (
            main(
                [
                    "--out",
                    str(out),
                    "--n",
                    "5",
                    "--seed",
                    "1",
                    "--size",
                    "320x240",
                    "--workers",
                    "1",
                    "--kinds",
                    "front,tilt,back,selfie,screen",
                ]
            )
            == 0
        )
        recs = read_manifest(out / "manifest.jsonl")
        assert len(recs) == 5
        assert sorted(p.name for p in out.glob("*.jpg")) == sorted(r["path"] for r in recs)
        assert "scenes/s" in capsys.readouterr().out

    def test_bad_size(self, tmp_path: Path) -> None:
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path), "--size", "big"])


@pytest.mark.dataset
def test_real_faces_and_backgrounds(tmp_path: Path) -> None:
    faces = DATA / "lfw_pairs_aligned112"
    if not faces.is_dir() or not (DATA / "smartdoc15_ch1_frames").is_dir():
        pytest.skip(f"needs {faces} and {DATA / 'smartdoc15_ch1_frames'} (shared evaluation data)")
    recs = generate(
        tmp_path,
        4,
        seed=5,
        kinds=("front", "selfie"),
        faces_dir=faces,
        data_dir=DATA,
        size=(480, 320),
    )
    assert all("lfw_pairs_aligned112" in r["face_source"] for r in recs)


def test_a_pose_behind_the_camera_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # One scene of seed 920000 sampled a held card partly behind the camera: it is drawn again
    # from a stream derived from the scene's seed instead of stopping the whole run.
    import importlib

    from benchmarks.synth.geometry import BehindCamera

    gen = importlib.import_module("benchmarks.synth.generate")  # the package exports a function

    render = gen.render_scene
    tries: list[int] = []

    def behind_once(*args: object, **kwargs: object) -> object:
        tries.append(1)
        if len(tries) == 1:
            raise BehindCamera("cannot project points behind the camera (z <= 0)")
        return render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gen, "render_scene", behind_once)
    job = gen.Job(Path("unused"), 7, ("front",), (DocumentType.DRIVERS_LICENSE,), (640, 360),
                  "jpg", None, None)  # fmt: skip
    [(record, image)] = gen.render_index(job, 0)
    assert len(tries) == 2
    assert image.shape == (360, 640, 3)
    assert record["kind"] == "front"
