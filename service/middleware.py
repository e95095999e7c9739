"""The request layers around the routes: ``RequestContext`` (request id, timing, access log,
the last-resort 500) and ``BodyLimit`` (request body sizes).

A pure ASGI middleware (no ``BaseHTTPMiddleware``: it would buffer streaming bodies and
break the upload limit). For every HTTP request it

* takes the caller's ``X-Request-ID`` when it is short and plain, else makes one, keeps it
  in ``request.state.request_id`` and echoes it in the response;
* records latency and status by route template in ``Metrics`` and logs one JSON access
  line (method, route template, status, milliseconds; never the raw path or query);
* turns any exception nothing else handled into a 500 problem carrying the request id,
  logs it with its traceback, and returns normally, so the daemon keeps serving and the
  log line and the client's error share an id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import StatementError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import problem_response
from service.metrics import Metrics

__all__ = ["REQUEST_ID_HEADER", "BodyLimit", "RequestContext", "route_template"]

_log = logging.getLogger("service.access")
_error_log = logging.getLogger("service.errors")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``unmatched``."""
    route: Any = scope.get("route")
    path: object = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = bytes(value).decode("latin-1")
            if _SAFE_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestContext:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.started()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = 499  # nginx's "client closed request": nobody to answer
        except Exception as exc:
            _log_unexpected(exc, scope, request_id)
            if not started:
                await _send_500(scope, receive, send_with_id, request_id)
        finally:
            seconds = time.perf_counter() - began
            route = route_template(scope)
            self.metrics.finished(scope["method"], route, status, seconds)
            _log.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )


def _log_unexpected(exc: Exception, scope: Scope, request_id: str) -> None:
    if isinstance(exc, StatementError):
        exc.hide_parameters = True  # SQL parameters hold names, emails and the like
    _error_log.error(
        "unexpected %s on %s %s",
        type(exc).__name__,
        scope["method"],
        route_template(scope),
        exc_info=exc,
        extra={"request_id": request_id},
    )


async def _send_500(scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
    response = problem_response(
        None,
        status=500,
        code="internal_error",
        detail=f"an unexpected error occurred; quote request id {request_id}",
        request_id=request_id,
        instance=scope.get("path"),
    )
    await response(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over a limit, by declared length or by bytes received.

    The limit is ``per_route[route template]`` or ``default``; it is looked up when the
    route first reads its body (routing has happened by then). Over it, reading raises
    ``HTTPException(413)``, which FastAPI passes through its body parsing to the problem
    handler (``content_too_large``). Routes that stream uploads check their own, lower,
    limit first (``service.uploads``).
    """

    def __init__(self, app: ASGIApp, default: int, per_route: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_route = dict(per_route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            limit = self.per_route.get(route_template(scope), self.default)
            if received == 0 and _declared_length(scope) > limit:
                raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = bytes(value).decode("latin-1")
            return int(text) if text.isdigit() else 0
    return 0
