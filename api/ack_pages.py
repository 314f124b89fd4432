"""One-tap acknowledgement pages. GET shows the alert and one button and changes nothing (mail
scanners open links); the POST carries the signed token in the form and acknowledges. A used,
expired or tampered link gets a page that says which."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.ports import AckLinkCheck, AckLinks

router = APIRouter(include_in_schema=False)
MAX_TOKEN = 2000
STATUS_CODES = {"ok": 200, "done": 200, "used": 410, "expired": 410, "closed": 409, "invalid": 400}


def _links(request: Request) -> AckLinks | None:
    return getattr(request.app.state, "ack_links", None)


def _page(request: Request, check: AckLinkCheck, token: str = "") -> Response:
    from api.pages import render

    return render(request, "ack_link.html", None, status=STATUS_CODES.get(check.status, 400), link=check, token=token)


@router.get("/ack/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    links = _links(request)
    if links is None or len(token) > MAX_TOKEN:
        return _page(request, AckLinkCheck("invalid"))
    check = await run_in_threadpool(links.inspect_link, token)
    return _page(request, check, token if check.status == "ok" else "")


@router.post("/ack")
async def acknowledge(request: Request, token: Annotated[str, Form(max_length=MAX_TOKEN)] = "") -> Response:
    links = _links(request)
    if links is None or not token:
        return _page(request, AckLinkCheck("invalid"))
    return _page(request, await run_in_threadpool(links.use_link, token))
