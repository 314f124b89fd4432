"""AppServices: the one object that implements every api.ports Protocol, by calling the agent's
service functions. The runtime builds it and hands it to ``api.app.create_app``::

    live = LiveBroadcaster()
    pipeline.listeners.append(live.listener)
    services = AppServices(
        sessions=sessions,            # sqlalchemy sessionmaker
        pipeline=pipeline,            # agent.pipeline.Pipeline (started)
        clock=clock,                  # () -> aware UTC datetime
        inventory=inventory,          # the runtime's Inventory, or an object with the supplies
                                      # functions; either way agent.services.supplies by default
        live=live,                    # agent.live.LiveBroadcaster (None: /api/v1/events stays quiet)
        readiness=None,               # () -> (ready, {check: detail}); default checks DB, schema, pipeline
        metrics=metrics.render,       # () -> bytes of Prometheus text; default: empty
        stale_after=timedelta(minutes=15),  # equipment not heard from this long shows as stale
        summary_ttl=2.0,              # seconds the queue's counts may be reused (see below)
        page_ttl=1.0,                 # seconds a page of the queue or of /alerts may be reused
    )
    app = create_app(services, session_secret=..., site_name=..., timezone=...)

Reuse: the queue's counts and low-supply panel are the same for every client, and so is a page
of the queue for the same filters; when an alert changes, every open queue page re-fetches at
once. So counts are reused for up to ``summary_ttl`` seconds and pages for up to ``page_ttl``,
one client computing while the others wait for its result; both are dropped at once when this
process's pipeline applies an alert change or a count or setting is saved through these
services. With several API processes, another process's change shows within the TTL.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from agent.pipeline import Pipeline
from agent.services import alert_actions, equipment_board, queries, silences, unknown_sources
from agent.services.account_services import AccountServices
from agent.services.alert_context import AlertContextServices
from agent.services.errors import NotFound
from agent.services.reuse import Expiring, Recent
from agent.services.supply_history_services import SupplyHistoryServices
from agent.services.translate import translated as _translated
from agent.services.weekly_services import WeeklyReportServices
from rules.views import (
    AlertChange,
    AlertEventView,
    AlertPage,
    AlertView,
    EquipmentView,
    Principal,
    QueueView,
    SilenceView,
)

P, T = ParamSpec("P"), TypeVar("T")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _page_key(kind: str, **filters: Any) -> tuple[Any, ...]:
    """The key a page is reused under: the same for the sync and the async read of it."""
    return (kind, *sorted(filters.items()))


class AppServices(
    unknown_sources.UnknownSourceReads, SupplyHistoryServices, WeeklyReportServices, AlertContextServices, AccountServices
):
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        pipeline: Pipeline,
        clock: Callable[[], datetime],
        inventory: Any = None,
        live: Any = None,
        readiness: Callable[[], tuple[bool, dict[str, str]]] | None = None,
        metrics: Callable[[], bytes] | None = None,
        stale_after: timedelta = timedelta(minutes=15),
        summary_ttl: float = 2.0,
        page_ttl: float = 1.0,
        principal_ttl: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.pipeline = pipeline
        self.clock = clock
        self._inventory = inventory
        self._supplies: Any = None
        self.live = live
        self._readiness = readiness
        self._metrics = metrics
        self.stale_after = stale_after
        self.summary_ttl = summary_ttl
        self.page_ttl = page_ttl
        self._generation = 0  # bumped on every alert change: cached results older than it are dropped
        self._summaries = Recent(summary_ttl)
        self._pages = Recent(page_ttl)
        # Who a token or a signed-in user is, reused for principal_ttl seconds: a revocation or a
        # role change made in this process applies at once, one made elsewhere (the CLI) within it.
        self._principals: Expiring[Principal] = Expiring(principal_ttl)
        self._in_flight: dict[Any, asyncio.Future[Any]] = {}  # touched only on event loops
        pipeline.listeners.append(self._alerts_changed)

    def now(self) -> datetime:
        return self.clock()

    # ------------------------------------------------------------------ alerts (read)
    @_translated
    def list_alerts(
        self,
        *,
        state: str | None,
        severity: str | None,
        team: str | None,
        equipment: str | None,
        sku: str | None,
        cursor: str | None,
        limit: int,
    ) -> AlertPage:
        now = self.clock()

        def make() -> AlertPage:
            return queries.list_alerts(
                self.sessions,
                now=now,
                state=state,
                severity=severity,
                team=team,
                equipment=equipment,
                sku=sku,
                cursor=cursor,
                limit=limit,
            )

        key = _page_key(
            "alerts", state=state, severity=severity, team=team, equipment=equipment, sku=sku, cursor=cursor, limit=limit
        )
        page: AlertPage = self._pages.get(key, self._generation, now, make)
        return page

    async def list_alerts_async(
        self,
        *,
        state: str | None,
        severity: str | None,
        team: str | None,
        equipment: str | None,
        sku: str | None,
        cursor: str | None,
        limit: int,
    ) -> AlertPage:
        filters: dict[str, Any] = dict(
            state=state, severity=severity, team=team, equipment=equipment, sku=sku, cursor=cursor, limit=limit
        )
        compute = functools.partial(self.list_alerts, **filters)
        page: AlertPage = await self._reused(_page_key("alerts", **filters), compute)
        return page

    @_translated
    def get_alert(self, alert_id: int) -> AlertView:
        return queries.get_alert(self.sessions, alert_id=alert_id, now=self.clock())

    @_translated
    def alert_events(self, alert_id: int, *, after: int = 0, limit: int = 500) -> list[AlertEventView]:
        return queries.alert_events(self.sessions, alert_id=alert_id, after=after, limit=limit)

    @_translated
    def queue(self, *, team: str | None, cursor: str | None, limit: int) -> QueueView:
        now = self.clock()

        def make() -> QueueView:
            return queries.queue(
                self.sessions, now=now, team=team, cursor=cursor, limit=limit, summary_of=self._queue_summary()
            )

        key = _page_key("queue", team=team, cursor=cursor, limit=limit)
        view: QueueView = self._pages.get(key, self._generation, now, make)
        return view

    async def queue_async(self, *, team: str | None, cursor: str | None, limit: int) -> QueueView:
        key = _page_key("queue", team=team, cursor=cursor, limit=limit)
        view: QueueView = await self._reused(key, functools.partial(self.queue, team=team, cursor=cursor, limit=limit))
        return view

    async def _reused(self, key: Any, compute: Callable[[], T]) -> T:
        """The page from memory when it can be served at once; else compute it, shared."""
        found: T | None = self._pages.peek(key, self._generation, self.clock())
        return found if found is not None else await self._shared(key, compute)

    async def _shared(self, key: Any, compute: Callable[[], T]) -> T:
        """Run compute in the thread pool, once for all callers that ask for the same key at the
        same generation meanwhile (a joiner never gets a result from before its own arrival)."""
        loop = asyncio.get_running_loop()
        flight_key = (key, self._generation, loop)
        flight = self._in_flight.get(flight_key)
        if flight is None:
            flight = asyncio.ensure_future(run_in_threadpool(compute))
            self._in_flight[flight_key] = flight
            flight.add_done_callback(lambda _: self._in_flight.pop(flight_key, None))
            # Everyone may have left (clients gone): still collect an error, so asyncio doesn't
            # log "exception was never retrieved".
            flight.add_done_callback(lambda done: done.cancelled() or done.exception())
        result: T = await asyncio.shield(flight)  # one caller leaving doesn't cancel the others
        return result

    def _queue_summary(self) -> queries.QueueSummary:
        summary: queries.QueueSummary = self._summaries.get(
            "summary", self._generation, self.clock(), lambda: queries.queue_summary(self.sessions)
        )
        return summary

    def _alerts_changed(self, applied: list[Any]) -> None:
        """Pipeline listener (writer thread): alert counts changed, so the cached summary is stale."""
        self._generation += 1

    # ------------------------------------------------------------------ alerts (actions)
    @_translated
    def acknowledge(self, alert_id: int, *, actor: str, comment: str) -> AlertView:
        alert_actions.acknowledge(self.pipeline, alert_id=alert_id, actor=actor, comment=comment)
        self._generation += 1  # before the listener runs: the caller's next read must see it
        return self.get_alert(alert_id)

    @_translated
    def unacknowledge(self, alert_id: int, *, actor: str, comment: str) -> AlertView:
        alert_actions.unacknowledge(self.pipeline, alert_id=alert_id, actor=actor, comment=comment)
        self._generation += 1  # before the listener runs: the caller's next read must see it
        return self.get_alert(alert_id)

    @_translated
    def resolve(self, alert_id: int, *, actor: str, reason: str, comment: str, **answers: Any) -> AlertView:
        alert_actions.resolve(self.pipeline, alert_id=alert_id, actor=actor, reason=reason, comment=comment, **answers)
        self._generation += 1  # before the listener runs: the caller's next read must see it
        return self.get_alert(alert_id)

    @_translated
    def assign(self, alert_id: int, *, actor: str, assignee: str, comment: str) -> AlertView:
        alert_actions.assign(self.pipeline, alert_id=alert_id, actor=actor, assignee=assignee, comment=comment)
        self._generation += 1  # before the listener runs: the caller's next read must see it
        return self.get_alert(alert_id)

    @_translated
    def comment(self, alert_id: int, *, actor: str, text: str) -> AlertEventView:
        event_id = alert_actions.comment(self.pipeline, alert_id=alert_id, actor=actor, text=text)
        self._generation += 1
        for event in queries.alert_events(self.sessions, alert_id=alert_id):
            if event.id == event_id:
                return event
        raise NotFound(f"comment {event_id} not found")

    # ------------------------------------------------------------------ equipment
    @_translated
    def list_equipment(self, *, location: str | None, kind: str | None, team: str | None) -> list[EquipmentView]:
        return equipment_board.list_equipment(
            self.sessions, now=self.clock(), location=location, kind=kind, team=team, stale_after=self.stale_after
        )

    @_translated
    def get_equipment(self, equipment_id: str) -> EquipmentView:
        return equipment_board.get_equipment(
            self.sessions, equipment_id=equipment_id, now=self.clock(), stale_after=self.stale_after
        )

    # ------------------------------------------------------------------ supplies
    @property
    def inventory(self) -> Any:
        """The supplies service functions: ``inventory`` when it provides them (list_supplies,
        get_supply, record_count, ...), else the module agent.services.supplies. The runtime's
        agent.inventory.Inventory (hook + sessions) is accepted and means the module."""
        if self._supplies is None:
            given = self._inventory
            self._supplies = (
                given if given is not None and hasattr(given, "list_supplies")
                else importlib.import_module("agent.services.supplies")
            )
        return self._supplies

    @_translated
    def list_supplies(self, *, location: str | None, low_only: bool) -> list[Any]:
        return list(self.inventory.list_supplies(self.sessions, location=location, low_only=low_only))

    @_translated
    def get_supply(self, sku: str) -> Any:
        return self.inventory.get_supply(self.sessions, sku=sku)

    @_translated
    def update_supply_settings(self, sku: str, *, actor: str, par: float | None, reorder_point: float | None) -> Any:
        level = self.inventory.update_supply_settings(
            self.pipeline, sku=sku, actor=actor, par=par, reorder_point=reorder_point
        )
        self._generation += 1
        return level

    @_translated
    def restock_list(self) -> list[Any]:
        return list(self.inventory.restock_list(self.sessions, now=self.clock()))

    def restock_csv(self, lines: list[Any]) -> str:
        return str(self.inventory.restock_csv(lines))

    @_translated
    def list_restock_reports(self) -> list[Any]:
        return list(self.inventory.list_restock_reports(self.sessions))

    # ------------------------------------------------------------------ silences
    @_translated
    def create_silence(
        self,
        *,
        actor: str,
        comment: str,
        ends_at: datetime,
        starts_at: datetime | None,
        equipment_id: str | None,
        rule_id: str | None,
        team: str | None,
    ) -> SilenceView:
        return silences.create_silence(
            self.sessions,
            actor=actor,
            comment=comment,
            now=self.clock(),
            ends_at=ends_at,
            starts_at=starts_at,
            equipment_id=equipment_id,
            rule_id=rule_id,
            team=team,
        )

    @_translated
    def list_silences(self) -> list[SilenceView]:
        return silences.list_silences(self.sessions, now=self.clock())

    @_translated
    def end_silence(self, silence_id: int, actor: str | None = None) -> SilenceView:
        return silences.end_silence(self.sessions, silence_id=silence_id, now=self.clock(), actor=actor)

    # ------------------------------------------------------------------ live
    async def changes(self) -> AsyncIterator[AlertChange | None]:
        if self.live is None:
            while True:  # no broadcaster wired: a quiet stream with keep-alives
                await asyncio.sleep(15)
                yield None
        async for change in self.live.changes():
            yield change

    # ------------------------------------------------------------------ operations
    def ready(self) -> tuple[bool, dict[str, str]]:
        if self._readiness is not None:
            return self._readiness()
        return self.default_readiness()

    def default_readiness(self) -> tuple[bool, dict[str, str]]:
        from agent.storage.migrate import is_current

        checks: dict[str, str] = {}
        try:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))
                bind = session.get_bind()
            checks["database"] = "ok"
            checks["schema"] = "ok" if is_current(bind) else "not at the newest migration; run 'facility-agent db upgrade'"  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["pipeline"] = "ok" if self.pipeline.running else "not running"
        return all(v == "ok" for v in checks.values()), checks

    def metrics(self) -> tuple[bytes, str]:
        body = self._metrics() if self._metrics is not None else b""
        return body, PROMETHEUS_TEXT
