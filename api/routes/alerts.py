"""Alerts and the coordinator's queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api import examples as ex
from api.auth import require, services_dependency
from api.jsonio import respond
from api.ports import Services
from api.schemas import AckBody, AssignBody, CommentBody, ResolveBody, error_responses
from rules.views import AlertEventView, AlertPage, AlertView, Principal, QueueView, Role

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**53, description="The alert's id.", examples=[12])]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=500, description="From the previous page's next_cursor.")]
StateFilter = Annotated[
    str | None,
    Query(
        pattern="^(pending|open|acknowledged|resolved|active)$",
        description="pending, open, acknowledged, resolved, or active (any but resolved).",
    ),
]
SeverityFilter = Annotated[str | None, Query(pattern="^(info|warning|critical)$")]

viewer = Depends(require(Role.VIEWER))
staff = Depends(require(Role.STAFF))
coordinator = Depends(require(Role.COORDINATOR))
Svc = Annotated[Services, Depends(services_dependency)]


@router.get(
    "/alerts",
    response_model=AlertPage,
    responses={**ex.ok({"items": [ex.ALERT], "next_cursor": "WzEyXQ"}), **error_responses(401, 422)}, summary="List alerts, newest first")
async def list_alerts(
    services: Svc,
    state: StateFilter = None,
    severity: SeverityFilter = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    equipment: Annotated[str | None, Query(max_length=100, description="Equipment id.")] = None,
    sku: Annotated[str | None, Query(max_length=100, description="Supply SKU.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    _: Principal = viewer,
) -> Response:
    page = await services.list_alerts_async(
        state=state, severity=severity, team=team, equipment=equipment, sku=sku, cursor=cursor, limit=limit
    )
    return respond(AlertPage, page)


@router.get(
    "/queue",
    response_model=QueueView,
    responses={**ex.ok(ex.QUEUE), **error_responses(401, 422)},
    summary="The coordinator's queue: open alerts by severity and age, with low supplies",
)
async def get_queue(
    services: Svc,
    team: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    _: Principal = viewer,
) -> Response:
    return respond(QueueView, await services.queue_async(team=team, cursor=cursor, limit=limit))


@router.get("/alerts/{alert_id}", response_model=AlertView, responses={**ex.ok(ex.ALERT), **error_responses(401, 404, 422)})
def get_alert(alert_id: AlertId, services: Svc, _: Principal = viewer) -> Response:
    return respond(AlertView, services.get_alert(alert_id))


@router.get(
    "/alerts/{alert_id}/events",
    response_model=list[AlertEventView],
    responses={**ex.ok([ex.EVENT]), **error_responses(401, 404, 422)},
    summary="The alert's history, oldest first, a page at a time",
    description="Up to `limit` events with ids above `after`. A full page has a `Link: <...>; rel=\"next\"` header.",
)
def alert_events(
    alert_id: AlertId,
    services: Svc,
    _: Principal = viewer,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> Response:
    events = services.alert_events(alert_id, after=after, limit=limit)
    response = respond(list[AlertEventView], events)
    if len(events) == limit:
        response.headers["Link"] = f'</api/v1/alerts/{alert_id}/events?after={events[-1].id}&limit={limit}>; rel="next"'
    return response


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AlertView,
    responses={**ex.ok({**ex.ALERT, "status": "acknowledged", "acknowledged_by": "sam"}), **error_responses(401, 403, 404, 409, 422)},
    summary="Acknowledge: someone is on it",
)
def acknowledge(alert_id: AlertId, body: AckBody, services: Svc, who: Principal = staff) -> AlertView:
    return services.acknowledge(alert_id, actor=who.username, comment=body.comment)


@router.post(
    "/alerts/{alert_id}/unack", response_model=AlertView, responses={**ex.ok(ex.ALERT), **error_responses(401, 403, 404, 409, 422)}
)
def unacknowledge(alert_id: AlertId, body: AckBody, services: Svc, who: Principal = staff) -> AlertView:
    return services.unacknowledge(alert_id, actor=who.username, comment=body.comment)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertView,
    responses={
        **ex.ok({**ex.ALERT, "status": "resolved", "resolved_by": "sam", "resolve_reason": "fixed"}),
        **error_responses(401, 403, 404, 409, 422),
    },
    summary="Resolve with a reason; a second, simultaneous resolve gets 409",
)
def resolve(alert_id: AlertId, body: ResolveBody, services: Svc, who: Principal = staff) -> AlertView:
    return services.resolve(
        alert_id, actor=who.username, reason=body.reason, comment=body.comment,
        actions=body.actions, stock_affected=body.stock_affected,
    )


@router.post(
    "/alerts/{alert_id}/assign",
    response_model=AlertView,
    responses={**ex.ok({**ex.ALERT, "assignee": "biomed"}), **error_responses(401, 403, 404, 409, 422)},
)
def assign(alert_id: AlertId, body: AssignBody, services: Svc, who: Principal = coordinator) -> AlertView:
    return services.assign(alert_id, actor=who.username, assignee=body.assignee.strip(), comment=body.comment)


@router.post(
    "/alerts/{alert_id}/comments",
    response_model=AlertEventView,
    status_code=201,
    responses={**ex.ok({**ex.EVENT, "kind": "comment", "text": "Comment by sam"}, 201), **error_responses(401, 403, 404, 422)},
)
def add_comment(alert_id: AlertId, body: CommentBody, services: Svc, who: Principal = staff) -> AlertEventView:
    return services.comment(alert_id, actor=who.username, text=body.text)
