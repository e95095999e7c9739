from __future__ import annotations

import csv
import json

import pytest

from ekyc.cli import EXIT_DATAERR, EXIT_OK, EXIT_USAGE, main
from ekyc.match import DEFAULT_EMBEDDER

KEYS = {"img1", "img2", "similarity", "threshold", "match", "model", "error"}


@pytest.fixture(scope="module")
def images(tmp_path_factory, registry, astronaut):
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("faces")
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    Image.fromarray(astronaut[:, ::-1]).save(folder / "mirrored.jpg", quality=92)
    Image.fromarray(data.coffee()).save(folder / "coffee.jpg")
    (folder / "text.jpg").write_bytes(b"not an image")
    return folder


@pytest.mark.models
class TestMatchCommand:
    def test_two_images_json(self, images, capsys):
        a, b = str(images / "astronaut.png"), str(images / "mirrored.jpg")
        assert main(["match", a, b, "--json"]) == EXIT_OK
        record = json.loads(capsys.readouterr().out)
        assert set(record) >= KEYS
        assert (record["img1"], record["img2"]) == (a, b)
        assert record["match"] is True
        assert record["error"] is None
        assert isinstance(record["similarity"], float)
        assert isinstance(record["threshold"], float)
        assert record["model"] == DEFAULT_EMBEDDER

    def test_text_output_and_model_choice(self, images, capsys):
        a = str(images / "astronaut.png")
        assert main(["match", a, a, "--model", "face-embed/dlib-resnet-v1@1"]) == EXIT_OK
        assert "MATCH" in capsys.readouterr().out

    def test_no_face_is_bad_input(self, images, capsys):
        a, b = str(images / "astronaut.png"), str(images / "coffee.jpg")
        assert main(["match", a, b, "--json"]) == EXIT_DATAERR
        record = json.loads(capsys.readouterr().out)
        assert record["error"]["code"] == "no_face"
        assert record["match"] is False

    def test_pairs_jsonl(self, images, tmp_path, capsys):
        pairs = tmp_path / "pairs.csv"
        rows = [
            ("astronaut.png", "mirrored.jpg", "1"),
            ("astronaut.png", "coffee.jpg", "0"),
            ("text.jpg", "astronaut.png", "0"),
        ]
        with pairs.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["fold", "img1", "img2", "same"])
            writer.writerows([("1", *row) for row in rows])
        status = main(["match", "--pairs", str(pairs), "--root", str(images), "--jsonl"])
        assert status == EXIT_DATAERR
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(r["img1"], r["img2"]) for r in lines] == [row[:2] for row in rows]
        assert all(set(r) >= KEYS for r in lines)
        assert lines[0]["match"] is True
        assert lines[1]["error"]["code"] == "no_face"
        assert lines[2]["error"]["code"] in {"unsupported_format", "corrupt_image"}

    @pytest.mark.parametrize(
        "argv",
        [["match"], ["match", "a.png"], ["match", "a.png", "b.png", "--pairs", "x.csv"]],
    )
    def test_usage_errors(self, argv, tmp_path):
        assert main(argv) == EXIT_USAGE

    def test_pairs_without_header(self, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\nx.png,y.png\n")
        assert main(["match", "--pairs", str(bad)]) == EXIT_USAGE
