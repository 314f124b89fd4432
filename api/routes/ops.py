"""Health, readiness and metrics, at the root (no /api/v1 prefix, no sign-in: for probes and Prometheus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from api.auth import services_dependency
from api.ports import Services
from api.schemas import Health

router = APIRouter(tags=["operations"])
Svc = Annotated[Services, Depends(services_dependency)]


@router.get(
    "/healthz",
    response_model=Health,
    responses={200: {"content": {"application/json": {"example": {"status": "ok", "checks": {}}}}}},
    summary="The process is alive",
)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={
        200: {"content": {"application/json": {"example": {"status": "ok", "checks": {"database": "ok", "schema": "ok", "pipeline": "ok"}}}}},
        503: {
            "model": Health,
            "description": "Not ready; `checks` says what is missing.",
            "content": {"application/json": {"example": {"status": "not ready", "checks": {"database": "ok", "schema": "ok", "pipeline": "not running"}}}},
        },
    },
    summary="Ready to serve: database reachable and schema current, pipeline running",
)
def readyz(services: Svc) -> Response:
    ready, checks = services.ready()
    body = Health(status="ok" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}, "example": "facility_up 1.0\n"}}}},
    summary="Prometheus metrics",
)
def metrics(services: Svc) -> Response:
    body, content_type = services.metrics()
    return Response(body, media_type=content_type)
