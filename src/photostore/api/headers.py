"""Security headers on every answer: no sniffing, a strict content security policy.

Every answer carries ``X-Content-Type-Options: nosniff``, so a browser never runs a file
as something other than its declared type (a JPEG with HTML appended stays an image),
and ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'``: whatever a
browser is made to open here (an original, a problem document) loads nothing, runs
nothing and cannot be framed. The API answers JSON and files, which need nothing more.

The interactive documentation pages (``/docs``, its OAuth2 redirect, ``/redoc``) are HTML
that loads Swagger UI or ReDoc from jsDelivr and starts it with an inline script. Each
gets a policy of its own, built from the page it answers: its inline scripts are
admitted by their SHA-256 (so no other inline script runs), scripts and styles from the
CDN, and requests to this origin only (the OpenAPI document, "try it out"). Inline
styles are admitted there ('unsafe-inline' in ``style-src`` only): ReDoc writes its
styles at run time, and a style cannot run code.

The middleware wraps the whole application, outside Starlette's error middleware, so
an unexpected error's 500 carries the headers too.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_CDN = "https://cdn.jsdelivr.net"
# Inline <script> blocks, without a src: the ones a page's policy admits by hash.
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def page_policy(html: str) -> str:
    """The policy of a documentation page: exactly its own inline scripts, the CDN."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_CDN} {hashes}".rstrip(),
            f"style-src {_CDN} https://fonts.googleapis.com 'unsafe-inline'",
            "font-src https://fonts.gstatic.com",
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
            "connect-src 'self'",
            "worker-src blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeadersMiddleware:
    """Adds ``nosniff`` and a content security policy to every HTTP answer."""

    def __init__(self, app: ASGIApp, page_paths: Iterable[str | None] = ()) -> None:
        self.app = app
        self.page_paths = frozenset(p for p in page_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.page_paths:
            await self._page(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _secure(message, API_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A documentation page: held whole (a few kB) until its policy is known."""
        start: Message | None = None
        body = bytearray()

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            _secure(start, page_policy(body.decode("utf-8", "replace")))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, hold)


def _secure(start: Message, policy: str) -> None:
    headers = MutableHeaders(scope=start)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = policy
