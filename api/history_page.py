"""The chart section of the equipment page: 24 h, 7 d or 30 d, drawn on the server."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from markupsafe import Markup

from api.equipment_chart import render_equipment_chart
from api.history_port import EquipmentHistory
from api.ports import NotFoundError

SPANS = {"24h": "24 h", "7d": "7 d", "30d": "30 d"}
_LENGTH = {"24h": 1, "7d": 7, "30d": 30}


def chart_section(request: Request, equipment_id: str, span: str) -> dict[str, Any] | None:
    """What equipment_detail.html shows under "History"; None when there is nothing to draw."""
    from datetime import timedelta

    history: EquipmentHistory | None = getattr(request.app.state, "history", None)
    if history is None:
        return None
    span = span if span in SPANS else "24h"
    end = request.app.state.services.now()
    start = end - timedelta(days=_LENGTH[span])
    try:
        data = history.chart(equipment_id, start=start, end=end)
    except NotFoundError:
        return None
    if data is None:
        return None
    svg = render_equipment_chart(data, ZoneInfo(history.timezone), title=f"{data.series.metric}, last {SPANS[span]}")
    return {
        "svg": Markup(svg),  # built by api.charts, which escapes every text it draws
        "span": span,
        "spans": SPANS,
        "data": data,
        "evidence_from": (end - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
