"""The FastAPI application: JSON API under /api/v1, pages at the root, health and metrics."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import SESSION_COOKIE, SESSION_MAX_AGE, SessionSigner, SignInLimiter
from api.guards import MAX_BODY, BodyLimit, SecurityHeaders
from api.ports import AckLinks, ConflictError, Contacts, InvalidError, NotFoundError, Services
from api.streams import StreamSlots

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
PACKAGE_DIR = Path(__file__).resolve().parent

DESCRIPTION = """\
The facility agent's API: the coordinator's queue, alerts and their history, equipment, supplies
and the restock list.

**Auth.** Send an API token (`facility-agent token create`) as `Authorization: Bearer fa_...`.
The web pages use a signed session cookie; writes made with the cookie must send the
`X-CSRF-Token` header.

**Roles.** `viewer` reads; `staff` acknowledges, comments, resolves and records counts;
`coordinator` also assigns, silences and changes supply settings; `admin` also manages users
and tokens.

**Errors** are `{"detail": "...", "field": "..."}`: 404 missing, 409 conflicts with the current
state (acknowledging a resolved alert, a second resolve), 422 names the field at fault.

**Paging.** Lists return `next_cursor`; pass it back as `cursor` for the next page.
"""


def create_app(
    services: Services,
    *,
    session_secret: str | None = None,
    secure_cookies: bool = False,
    site_name: str = "Facility",
    timezone: str = "UTC",
    sign_in_limiter: SignInLimiter | None = None,
    ack_links: AckLinks | None = None,
    contacts: Contacts | None = None,
    idle_timeout: float = 3600.0,
    max_body: int = MAX_BODY,
    max_streams: int = 200,
    max_streams_per_principal: int = 5,
) -> FastAPI:
    """Build the app around ``services`` (see api.ports.Services).

    ``session_secret`` signs the session cookie; without one a random secret is made, so
    sessions end when the process restarts; a given one must have at least 32 bytes.
    ``secure_cookies`` marks cookies Secure (HTTPS). A session ends after ``idle_timeout``
    seconds without a request. Request bodies over ``max_body`` bytes are refused (413) unread.
    Live event streams are capped in total and per user or token.
    """
    app = FastAPI(
        title="facility-agent",
        version="1",
        description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json",
        # FastAPI's docs pages load Swagger UI from a CDN; nothing here may, so only the document is served.
        docs_url=None,
        redoc_url=None,
    )
    if not session_secret:
        log.warning("no session secret configured; sign-ins will not survive a restart")
        session_secret = secrets.token_urlsafe(32)
    app.state.services = services
    app.state.signer = SessionSigner(session_secret, secure=secure_cookies, idle_timeout=idle_timeout)
    app.state.streams = StreamSlots(total=max_streams, per_principal=max_streams_per_principal)
    app.state.limiter = sign_in_limiter or SignInLimiter()
    app.state.site_name = site_name
    app.state.timezone = timezone
    app.state.ack_links = ack_links
    app.state.contacts = contacts

    _install_error_handlers(app)
    app.add_middleware(RejectNulBytes)
    app.add_middleware(BodyLimit, max_body=max_body)
    cookie = f"; HttpOnly; Max-Age={SESSION_MAX_AGE}; Path=/; SameSite=lax" + ("; Secure" if secure_cookies else "")
    app.add_middleware(SecurityHeaders, cookie_name=SESSION_COOKIE, cookie_attributes=cookie)

    from api.ack_pages import router as ack_router
    from api.pages import router as pages_router
    from api.routes import (
        admin,
        alerts,
        equipment,
        equipment_history,
        events,
        ops,
        sources,
        supplies,
        supply_history,
    )
    from api.supply_page import router as supply_page_router
    from api.weekly_page import router as weekly_page_router

    for module in (alerts, equipment, equipment_history, supplies, supply_history, admin, events, sources):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(ops.router)
    app.include_router(pages_router)
    app.include_router(supply_page_router)
    app.include_router(weekly_page_router)
    app.include_router(ack_router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    return app


class RejectNulBytes:
    """422 for a NUL character in the path or query string: no database text column can hold it,
    and it is never meaningful in a name, an id or a filter."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope.get("path", "")
            if b"%00" in query or b"\x00" in query or "\x00" in path:
                field = "path"
                for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                    if "\x00" in key or "\x00" in value:
                        field = key.replace("\x00", "")
                        break
                await _error(422, "NUL characters are not allowed in the address", field)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or (str(loc[-1]) if loc else "")


def _wants_html(request: Request) -> bool:
    """Pages send people to the sign-in page; the JSON API answers 401."""
    return not request.url.path.startswith(PREFIX)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(404, str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> Response:
        return _error(409, str(exc))

    @app.exception_handler(InvalidError)
    async def invalid(request: Request, exc: InvalidError) -> Response:
        return _error(422, str(exc), exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": _field_of(e.get("loc", ())), "message": str(e.get("msg", "")), "location": str((e.get("loc") or ["body"])[0])}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "the request is not valid"}
        body = {"detail": f"{first['field']}: {first['message']}" if first["field"] else first["message"], "field": first["field"], "errors": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        headers = dict(exc.headers) if exc.headers else None
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return _error(exc.status_code, detail, headers=headers)
