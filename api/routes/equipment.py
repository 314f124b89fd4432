"""The equipment board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api import examples as ex
from api.auth import require, services_dependency
from api.jsonio import respond
from api.ports import Services
from api.schemas import error_responses
from rules.views import EquipmentView, Principal, Role

router = APIRouter(tags=["equipment"])
Svc = Annotated[Services, Depends(services_dependency)]
viewer = Depends(require(Role.VIEWER))


@router.get(
    "/equipment",
    response_model=list[EquipmentView],
    responses={**ex.ok([ex.EQUIPMENT]), **error_responses(401, 422)},
    summary="Every piece of equipment with its state, when it was last seen and its key values",
)
def list_equipment(
    services: Svc,
    location: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=40, examples=["fridge"])] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    _: Principal = viewer,
) -> Response:
    return respond(list[EquipmentView], services.list_equipment(location=location, kind=kind, team=team))


@router.get(
    "/equipment/{equipment_id}",
    response_model=EquipmentView,
    responses={**ex.ok(ex.EQUIPMENT), **error_responses(401, 404, 422)},
    summary="One piece of equipment with its active and recent alerts",
)
def get_equipment(
    equipment_id: Annotated[str, Path(max_length=100, examples=["fridge-2"])],
    services: Svc,
    _: Principal = viewer,
) -> Response:
    return respond(EquipmentView, services.get_equipment(equipment_id))
