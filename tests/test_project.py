"""The project's standing promises: two README commands, CI runs the second one."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README must open with a sh block"
    assert text.index(block.group(0)) < 20, "the commands must be the README's first lines"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].startswith("bash scripts/setup.sh")
    assert "benchmarks.demo" in commands[0]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = _readme_commands()[1]
    assert f"exec {test_command}" in ci


def test_every_dependency_is_pinned():
    pins = {}
    for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        assert version, f"unpinned line in constraints.txt: {line!r}"
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    for requirement in declared:
        name = re.split(r"[<>=\[; ]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} is not pinned"


def test_no_weights_or_data_are_tracked():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "scripts/check_large_files.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def test_only_the_models_the_project_trained_itself_may_be_committed(tmp_path):
    import subprocess
    import sys

    stray = tmp_path / "stray.onnx"
    stray.write_bytes(b"\0" * 100)
    check = [sys.executable, "scripts/check_large_files.py"]
    refused = subprocess.run([*check, str(stray)], cwd=REPO, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "belong in models/build/" in refused.stderr
    trained = "models/corners/cornernet_s_v1.onnx"  # listed, trained by models/train_corners.py
    assert subprocess.run([*check, trained], cwd=REPO, capture_output=True).returncode == 0
