"""The supply-history part of AppServices (api.ports.SupplyHistoryReads, and record_count of
api.ports.Supplies), kept apart so app_services.py stays small: a page of stock records, the same
as CSV, the supply's page, and recording a count (now, or backdated from a paper sheet)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
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
    pipeline: Any
    inventory: Any  # the supplies service functions (AppServices.inventory)
    _generation: int
    count_backfill: timedelta = timedelta(days=30)  # how far back a person's count may be dated (api.count_backfill)

    def record_count(self, sku: str, *, count: float, actor: str, comment: str, at: datetime | None = None) -> Any:
        extra = {} if at is None else {"at": at, "backfill_limit": self.count_backfill}
        with _as_api_errors():
            level = self.inventory.record_count(self.pipeline, sku=sku, count=count, actor=actor, comment=comment, **extra)
        self._generation += 1  # cached queue pages and counts are out of date
        return level

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
