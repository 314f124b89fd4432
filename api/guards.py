"""ASGI guards around the whole app: a body limit that refuses before anything parses the body,
security headers on every response, and the sliding session cookie (see api.auth).

Pure ASGI rather than BaseHTTPMiddleware: they cost a dict lookup per request and leave
streaming responses (the live events) alone.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BODY = 64 * 1024
MAX_FORM_FIELDS = 50
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# No inline script or style anywhere: app.js and app.css are the page's only code and style.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def _refuse(send: Any, status: int, detail: str, field: str | None = None) -> None:
    body = json.dumps({"detail": detail, "field": field}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse a request body over ``max_body`` bytes (413) before the app sees it: by its
    Content-Length at once, or while reading a chunked one. The body (at most the limit) is then
    replayed to the app. ``larger`` gives routes that need more their own limit, by path prefix.
    A url-encoded form may have at most MAX_FORM_FIELDS fields; multipart is not accepted."""

    def __init__(self, app: Any, max_body: int = MAX_BODY, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.larger = larger or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path.startswith(prefix):
                return limit
        return self.max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        too_big = f"the request body is larger than {limit} bytes"
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, too_big)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if content_type.startswith("multipart/"):
            await _refuse(send, 415, "multipart bodies are not accepted; send JSON or a plain form")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, too_big)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if content_type.startswith("application/x-www-form-urlencoded") and body.count(b"&") >= MAX_FORM_FIELDS:
            await _refuse(send, 413, f"a form may have at most {MAX_FORM_FIELDS} fields")
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    """CSP, nosniff, no framing and no referrer on every response, plus the refreshed session
    cookie when api.auth noted activity (and the response doesn't set the cookie itself)."""

    def __init__(self, app: Any, *, cookie_name: str, cookie_attributes: str) -> None:
        self.app = app
        self.cookie_prefix = f"{cookie_name}=".encode()
        self.cookie_attributes = cookie_attributes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                refreshed = scope.get("fa_session_refresh")
                sets_cookie = any(n.lower() == b"set-cookie" and v.startswith(self.cookie_prefix) for n, v in headers)
                if refreshed and not sets_cookie:
                    headers.append((b"set-cookie", self.cookie_prefix + refreshed.encode() + self.cookie_attributes.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
