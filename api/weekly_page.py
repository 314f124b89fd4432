"""/reports/weekly: the coordinator's week, the same report as the Monday email, for any past week;
a stock suggestion applies in one click (the same change as PATCH /api/v1/supplies/{sku})."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import check_csrf
from api.pages import Csrf, Svc, Who, render
from api.ports import InvalidError, NotFoundError
from rules.views import Role

router = APIRouter(include_in_schema=False)
WEEK = re.compile(r"\d{4}-W\d{2}")
Week = Annotated[str, Query(max_length=10, pattern=r"^$|^\d{4}-W\d{2}$")]


def _refused(request: Request, who: object) -> Response:
    return render(request, "missing.html", who, 403, what="The weekly report needs the coordinator role.")  # type: ignore[arg-type]


@router.get("/reports/weekly", response_class=HTMLResponse)
def weekly_page(request: Request, who: Who, services: Svc, week: Week = "") -> Response:
    if not who.role.allows(Role.COORDINATOR):
        return _refused(request, who)
    try:
        report = services.weekly_report(week or None)
    except InvalidError as exc:
        return render(request, "missing.html", who, 422, what=f"{exc.field}: {exc}")
    except NotFoundError as exc:
        return render(request, "missing.html", who, 404, what=str(exc))
    return render(request, "weekly_report.html", who, r=report, s=report.summary)


@router.post("/reports/weekly/apply")
def apply_suggestion(
    request: Request, who: Who, services: Svc, csrf_token: Csrf = "",
    sku: Annotated[str, Form(max_length=100)] = "", week: Annotated[str, Form(max_length=10)] = "",
    par: Annotated[float, Form(ge=0, le=1_000_000)] = 0.0,
    reorder_point: Annotated[float, Form(ge=0, le=1_000_000)] = 0.0,
) -> Response:
    check_csrf(request, csrf_token)
    if not who.role.allows(Role.COORDINATOR):
        return _refused(request, who)
    keep = {"week": week} if WEEK.fullmatch(week) else {}
    try:
        services.update_supply_settings(sku, actor=who.username, par=par, reorder_point=reorder_point)
    except (InvalidError, NotFoundError) as exc:
        return RedirectResponse("/reports/weekly?" + urlencode({**keep, "error": str(exc)}), status_code=303)
    done = f"{sku}: PAR {par:g}, reorder point {reorder_point:g}, changed by {who.username}."
    return RedirectResponse("/reports/weekly?" + urlencode({**keep, "notice": done}), status_code=303)
