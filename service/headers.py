"""Security headers on every HTTP response (``SecurityHeaders``, a pure ASGI middleware).

One policy for the whole daemon, strict enough for the reference capture page, which is the
only HTML it serves (plain files under ``/capture/``, scripts and styles in their own files,
no inline code)::

    Content-Security-Policy   default-src 'none'; script-src 'self'; style-src 'self';
                              img-src 'self' blob: data:; media-src 'self' blob: mediastream:;
                              connect-src 'self'; base-uri 'none'; form-action 'self';
                              frame-ancestors 'none'
    X-Content-Type-Options    nosniff
    Referrer-Policy           no-referrer     (the page's URL fragment holds the eKYC token)
    X-Frame-Options           DENY            (frame-ancestors, for older browsers)
    Permissions-Policy        camera=(self), microphone=(), geolocation=(), payment=(), usb=()
    Cross-Origin-Opener-Policy  same-origin
    Strict-Transport-Security max-age=<hsts_max_age_s>; includeSubDomains
                              only on https requests (as uvicorn sees them behind a trusted
                              proxy), and not when ``hsts_max_age_s`` is 0
    Cache-Control             no-store        on /v1/ answers that set none: personal data

The camera needs no CSP source: ``getUserMedia`` is governed by Permissions-Policy, and a
``MediaStream`` set as ``video.srcObject`` is no fetch. ``connect-src 'self'`` keeps the page
talking to its own daemon only; a bank that serves the page elsewhere adds its API origin to
``EKYC_ALLOWED_ORIGINS`` and sets its own CSP.

The Swagger UI (``/docs``, development only) loads its script from a CDN and starts it with
an inline script, so it gets its own, looser policy; nothing else does.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "DOCS_CONTENT_SECURITY_POLICY", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_CDN = "https://cdn.jsdelivr.net"  # where FastAPI's Swagger UI page loads its assets
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' 'unsafe-inline' {_CDN}",
        f"style-src 'self' {_CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
_PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", _PERMISSIONS_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Add the module's headers to every HTTP response; a header the route set is kept.

    Args:
        app: The wrapped ASGI app.
        hsts_max_age_s: ``Strict-Transport-Security`` max-age on https; 0 sends none.
        docs_paths: Paths that get ``DOCS_CONTENT_SECURITY_POLICY``.
    """

    def __init__(self, app: ASGIApp, *, hsts_max_age_s: int, docs_paths: Iterable[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.hsts = f"max-age={hsts_max_age_s}; includeSubDomains".encode()
        self.hsts_on = hsts_max_age_s > 0

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        path: str = scope.get("path", "")
        policy = (
            DOCS_CONTENT_SECURITY_POLICY if path in self.docs_paths else CONTENT_SECURITY_POLICY
        )
        headers = [*_COMMON, (b"content-security-policy", policy.encode())]
        if self.hsts_on and scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", self.hsts))
        if path.startswith("/v1/"):
            headers.append((b"cache-control", b"no-store"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((n, v) for n, v in extra if n not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
