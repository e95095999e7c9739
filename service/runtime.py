"""What the daemon holds while it runs, built in ``lifespan`` and torn down after it.

Start: create the data directory, apply migrations, open the engine, start the CPU pool
(numpy's OpenBLAS on one thread, unless ``OPENBLAS_NUM_THREADS`` is set),
preload and checksum the models (``ekyc.pipeline.Verifier``: face detector, face
embedder, card layouts, card-corner proposer), start the mail retry timer. Stop (after
uvicorn has let the in-flight requests finish): stop the timer, drain the pool, dispose
of the engine.

A model that cannot be loaded does not stop the daemon: ``/health/ready`` answers 503
with the error's code, so an orchestrator keeps traffic away and an operator sees why,
while the My Page routes, which need no model, keep working.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from ekyc.blas import prefer_one_blas_thread
from ekyc.config import DecodeLimits
from ekyc.errors import EkycError
from loanflow.db import SessionFactory, create_engine, migrate, session_factory
from service.capture_sessions import CaptureStore, LivenessFiles
from service.mailer import Mailer
from service.metrics import Metrics
from service.ratelimit import TokenBuckets
from service.security import SessionStore
from service.settings import Settings
from service.workers import CpuPool

if TYPE_CHECKING:
    from ekyc.pipeline import Verifier

__all__ = ["LoadedModel", "Models", "Runtime", "running"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model file loaded and checked at start."""

    id: str
    task: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Models:
    """The preloaded pipeline, or why there is none."""

    verifier: Verifier | None = None
    loaded: tuple[LoadedModel, ...] = ()
    error: EkycError | None = None
    preloaded: bool = False


@dataclass
class Runtime:
    """The daemon's live objects; routes reach them through ``service.deps``."""

    settings: Settings
    engine: Engine
    db: SessionFactory
    hasher: PasswordHasher
    sessions: SessionStore
    pool: CpuPool
    mailer: Mailer
    metrics: Metrics
    limits: DecodeLimits
    rate_limits: dict[str, TokenBuckets]
    captures: CaptureStore
    liveness: LivenessFiles
    models: Models = field(default_factory=Models)


def _load_models(settings: Settings) -> Models:
    from ekyc.pipeline import Verifier
    from ekyc.registry import Registry

    try:
        registry = Registry.from_manifest(
            settings.model_manifest,
            build_dir=settings.model_build_dir,
            threads=settings.model_threads,
        )
        verifier = Verifier.from_registry(registry)
    except EkycError as error:
        _log.error("models not loaded: %s: %s", error.code, error.message)
        return Models(error=error, preloaded=True)
    refs = (
        verifier.matcher.detector.model,
        verifier.matcher.model,
        verifier.layouts.model,
        *((verifier.proposer.model,) if verifier.proposer and verifier.proposer.model else ()),
    )
    loaded = tuple(LoadedModel(r.id, registry.spec(r.id).task, r.sha256) for r in refs)
    for model in loaded:
        _log.info("model loaded: %s sha256=%s", model.id, model.sha256)
    return Models(verifier=verifier, loaded=loaded, preloaded=True)


def _build(settings: Settings, metrics: Metrics) -> Runtime:
    url = settings.resolved_database_url
    if sa.make_url(url).get_backend_name() == "sqlite" and not settings.database_url:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    if settings.migrate_on_start:
        migrate(url)
    engine = create_engine(url)
    db = session_factory(engine)
    pool = CpuPool(settings.cpu_workers, queue_per_worker=settings.queue_per_worker)
    # The pool's threads each run a verification; a second OpenBLAS thread per product
    # only spins on the other core (``ekyc.blas``: -16 % CPU per verification measured).
    _log.info("OpenBLAS threads: %s", prefer_one_blas_thread())
    sessions = SessionStore(
        db,
        idle=timedelta(seconds=settings.session_idle_timeout_s),
        max_age=timedelta(seconds=settings.session_max_age_s),
        max_sessions=settings.max_sessions,
    )
    metrics.gauge("cpu_pool_workers", lambda: pool.workers)
    metrics.gauge("cpu_pool_pending", lambda: pool.pending)
    metrics.gauge("sessions", lambda: len(sessions))
    return Runtime(
        settings=settings,
        engine=engine,
        db=db,
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        sessions=sessions,
        pool=pool,
        mailer=Mailer(db, settings),
        metrics=metrics,
        limits=DecodeLimits(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels),
        rate_limits={
            "codes": TokenBuckets(settings.rate_codes),
            "login": TokenBuckets(settings.rate_login),
            "frames": TokenBuckets(settings.rate_frames),
            "challenge": TokenBuckets(settings.rate_challenge),
        },
        captures=CaptureStore(timedelta(seconds=settings.capture_window_s)),
        liveness=LivenessFiles(settings.state_dir / "liveness"),
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, metrics: Metrics) -> AsyncIterator[Runtime]:
    """Build the runtime, serve, then tear it down (the body of the app's lifespan)."""
    runtime = await asyncio.to_thread(_build, settings, metrics)
    retry: asyncio.Task[None] | None = None
    try:
        if settings.preload_models:
            runtime.models = await asyncio.to_thread(_load_models, settings)
        retry = asyncio.create_task(runtime.mailer.retry_forever(), name="mail-retry")
        _log.info(
            "ready: %d CPU workers, %d models, database %s",
            runtime.pool.workers,
            len(runtime.models.loaded),
            runtime.engine.url.get_backend_name(),
        )
        yield runtime
    finally:
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        await asyncio.to_thread(runtime.pool.shutdown)
        runtime.engine.dispose()
        _log.info("stopped")
