"""Wait on a condition with a deadline, instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline. An AssertionError so pytest reports it as a failure."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Call predicate until it returns something truthy, and return that value.

    Raises WaitTimeout after `timeout` seconds, naming what was awaited, how long, how many
    checks were made and the last value seen (or the last exception the predicate raised).
    Exceptions from the predicate count as "not yet" so that a service that is still starting
    (connection refused) can be waited on directly.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    deadline = time.monotonic() + timeout
    attempts = 0
    last: object = None
    last_error: BaseException | None = None
    while True:
        attempts += 1
        try:
            value = predicate()
        except Exception as exc:  # noqa: BLE001 - a failing check is a "not yet"
            last_error = exc
        else:
            last_error = None
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    name = what or getattr(predicate, "__qualname__", repr(predicate))
    seen = f"last error: {last_error!r}" if last_error is not None else f"last value: {last!r}"
    raise WaitTimeout(f"timed out after {timeout:g}s waiting for {name} ({attempts} checks; {seen})")
