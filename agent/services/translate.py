"""Agent errors become the API's (api.ports): NotFound → 404, Conflict → 409, Invalid → 422."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from agent.services.errors import Conflict, Invalid, NotFound
from api.ports import ConflictError, InvalidError, NotFoundError

P = ParamSpec("P")
T = TypeVar("T")


def translated(fn: Callable[P, T]) -> Callable[P, T]:
    """Agent errors become the API's: NotFound → 404, Conflict → 409, Invalid → 422 with field."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from exc
        except Conflict as exc:
            raise ConflictError(str(exc)) from exc
        except Invalid as exc:
            raise InvalidError(exc.field, str(exc)) from exc

    return wrapper
