"""The supply's own page: what was on hand over time (with reorder point, PAR and unexpected drops),
where daily use and days of supply come from, and the latest counts with who or what made them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.charts import Marker, Point, RefLine, render_svg
from api.pages import Svc, Who, render
from api.ports import NotFoundError
from rules.stock_history import UNEXPECTED_DROP, StockRecordView
from rules.units import quantity

router = APIRouter(include_in_schema=False)


def on_hand_points(records: Sequence[StockRecordView], *, until: datetime) -> list[Point]:
    """On hand as steps: it holds its value until the next count, then moves at once."""
    points: list[Point] = []
    for r in sorted(records, key=lambda r: (r.at, r.id)):
        if points and points[-1].value != r.after:
            points.append(Point(r.at, points[-1].value))
        points.append(Point(r.at, r.after))
    if points and until > points[-1].t:
        points.append(Point(until, points[-1].value))
    return points


def supply_chart(history: Any, tz: ZoneInfo) -> str:
    level = history.level
    drops = [
        Marker(r.at, f"{quantity(-(r.change or 0.0), level.unit)} went at once", r.after)
        for r in history.chart_records
        if r.classification == UNEXPECTED_DROP
    ]
    return render_svg(
        on_hand_points(history.chart_records, until=history.until),
        unit=level.unit,
        tz=tz,
        start=history.since,
        end=history.until,
        lines=[
            RefLine(level.reorder_point, f"Reorder point {quantity(level.reorder_point, level.unit)}"),
            RefLine(level.par, f"PAR {quantity(level.par, level.unit)}"),
        ],
        markers=drops,
        title=f"{level.name}: on hand over the last {(history.until - history.since).days} days",
    )


@router.get("/supplies/{sku}", response_class=HTMLResponse)
def supply_page(request: Request, sku: str, who: Who, services: Svc) -> Response:
    try:
        history = services.supply_history(sku)
    except NotFoundError as exc:
        return render(request, "missing.html", who, 404, what=str(exc))
    chart = Markup(supply_chart(history, ZoneInfo(request.app.state.timezone)))  # noqa: S704 - built with escape()
    return render(request, "supply_detail.html", who, h=history, item=history.level, chart=chart, quantity=quantity)


@router.get("/supplies/{sku}/counts.csv")
def supply_counts_csv(request: Request, sku: str, who: Who, services: Svc) -> Response:
    try:
        body = services.supply_counts_csv(sku, start=None, end=None)
    except NotFoundError as exc:
        return render(request, "missing.html", who, 404, what=str(exc))
    return Response(
        body, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="counts-{sku}.csv"'},
    )
