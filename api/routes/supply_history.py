"""A supply's stock records: every count, who or what made it, and how it was classified."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.auth import require, services_dependency
from api.ports import Services
from api.schemas import error_responses
from rules.stock_history import StockHistoryPage
from rules.views import Principal, Role

router = APIRouter(tags=["supplies"])
Svc = Annotated[Services, Depends(services_dependency)]
viewer = Depends(require(Role.VIEWER))
Sku = Annotated[str, Path(max_length=100, examples=["GLV-NIT-M"])]

RECORD_EXAMPLE = {
    "id": 812, "sku": "GLV-NIT-M", "at": "2026-03-02T09:15:00Z", "source": "mqtt",
    "topic": "facility/riverside/supplies/GLV-NIT-M/weight_g", "device": None, "person": None, "person_name": None,
    "before": 40.0, "after": 18.0, "change": -22.0, "classification": "unexpected_drop", "comment": "",
}
CSV_EXAMPLE = (
    "at,sku,source,topic,device,person,person_name,before,after,change,classification,comment\r\n"
    "2026-03-02T09:15:00+00:00,GLV-NIT-M,person,,,amira,Amira Haddad,18,40,22,restock,delivery\r\n"
)


@router.get(
    "/supplies/{sku}/counts",
    response_model=StockHistoryPage,
    responses={
        200: {
            "description": "Stock records newest first; as CSV (every record in the range) with `Accept: text/csv`.",
            "content": {
                "application/json": {"example": {"items": [RECORD_EXAMPLE], "next_cursor": None}},
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
            },
        },
        **error_responses(401, 404, 422),
    },
    summary="Every count of a supply: when, from which shelf, scale or person, and what changed",
)
def list_counts(
    request: Request,
    sku: Sku,
    services: Svc,
    start: Annotated[datetime | None, Query(alias="from", description="From this time (inclusive), with a time zone.")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Up to this time (exclusive), with a time zone.")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the page before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = viewer,
) -> Response | StockHistoryPage:
    if "text/csv" in request.headers.get("accept", ""):
        body = services.supply_counts_csv(sku, start=start, end=end)
        return Response(
            body, media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="counts-{sku}.csv"'},
        )
    page: StockHistoryPage = services.list_supply_counts(sku, start=start, end=end, cursor=cursor, limit=limit)
    return page
