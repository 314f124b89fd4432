"""Silences (coordinator) and accounts (admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.exceptions import RequestValidationError

from api import examples as ex
from api.auth import require, services_dependency
from api.ports import Services
from api.schemas import PasswordBody, SilenceBody, TokenBody, UserBody, error_responses
from rules.views import NewToken, Principal, Role, SilenceView, TokenView, UserView

router = APIRouter()
Svc = Annotated[Services, Depends(services_dependency)]
viewer = Depends(require(Role.VIEWER))
coordinator = Depends(require(Role.COORDINATOR))
admin = Depends(require(Role.ADMIN))
Id = Annotated[int, Path(ge=1, le=2**53)]


def _links(**targets: tuple[str, str, str]) -> dict[str, dict[str, object]]:
    """OpenAPI links: what a response's fields can be passed to (clients and stateful tests follow them)."""
    return {
        name: {"operationId": operation, "parameters": {parameter: f"$response.body#{pointer}"}}
        for name, (operation, parameter, pointer) in targets.items()
    }


SILENCE_LINKS = _links(EndSilence=("end_silence_api_v1_silences__silence_id__delete", "silence_id", "/id"))
USER_LINKS = _links(
    DisableUser=("disable_user_api_v1_users__username__disable_post", "username", "/username"),
    EnableUser=("enable_user_api_v1_users__username__enable_post", "username", "/username"),
    SetPassword=("set_password_api_v1_users__username__password_put", "username", "/username"),
)
TOKEN_LINKS = _links(RevokeToken=("revoke_token_api_v1_tokens__token_id__delete", "token_id", "/token/id"))


def _with_links(responses: dict[int | str, dict[str, object]], code: int, links: dict[str, object]) -> dict[int | str, dict[str, object]]:
    return {**responses, code: {**responses[code], "links": links}}


def _field_error(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


@router.post(
    "/silences",
    response_model=SilenceView,
    status_code=201,
    tags=["silences"],
    responses=_with_links({**ex.ok(ex.SILENCE, 201), **error_responses(401, 403, 404, 422)}, 201, SILENCE_LINKS),
    summary="Silence notifications for equipment, a rule or a team for a while",
)
def create_silence(body: SilenceBody, services: Svc, who: Principal = coordinator) -> SilenceView:
    if (body.ends_at is None) == (body.duration_minutes is None):
        raise _field_error("ends_at", "give either ends_at or duration_minutes")
    for name in ("starts_at", "ends_at"):
        value = getattr(body, name)
        if value is not None and value.tzinfo is None:
            raise _field_error(name, "give the time with a time zone, e.g. 2026-11-27T14:00:00Z")
    ends_at = body.ends_at
    if ends_at is None:
        start = body.starts_at or services.now()
        ends_at = start + timedelta(minutes=body.duration_minutes or 0)
    return services.create_silence(
        actor=who.username,
        comment=body.comment,
        ends_at=ends_at,
        starts_at=body.starts_at,
        equipment_id=body.equipment_id,
        rule_id=body.rule_id,
        team=body.team,
    )


@router.get(
    "/silences", response_model=list[SilenceView], tags=["silences"], responses={**ex.ok([ex.SILENCE]), **error_responses(401)}
)
def list_silences(services: Svc, _: Principal = viewer) -> list[SilenceView]:
    return services.list_silences()


@router.delete(
    "/silences/{silence_id}",
    response_model=SilenceView,
    tags=["silences"],
    responses={**ex.ok(ex.SILENCE), **error_responses(401, 403, 404, 422)},
    summary="End a silence now",
)
def end_silence(silence_id: Id, services: Svc, who: Principal = coordinator) -> SilenceView:
    return services.end_silence(silence_id, actor=who.username)


@router.get("/me", response_model=Principal, tags=["accounts"], responses={**ex.ok(ex.PRINCIPAL), **error_responses(401)})
def me(who: Principal = viewer) -> Principal:
    return who


@router.get(
    "/users", response_model=list[UserView], tags=["accounts"], responses={**ex.ok([ex.USER]), **error_responses(401, 403)}
)
def list_users(services: Svc, _: Principal = admin) -> list[UserView]:
    return services.list_users()


@router.post(
    "/users",
    response_model=UserView,
    status_code=201,
    tags=["accounts"],
    responses=_with_links({**ex.ok(ex.USER, 201), **error_responses(401, 403, 409, 422)}, 201, USER_LINKS),
)
def add_user(body: UserBody, services: Svc, _: Principal = admin) -> UserView:
    return services.add_user(
        username=body.username, password=body.password, role=body.role, display_name=body.display_name, team=body.team
    )


Username = Annotated[str, Path(min_length=1, max_length=100)]


@router.post(
    "/users/{username}/disable",
    response_model=UserView,
    tags=["accounts"],
    responses={**ex.ok({**ex.USER, "disabled": True}), **error_responses(401, 403, 404, 422)},
    summary="Disable an account: its sessions and tokens stop working at once",
)
def disable_user(username: Username, services: Svc, who: Principal = admin) -> UserView:
    if username.lower() == who.username.lower():
        raise _field_error("username", "you can't disable your own account; ask another admin")
    return services.set_disabled(username=username, disabled=True)


@router.post(
    "/users/{username}/enable",
    response_model=UserView,
    tags=["accounts"],
    responses={**ex.ok(ex.USER), **error_responses(401, 403, 404, 422)},
    summary="Enable a disabled account (its tokens work again; sessions need a new sign-in)",
)
def enable_user(username: Username, services: Svc, _: Principal = admin) -> UserView:
    return services.set_disabled(username=username, disabled=False)


@router.put(
    "/users/{username}/password",
    response_model=UserView,
    tags=["accounts"],
    responses={**ex.ok(ex.USER), **error_responses(401, 403, 404, 422)},
    summary="Set a user's password; the user's sessions end",
)
def set_password(username: Username, body: PasswordBody, services: Svc, _: Principal = admin) -> UserView:
    return services.set_password(username=username, password=body.password)


@router.get(
    "/tokens", response_model=list[TokenView], tags=["accounts"], responses={**ex.ok([ex.TOKEN]), **error_responses(401, 403)}
)
def list_tokens(services: Svc, _: Principal = admin) -> list[TokenView]:
    return services.list_tokens(username=None)


@router.post(
    "/tokens",
    response_model=NewToken,
    status_code=201,
    tags=["accounts"],
    responses=_with_links(
        {
            **ex.ok({"token": ex.TOKEN, "secret": "fa_9b70dd9a_YoxZunEqipKKrpyaVm3bSerUFS7MKMMMpIzzGqJHksU"}, 201),
            **error_responses(401, 403, 404, 422),
        },
        201,
        TOKEN_LINKS,
    ),
    summary="Create an API token; the secret is in this response only",
)
def create_token(body: TokenBody, services: Svc, _: Principal = admin) -> NewToken:
    return services.create_token(username=body.username, name=body.name, role=body.role)


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenView,
    tags=["accounts"],
    responses={**ex.ok({**ex.TOKEN, "revoked_at": "2026-11-27T08:00:00Z"}), **error_responses(401, 403, 404, 422)},
)
def revoke_token(token_id: Id, services: Svc, _: Principal = admin) -> TokenView:
    return services.revoke_token(token_id)
