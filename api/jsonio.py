"""JSON responses straight from the rules.views dataclasses through pydantic-core.

FastAPI would turn a dataclass into a dict (dataclasses.asdict), validate it back into the
dataclass and then serialize it: on a page of 50 alerts that costs as much as the database
work. Routes keep ``response_model`` for the OpenAPI document and return these bytes instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter


@lru_cache(maxsize=64)
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def respond(kind: Any, value: Any, status_code: int = 200) -> Response:
    return Response(_adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")
