"""Supplies, counts, supply settings and the restock list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api import examples as ex
from api.auth import require, services_dependency
from api.ports import Services
from api.schemas import CountBody, SupplySettingsBody, error_responses
from rules.restock import RestockLine, RestockReportView, SupplyLevel
from rules.views import Principal, Role

router = APIRouter(tags=["supplies"])
Svc = Annotated[Services, Depends(services_dependency)]
viewer = Depends(require(Role.VIEWER))
staff = Depends(require(Role.STAFF))
coordinator = Depends(require(Role.COORDINATOR))
Sku = Annotated[str, Path(max_length=100, examples=["GLV-NIT-M"])]

CSV_EXAMPLE = (
    "vendor,location,sku,name,unit,on_hand,on_order,par,reorder_point,pack_size,quantity,days_of_supply,reason\n"
    "Medline,Central supply,GLV-NIT-M,Nitrile gloves M,box,4,0,20,8,10,20,2.0,at or below the reorder point\n"
)


@router.get("/supplies", response_model=list[SupplyLevel], responses={**ex.ok([ex.SUPPLY]), **error_responses(401, 422)})
def list_supplies(
    services: Svc,
    location: Annotated[str | None, Query(max_length=200)] = None,
    low_only: Annotated[bool, Query(description="Only items at or below their reorder point.")] = False,
    _: Principal = viewer,
) -> list[SupplyLevel]:
    return services.list_supplies(location=location, low_only=low_only)


@router.get("/supplies/{sku}", response_model=SupplyLevel, responses={**ex.ok(ex.SUPPLY), **error_responses(401, 404, 422)})
def get_supply(sku: Sku, services: Svc, _: Principal = viewer) -> SupplyLevel:
    level: SupplyLevel = services.get_supply(sku)
    return level


@router.post(
    "/supplies/{sku}/counts",
    response_model=SupplyLevel,
    status_code=201,
    responses={**ex.ok({**ex.SUPPLY, "on_hand": 42.0, "status": "ok"}, 201), **error_responses(401, 403, 404, 422)},
    summary="Record a count of what is on the shelf",
)
def record_count(sku: Sku, body: CountBody, services: Svc, who: Principal = staff) -> SupplyLevel:
    extra = {"at": body.at} if body.at is not None else {}
    level: SupplyLevel = services.record_count(sku, count=body.count, actor=who.username, comment=body.comment, **extra)
    return level


@router.patch(
    "/supplies/{sku}",
    response_model=SupplyLevel,
    responses={**ex.ok({**ex.SUPPLY, "par": 200.0, "reorder_point": 80.0}), **error_responses(401, 403, 404, 422)},
    summary="Change PAR and reorder point",
)
def update_supply(sku: Sku, body: SupplySettingsBody, services: Svc, who: Principal = coordinator) -> SupplyLevel:
    level: SupplyLevel = services.update_supply_settings(
        sku, actor=who.username, par=body.par, reorder_point=body.reorder_point
    )
    return level


@router.get(
    "/restock",
    response_model=list[RestockLine],
    responses={
        200: {
            "description": "The restock list as JSON, or as CSV with `Accept: text/csv`.",
            "content": {
                "application/json": {"example": [ex.RESTOCK_LINE]},
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
            },
        },
        **error_responses(401),
    },
    summary="What to order now, grouped by vendor and storeroom",
)
def restock(request: Request, services: Svc, _: Principal = viewer) -> Response | list[RestockLine]:
    lines: list[RestockLine] = services.restock_list()
    if "text/csv" in request.headers.get("accept", ""):
        return Response(services.restock_csv(lines), media_type="text/csv; charset=utf-8")
    return lines


@router.get(
    "/restock/reports",
    response_model=list[RestockReportView],
    responses={**ex.ok([ex.RESTOCK_REPORT]), **error_responses(401)},
    summary="Nightly restock reports and whether they were delivered",
)
def restock_reports(services: Svc, _: Principal = viewer) -> list[RestockReportView]:
    reports: list[RestockReportView] = services.list_restock_reports()
    return reports
