"""Liveness, readiness (database reachable, models preloaded with their sha256) and metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from service.deps import RuntimeDep
from service.errors import NotReady
from service.metrics import CONTENT_TYPE
from service.schemas import LiveOut, ModelOut, ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/health/live")
async def live() -> LiveOut:
    """The process answers (restart it if not)."""
    return LiveOut()


@router.get("/health/ready")
def ready(runtime: RuntimeDep) -> ReadyOut:
    """The database answers and the models are loaded (send traffic if so)."""
    try:
        with runtime.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise NotReady("the database does not answer") from exc
    models = runtime.models
    if models.error is not None:
        raise NotReady(f"models not loaded: {models.error.code}", reason=models.error.code)
    return ReadyOut(models=[ModelOut(id=m.id, task=m.task, sha256=m.sha256) for m in models.loaded])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(runtime: RuntimeDep) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(runtime.metrics.render(), media_type=CONTENT_TYPE)
