"""Reading history of one piece of equipment: downsampled readings and the evidence file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.history_port import history_of
from api.jsonio import respond
from api.schemas import error_responses
from rules.history_views import ReadingSeries
from rules.views import Principal, Role

router = APIRouter(tags=["equipment"])
viewer = Depends(require(Role.VIEWER))
EquipmentId = Annotated[str, Path(max_length=100, examples=["fridge-2"])]
From = Annotated[datetime | None, Query(alias="from", description="ISO 8601; without a zone, UTC. Default: `to` minus 24 hours (30 days for evidence).")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601; without a zone, UTC. Default: now.")]
SERIES_EXAMPLE = {
    "equipment_id": "fridge-2", "metric": "temperature_c", "unit": "°C",
    "start": "2026-11-25T09:00:00Z", "end": "2026-11-26T09:00:00Z", "step_seconds": 300,
    "points": [{"t": "2026-11-25T09:00:00Z", "min": 4.1, "max": 4.6, "mean": 4.32, "count": 5}],
}
SERIES_OK = {
    "description": "JSON, or CSV when the request sends `Accept: text/csv`.",
    "content": {
        "application/json": {"example": SERIES_EXAMPLE},
        "text/csv": {"example": "time_utc,min,max,mean,count,unit\n2026-11-25T09:00:00+00:00,4.1,4.6,4.320,5,°C\n"},
    },
}
EVIDENCE_OK = {
    "description": "The PDF report, or with `Accept: text/csv` (or format=csv) every reading.",
    "content": {
        "application/pdf": {"example": "%PDF-1.3 ..."},
        "text/csv": {"example": "time_utc,time_UTC,temperature_c,unit,in_range\n2026-11-25T09:00:00+00:00,2026-11-25T09:00:00+00:00,4.3,°C,yes\n"},
    },
}


def _period(request: Request, start: datetime | None, end: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    def aware(ts: datetime) -> datetime:
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)

    end_at = aware(end) if end else request.app.state.services.now()
    return (aware(start) if start else end_at - default), end_at


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/equipment/{equipment_id}/readings",
    response_model=ReadingSeries,
    responses={200: SERIES_OK, **error_responses(401, 404, 422)},
    summary="Readings of one metric, downsampled in the database: min, max and mean per step",
)
def readings(
    request: Request,
    equipment_id: EquipmentId,
    metric: Annotated[str | None, Query(max_length=120, description="Default: temperature_c, else its first numeric metric.")] = None,
    start: From = None,
    end: To = None,
    step: Annotated[int | None, Query(ge=1, le=31 * 86400, description="Seconds per point. Default: at most 500 points.")] = None,
    _: Principal = viewer,
) -> Response:
    begin, finish = _period(request, start, end, timedelta(hours=24))
    series = history_of(request).readings(equipment_id, metric=metric, start=begin, end=finish, step=step)
    if not _wants_csv(request):
        return respond(ReadingSeries, series)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time_utc", "min", "max", "mean", "count", "unit"])
    for p in series.points:
        writer.writerow([p.t.isoformat(), f"{p.min:g}", f"{p.max:g}", f"{p.mean:.3f}", p.count, series.unit])
    return _file(out.getvalue().encode(), "text/csv; charset=utf-8", f"{equipment_id}-{series.metric}.csv")


@router.get(
    "/equipment/{equipment_id}/evidence",
    responses={200: EVIDENCE_OK, **error_responses(401, 404, 422)},
    summary="The cold-chain evidence file for a period: PDF report, or CSV of readings with Accept: text/csv",
)
def evidence(
    request: Request,
    equipment_id: EquipmentId,
    start: From = None,
    end: To = None,
    format: Annotated[str | None, Query(pattern="^(pdf|csv)$", description="Instead of the Accept header (for links).")] = None,
    _: Principal = viewer,
) -> Response:
    begin, finish = _period(request, start, end, timedelta(days=30))
    history = history_of(request)
    name = f"{equipment_id}-{begin:%Y%m%d}-{finish:%Y%m%d}"
    if format == "csv" or (format is None and _wants_csv(request)):
        text = history.evidence_csv(equipment_id, start=begin, end=finish)
        return _file(text.encode(), "text/csv; charset=utf-8", f"{name}.csv")
    return _file(history.evidence_pdf(equipment_id, start=begin, end=finish), "application/pdf", f"{name}.pdf")


def _file(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
