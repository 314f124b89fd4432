"""Unknown sources: what publishes under the site without being configured (coordinator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import examples as ex
from api.auth import require, services_dependency
from api.ports import Services
from api.schemas import error_responses
from rules.views import Principal, Role, UnknownSourceView

router = APIRouter(tags=["unknown sources"])
Svc = Annotated[Services, Depends(services_dependency)]
coordinator = Depends(require(Role.COORDINATOR))


@router.get(
    "/unknown-sources",
    response_model=list[UnknownSourceView],
    responses={**ex.ok([ex.UNKNOWN_SOURCE]), **error_responses(401, 403, 422)},
    summary="Topics or hosts that publish but match no configured equipment or supply, most recent first",
)
def list_unknown_sources(
    services: Svc,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, most recently seen first.")] = 200,
    _: Principal = coordinator,
) -> list[UnknownSourceView]:
    return services.list_unknown_sources(limit=limit)
