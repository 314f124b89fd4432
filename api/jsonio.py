"""JSON responses straight from the rules.views dataclasses through pydantic-core.

FastAPI would turn a dataclass into a dict (dataclasses.asdict), validate it back into the
dataclass and then serialize it: on a page of 50 alerts that costs as much as the database
work. Routes keep ``response_model`` for the OpenAPI document and return these bytes instead.
When the services hand back the very same (immutable) value again — a reused queue page — the
bytes from last time are sent again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter


class _Encoder:
    def __init__(self, kind: Any) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(kind)
        self._last: tuple[Any, bytes] = (None, b"")

    def encode(self, value: Any) -> bytes:
        last_value, data = self._last  # one tuple read: safe across threads
        if value is not None and value is last_value:  # held here, so its id can't be reused
            return data
        data = self._adapter.dump_json(value)
        self._last = (value, data)
        return data


@lru_cache(maxsize=64)
def _encoder(kind: Any) -> _Encoder:
    return _Encoder(kind)


def respond(kind: Any, value: Any, status_code: int = 200) -> Response:
    return Response(_encoder(kind).encode(value), status_code=status_code, media_type="application/json")
