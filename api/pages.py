"""Server-rendered pages: the queue, an alert with its history, the equipment board, supplies,
the restock list, sign-in. Forms post here (with a CSRF token) and redirect back."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator

from api.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    check_csrf,
    principal_from,
    services_dependency,
    services_of,
    session_of,
    signer_of,
)
from api.history_page import chart_section
from api.ports import ConflictError, InvalidError, NotFoundError, Services
from rules.views import AlertEventView, Principal, Role, age_text, event_text, order_text, unit_text

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    app = request.app
    if not hasattr(app.state, "templates"):
        from api.app import PACKAGE_DIR

        templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
        zone = ZoneInfo(app.state.timezone)
        # The site's clock, with its zone: "26 Nov 10:00 CET".
        templates.env.filters["local"] = lambda dt, fmt="%d %b %H:%M %Z": dt.astimezone(zone).strftime(fmt) if dt else ""
        templates.env.filters["num"] = _num
        templates.env.globals["site_name"] = app.state.site_name
        templates.env.globals["contacts"] = getattr(app.state, "contacts", None)  # who to call (api.ports.Contacts)
        templates.env.globals["rule_needs"] = lambda rule_id: (
            app.state.history.rule_needs(rule_id) if getattr(app.state, "history", None) else {}
        )
        app.state.templates = templates
    templates_: Jinja2Templates = app.state.templates
    return templates_


def _no_nul(text: str) -> str:
    return text.replace("\x00", "")  # no database text column can hold NUL


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def _safe_next(target: str | None, default: str = "/") -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def signed_in(request: Request) -> Principal:
    principal = principal_from(request, None)
    if principal is None:
        raise HTTPException(401, "sign in")
    return principal


Who = Annotated[Principal, Depends(signed_in)]
Svc = Annotated[Services, Depends(services_dependency)]


def render(request: Request, name: str, who: Principal | None, status: int = 200, **context: Any) -> HTMLResponse:
    services = services_of(request)
    now = services.now()
    session = session_of(request)
    local = _templates(request).env.filters["local"]
    context.setdefault("names", {})
    context.setdefault("people", [])
    context.update(
        request=request,
        who=who,
        csrf=session.csrf if session else "",
        now=now,
        ago=lambda dt: age_text(dt, now),
        at=lambda dt: f"{local(dt)} ({age_text(dt, now)})" if dt else "",
        name=lambda username: context["names"].get(username, username) if username else "",
        still_holds=services.still_holds,
        unit_text=unit_text,
        order_text=order_text,
        can=lambda role: who is not None and who.role.allows(Role(role)),
        notice=request.query_params.get("notice", ""),
        notice_card=request.query_params.get("card", ""),
        error=context.get("error") or request.query_params.get("error", ""),
        path=request.url.path,
    )
    response = _templates(request).TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(target: str, **params: str) -> RedirectResponse:
    """Back to the page (and the card: #alert-3) the form came from, with its notice."""
    target, hash_, fragment = target.partition("#")
    if fragment.startswith("alert-") and fragment[6:].isdigit():
        params["card"] = fragment[6:]  # the notice shows on that card, where the phone scrolls to
    sep = "&" if "?" in target else "?"
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(target + (sep + query if query else "") + hash_ + fragment, status_code=303)


def _names(services: Services) -> dict[str, str]:
    """Usernames → the names people know each other by ("Demo coordinator")."""
    names: dict[str, str] = _people(services)["names"]
    return names


def _people(services: Services) -> dict[str, Any]:
    """For alert cards: display names, and who can be assigned (people who may act on alerts)."""
    users = [u for u in services.list_users() if not u.disabled]
    return {
        "names": {u.username: u.display_name or u.username for u in users},
        "people": [u for u in users if u.role.allows(Role.STAFF)],
    }


def _done(services: Services, alert_id: int, notice: str) -> str:
    """A notice that names the alert: 'Acknowledged #3 (Ward 3 printer: black toner is at 4.9%).'"""
    try:
        named = f"#{alert_id} ({services.get_alert(alert_id).message})"
    except NotFoundError:
        named = f"#{alert_id}"
    return notice.replace("{alert}", named) + "."


def _act(request: Request, who: Principal, needed: Role, csrf: str, next_url: str, action: Any, done: Any) -> Response:
    """Run a form action: CSRF and role first, then the service; errors come back as a notice."""
    check_csrf(request, csrf)
    target = _safe_next(next_url.replace("\x00", ""))
    if not who.role.allows(needed):
        return _back(target, error=f"This needs the {needed.value} role.")
    try:
        action()
    except (ConflictError, NotFoundError) as exc:
        return _back(target, error=str(exc))
    except InvalidError as exc:
        return _back(target, error=f"{exc.field}: {exc}")
    return _back(target, notice=done() if callable(done) else done)


# ---------------------------------------------------------------------- sign-in


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(alias="next")] = "/") -> Response:
    cookie, nonce = signer_of(request).login_nonce()
    response = render(request, "login.html", None, login_csrf=nonce, next_url=_safe_next(next))
    response.set_cookie(LOGIN_COOKIE, cookie, max_age=3600, httponly=True, samesite="lax", secure=signer_of(request).secure)
    return response


@router.post("/login")
def login(
    request: Request,
    services: Svc,
    username: Annotated[str, Form(max_length=100), AfterValidator(_no_nul)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    signer = signer_of(request)
    target = _safe_next(next_url)

    def again(message: str, status: int) -> Response:
        cookie, nonce = signer.login_nonce()
        response = render(request, "login.html", None, status, login_csrf=nonce, next_url=target, error=message)
        response.set_cookie(LOGIN_COOKIE, cookie, max_age=3600, httponly=True, samesite="lax", secure=signer.secure)
        return response

    if not signer.check_login_nonce(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return again("The sign-in form expired. Please try again.", 403)
    limiter = request.app.state.limiter
    # The peer's address; behind a proxy listed in api.trusted_proxies, the forwarded one.
    client = request.client.host if request.client else "unknown"
    keys = limiter.keys(username, client)
    now = services.now()
    wait = limiter.retry_after(keys, now)
    if wait:
        response = again(f"Too many sign-in attempts. Try again in {wait} seconds.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    # argon2 costs 64 MiB per check: a burst of sign-ins waits for a slot rather than exhausting memory.
    if not limiter.hashing.acquire(timeout=limiter.hash_wait):
        response = again("Many people are signing in at once. Try again in a few seconds.", 503)
        response.headers["Retry-After"] = "5"
        return response
    try:
        principal = services.authenticate(username, password)
    finally:
        limiter.hashing.release()
    if principal is None:
        limiter.failed(keys, now)
        return again("Wrong username or password.", 401)
    limiter.succeeded(keys[:1])
    # A fresh cookie and CSRF token on every sign-in: a cookie planted before it is worthless.
    version = services.session_version(principal.username) or 0
    value, _ = signer.dump(principal.username, version=version, now=now.timestamp())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax", secure=signer.secure, path="/"
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, services: Svc, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    check_csrf(request, csrf_token)
    session = session_of(request)
    if session is not None:  # every copy of this cookie, and the user's other sessions, end now
        services.end_sessions(session.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=signer_of(request).secure, httponly=True, samesite="lax")
    return response


# ---------------------------------------------------------------------- the queue


def _queue_context(services: Services, team: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
    try:
        view = services.queue(team=team or None, cursor=cursor or None, limit=limit)
    except InvalidError:
        view = services.queue(team=team or None, cursor=None, limit=limit)
    return {"queue": view, "team": team or "", "limit": limit, "cursor": cursor or ""}


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    who: Who,
    services: Svc,
    team: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return render(request, "queue.html", who, **_queue_context(services, team, cursor, limit), **_people(services))


@router.get("/queue/live", response_class=HTMLResponse)
def queue_fragment(
    request: Request,
    who: Who,
    services: Svc,
    team: Annotated[str, Query(max_length=100)] = "",
    cursor: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The queue's live part, re-fetched by the page when an alert changes."""
    return render(request, "_queue_live.html", who, **_queue_context(services, team, cursor, limit), **_people(services))


# ---------------------------------------------------------------------- alerts


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: int, who: Who, services: Svc) -> Response:
    try:
        alert = services.get_alert(alert_id)
    except NotFoundError as exc:
        return render(request, "missing.html", who, 404, what=str(exc))
    people = _people(services)
    names = people["names"]
    events = [_worded(e, names) for e in services.alert_events(alert_id)]
    return render(request, "alert.html", who, alert=alert, events=events, context=services.alert_context(alert), **people)


def _worded(event: AlertEventView, names: dict[str, str]) -> AlertEventView:
    """The event's text with people's display names: 'Assigned to Pat Pharmacist by Demo coordinator'."""
    details = dict(event.details)
    if details.get("assignee"):
        details["assignee"] = names.get(details["assignee"], details["assignee"])
    return replace(event, text=event_text(event.kind, names.get(event.actor, event.actor), details))


Csrf = Annotated[str, Form(alias=CSRF_FIELD)]
Next = Annotated[str, Form(alias="next"), AfterValidator(_no_nul)]
Comment = Annotated[str, Form(max_length=2000), AfterValidator(_no_nul)]


@router.post("/alerts/{alert_id}/ack")
def ack_form(request: Request, alert_id: int, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/", comment: Comment = "") -> Response:
    return _act(
        request, who, Role.STAFF, csrf_token, next_url,
        lambda: services.acknowledge(alert_id, actor=who.username, comment=comment.strip()),
        lambda: _done(services, alert_id, "Acknowledged {alert}"),
    )


@router.post("/alerts/{alert_id}/unack")
def unack_form(request: Request, alert_id: int, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/", comment: Comment = "") -> Response:
    return _act(
        request, who, Role.STAFF, csrf_token, next_url,
        lambda: services.unacknowledge(alert_id, actor=who.username, comment=comment.strip()),
        lambda: _done(services, alert_id, "Acknowledgement withdrawn on {alert}"),
    )


@router.post("/alerts/{alert_id}/resolve")
def resolve_form(
    request: Request, alert_id: int, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/",
    comment: Comment = "", reason: Annotated[str, Form(max_length=30), AfterValidator(_no_nul)] = "",
    actions: Annotated[list[str], Form(max_length=5)] = [],  # noqa: B006 - the cold-chain questions
    stock_affected: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    answers: dict[str, Any] = {"actions": actions, "stock_affected": stock_affected} if actions or stock_affected else {}
    return _act(
        request, who, Role.STAFF, csrf_token, next_url,
        lambda: services.resolve(alert_id, actor=who.username, reason=reason, comment=comment.strip(), **answers),
        lambda: _done(services, alert_id, "Resolved {alert}"),
    )


@router.post("/alerts/{alert_id}/assign")
def assign_form(
    request: Request, alert_id: int, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/",
    comment: Comment = "", assignee: Annotated[str, Form(max_length=100), AfterValidator(_no_nul)] = "",
) -> Response:
    return _act(
        request, who, Role.COORDINATOR, csrf_token, next_url,
        lambda: services.assign(alert_id, actor=who.username, assignee=assignee.strip(), comment=comment.strip()),
        lambda: _done(services, alert_id, "Assigned {alert} to " + _names(services).get(assignee.strip(), assignee.strip())
                      if assignee.strip() else "Unassigned {alert}"),
    )


@router.post("/alerts/{alert_id}/comment")
def comment_form(request: Request, alert_id: int, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/", comment: Comment = "") -> Response:
    return _act(
        request, who, Role.STAFF, csrf_token, next_url,
        lambda: services.comment(alert_id, actor=who.username, text=comment.strip()),
        lambda: _done(services, alert_id, "Comment added to {alert}"),
    )


# ---------------------------------------------------------------------- equipment


@router.get("/equipment", response_class=HTMLResponse)
def equipment_page(request: Request, who: Who, services: Svc, kind: Annotated[str, Query(max_length=40)] = "") -> Response:
    items = services.list_equipment(location=None, kind=kind or None, team=None)
    return render(request, "equipment.html", who, items=items, kind=kind)


@router.get("/equipment/{equipment_id}", response_class=HTMLResponse)
def equipment_detail(
    request: Request, equipment_id: str, who: Who, services: Svc, span: Annotated[str, Query(max_length=4)] = "24h"
) -> Response:
    try:
        item = services.get_equipment(equipment_id)
    except NotFoundError as exc:
        return render(request, "missing.html", who, 404, what=str(exc))
    return render(request, "equipment_detail.html", who, item=item, chart=chart_section(request, equipment_id, span), **_people(services))


@router.get("/unknown-sources", response_class=HTMLResponse)
def unknown_sources_page(request: Request, who: Who, services: Svc) -> Response:
    if not who.role.allows(Role.COORDINATOR):
        return render(request, "missing.html", who, 403, what="This page needs the coordinator role.")
    return render(request, "unknown_sources.html", who, items=services.list_unknown_sources(limit=500))


# ---------------------------------------------------------------------- supplies and restock


@router.get("/supplies", response_class=HTMLResponse)
def supplies_page(
    request: Request, who: Who, services: Svc, low: Annotated[bool, Query()] = False,
    location: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    items = services.list_supplies(location=location or None, low_only=low)
    items.sort(key=lambda i: 0 if _stock_label(i) == "OUT" else 1 if _stock_label(i) else 2)  # stable: out, low, rest
    locations = sorted({getattr(i, "location", "") for i in items if getattr(i, "location", "")})
    return render(
        request, "supplies.html", who, items=items, low=low, location=location, locations=locations, label=_stock_label
    )


def _stock_label(item: Any) -> str:
    on_hand = getattr(item, "on_hand", None)
    if on_hand is not None and on_hand <= 0:
        return "OUT"
    return "LOW" if getattr(item, "is_low", False) else ""


@router.post("/supplies/{sku}/count")
def count_form(
    request: Request, sku: str, who: Who, services: Svc, csrf_token: Csrf = "", next_url: Next = "/supplies",
    count: Annotated[str, Form(max_length=20)] = "", comment: Comment = "",
) -> Response:
    def record() -> None:
        try:
            value = float(count)
        except ValueError:
            raise InvalidError("count", "enter how many are on the shelf, as a number") from None
        if value < 0 or value != value or value > 1_000_000:
            raise InvalidError("count", "enter a count between 0 and 1,000,000")
        services.record_count(sku, count=value, actor=who.username, comment=comment.strip())

    return _act(request, who, Role.STAFF, csrf_token, next_url or "/supplies", record, f"Count recorded for {sku}.")


@router.get("/restock", response_class=HTMLResponse)
def restock_page(request: Request, who: Who, services: Svc) -> Response:
    lines = services.restock_list()
    vendors: dict[str, list[Any]] = {}
    for line in lines:
        vendors.setdefault(getattr(line, "vendor", "") or "No vendor", []).append(line)
    reports = services.list_restock_reports()
    return render(request, "restock.html", who, vendors=vendors, lines=lines, reports=reports[:10])


@router.get("/restock.csv")
def restock_csv(request: Request, who: Who, services: Svc) -> Response:
    body = services.restock_csv(services.restock_list())
    stamp = services.now().strftime("%Y-%m-%d")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="restock-{stamp}.csv"'},
    )

