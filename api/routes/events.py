"""Server-sent events: every alert change, pushed as it is stored."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from api.auth import bearer_scheme, require, services_dependency, still_allowed
from api.ports import Services
from api.schemas import error_responses
from api.streams import StreamSlots, stream_key
from rules.views import AlertChange, Principal, Role

router = APIRouter(tags=["live"])
RECHECK = 15.0  # seconds
Svc = Annotated[Services, Depends(services_dependency)]

EXAMPLE = (
    "retry: 3000\n\n"
    "id: 345\nevent: alert\n"
    'data: {"alert_id": 12, "kind": "acknowledged", "status": "acknowledged", "severity": "warning", '
    '"subject": "fridge-2", "team": "pharmacy", "message": "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C)", '
    '"actor": "sam", "at": "2026-11-26T10:04:00Z", "event_id": 345}\n\n'
)


def format_event(change: AlertChange) -> str:
    data = json.dumps(jsonable_encoder(change), ensure_ascii=False, separators=(",", ":"))
    ident = f"id: {change.event_id}\n" if change.event_id is not None else ""
    return f"{ident}event: alert\ndata: {data}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A text/event-stream of alert changes; `event: alert`, data is one JSON object per change.",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE}},
        },
        **error_responses(401, 429),
    },
    summary="Live alert changes (server-sent events)",
)
async def events(
    request: Request,
    services: Svc,
    who: Principal = Depends(require(Role.VIEWER)),
    bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> StreamingResponse:
    slots: StreamSlots = request.app.state.streams
    key = stream_key(who)
    refused = slots.take(key)
    if refused is not None:
        raise HTTPException(429, refused, {"Retry-After": "60"})

    async def stream() -> AsyncIterator[str]:
        changes = services.changes()
        checked = time.monotonic()
        try:
            yield "retry: 3000\n: connected\n\n"
            async for change in changes:
                # A revoked token, a disabled user or an ended session stops receiving: checked
                # on every keep-alive, and at least every RECHECK seconds while changes flow.
                if change is None or time.monotonic() - checked >= RECHECK:
                    checked = time.monotonic()
                    if not await run_in_threadpool(still_allowed, request, bearer, Role.VIEWER):
                        yield "event: signed-out\ndata: {}\n\n"
                        break
                if change is None:  # quiet for a while: keep proxies from closing the stream
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                yield format_event(change)
        finally:
            slots.give_back(key)
            await changes.aclose()  # type: ignore[attr-defined]

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
