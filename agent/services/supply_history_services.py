"""The supply-history part of AppServices (api.ports.SupplyHistoryReads), kept apart so
app_services.py stays small: a page of stock records, the same as CSV, and the supply's page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.services import stock_history
from agent.services.errors import Invalid, NotFound
from api.ports import InvalidError, NotFoundError


@contextmanager
def _as_api_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    except Invalid as exc:
        raise InvalidError(exc.field, str(exc)) from exc


class SupplyHistoryServices:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    def list_supply_counts(
        self, sku: str, *, start: datetime | None, end: datetime | None, cursor: str | None, limit: int
    ) -> Any:
        with _as_api_errors():
            return stock_history.list_counts(self.sessions, sku=sku, start=start, end=end, cursor=cursor, limit=limit)

    def supply_counts_csv(self, sku: str, *, start: datetime | None, end: datetime | None) -> str:
        with _as_api_errors():
            return stock_history.counts_csv(stock_history.all_counts(self.sessions, sku=sku, start=start, end=end))

    def supply_history(self, sku: str) -> Any:
        with _as_api_errors():
            return stock_history.supply_history(self.sessions, sku=sku, now=self.clock())
