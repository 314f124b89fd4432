"""Request bodies and the error shape, with examples for the OpenAPI document.

Responses are the plain dataclasses of rules.views; FastAPI documents them from their fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HUMAN_RESOLVE_REASONS = ("fixed", "restocked", "false_alarm", "sensor_fault", "other")
ROLES = ("viewer", "staff", "coordinator", "admin")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text can't hold NUL; refuse it here with the field's name, not a 500 later.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class AckBody(Body):
    comment: str = Field("", max_length=2000, description="Optional note for the history.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"comment": "On my way to pharmacy"}]})


class ResolveBody(Body):
    reason: Literal["fixed", "restocked", "false_alarm", "sensor_fault", "other"] = Field(
        description="Why it is over. 'other' needs a comment."
    )
    comment: str = Field("", max_length=2000)
    actions: list[
        Literal["moved_stock", "quarantined_stock", "called_manufacturer", "adjusted_thermostat", "other"]
    ] = Field([], max_length=5, description="Cold chain: what was done about the stock and the unit.")
    stock_affected: Literal["yes", "no", "unknown"] | None = Field(None, description="Cold chain: was stock affected?")

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "fixed", "comment": "Door was ajar; closed it"}]}
    )


class AssignBody(Body):
    assignee: str = Field(max_length=100, description="A team or a person; empty to unassign.")
    comment: str = Field("", max_length=2000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"assignee": "biomed", "comment": ""}]})


class CommentBody(Body):
    text: str = Field(min_length=1, max_length=2000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "Called the vendor, ETA 2 pm"}]})


class CountBody(Body):
    count: float = Field(ge=0, le=1_000_000, description="How many are on the shelf now.")
    comment: str = Field("", max_length=2000)
    at: datetime | None = Field(
        None, description="When it was counted, for counts copied from a paper sheet (with a time zone; "
        "no further back than the configured api.count_backfill, 30 days by default). Default: now.",
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"count": 42, "comment": "cycle count"}]})


class SupplySettingsBody(Body):
    par: float | None = Field(None, ge=0, le=1_000_000)
    reorder_point: float | None = Field(None, ge=0, le=1_000_000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"par": 200, "reorder_point": 80}]})


class SilenceBody(Body):
    equipment_id: str | None = Field(None, max_length=100)
    rule_id: str | None = Field(None, max_length=150)
    team: str | None = Field(None, max_length=100)
    starts_at: datetime | None = Field(None, description="Default: now. With a time zone.")
    ends_at: datetime | None = Field(None, description="With a time zone. Give this or duration_minutes.")
    duration_minutes: int | None = Field(None, ge=1, le=43_200)
    comment: str = Field(min_length=1, max_length=2000)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"equipment_id": "fridge-2", "duration_minutes": 90, "comment": "Defrost; back by 14:00"},
            ]
        },
    )


class PasswordBody(Body):
    password: str = Field(min_length=10, max_length=1000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"password": "a new long passphrase"}]})


class UserBody(Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=1000)
    role: Literal["viewer", "staff", "coordinator", "admin"]
    display_name: str = Field("", max_length=200)
    team: str = Field("", max_length=100)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "sam", "password": "correct horse battery", "role": "staff", "team": "facilities"}]
        },
    )


class TokenBody(Body):
    username: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100, description="What uses the token.")
    role: Literal["viewer", "staff", "coordinator", "admin"] | None = None

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "sam", "name": "ward tablet", "role": "staff"}]}
    )


class Error(BaseModel):
    detail: str = Field(description="What went wrong, in plain words.")
    field: str | None = Field(None, description="The request field at fault (422).")

    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": "alert 12 not found", "field": None}]})


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "checks": {"database": "ok"}}]})


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    words = {
        401: "Not signed in, or the API token is not valid.",
        403: "Your role does not allow this (or the CSRF token is missing).",
        404: "Not found.",
        409: "Conflicts with the current state (e.g. already resolved).",
        422: "A field's value is not acceptable; `field` names it.",
        429: "Too many at once (live streams per user or token, or in all); see Retry-After.",
    }
    return {code: {"model": Error, "description": words[code]} for code in codes}
