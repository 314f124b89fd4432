"""The composition root: builds every part from the config, runs them, and shuts them down in order."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from agent.catalog import build_rules, build_subjects
from agent.clock import utc_now
from agent.cold_chain import cold_chain_units
from agent.cold_chain import wire as wire_cold_chain
from agent.config import AgentConfig
from agent.equipment_sync import sync_equipment
from agent.jobs.cold_chain_monthly import schedule_cold_chain_reports
from agent.metrics import AgentMetrics, CallbackCollector
from agent.metrics_pipeline import PipelineQueueCollector
from agent.notify.dispatcher import Dispatcher
from agent.notify.routing import Router
from agent.notify.wiring import build_notifications, escalation_clocks
from agent.pipeline import Pipeline
from agent.reading_guard import ReadingGuard
from agent.scheduler import add_interval_job, create_scheduler, stop_scheduler
from agent.storage.db import create_db_engine, session_factory
from agent.storage.migrate import upgrade
from agent.storage.models import Alert, LatestReading
from agent.storage.readings import prune_history
from agent.storage.receipts import load_receipts
from agent.storage.rollups import LateHours, roll_up, rolled_until
from agent.unknown_sources import UnknownSourceLog
from collectors.sink import Receipt
from rules.engine import Engine, EngineSettings
from rules.model import Rule
from rules.reading import Reading

log = logging.getLogger(__name__)


def _mapped_states(config: AgentConfig) -> set[str]:
    """Metrics that an MQTT mapping declares as states (state: true with a fixed metric)."""
    mappings = (config.mqtt or {}).get("mappings") or []
    return {m["metric"] for m in mappings if isinstance(m, dict) and m.get("state") and m.get("metric")}


class _PollTracker:
    """Wraps the pipeline as the collectors' sink and notes each collector's last successful poll."""

    def __init__(
        self, pipeline: Pipeline, metrics: AgentMetrics, clock: Callable[[], datetime], guard: ReadingGuard
    ) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.clock = clock
        self.guard = guard
        self.last_success: dict[str, float] = {}

    def _refused(self, source: str, reason: str, detail: str) -> None:
        self.pipeline.reject(source=source, reason=reason, detail=detail)

    def submit(
        self,
        readings: Sequence[Reading],
        *,
        on_stored: Callable[[], None] | None = None,
        receipts: Sequence[Receipt] = (),
    ) -> None:
        if readings:
            readings = self.guard.filter(readings, self._refused)
        if readings:
            source = readings[0].source.split(":", 1)[0] or "unknown"
            self.metrics.readings_in.labels(source).inc(len(readings))
            for r in readings:
                if r.metric == "reachable" and r.value == 1.0:
                    self.last_success[source] = self.clock().timestamp()
                    break
            else:
                if source != "snmp":
                    self.last_success[source] = self.clock().timestamp()
        self.pipeline.submit(readings, on_stored=on_stored, receipts=receipts)

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        self.pipeline.reject(source=source, reason=reason, detail=detail)

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        self.pipeline.unknown_source(source=source, key=key, payload=payload, at=at)


class Runtime:
    def __init__(self, config: AgentConfig, *, clock: Callable[[], datetime] = utc_now, migrate: bool = True) -> None:
        self.config = config
        self.clock = clock
        self.migrate = migrate
        self.instance = f"{socket.gethostname()}:{id(self):x}"
        self._stop = asyncio.Event()
        self.api_server: Any = None
        self.mqtt: Any = None
        self.snmp_poller: Any = None
        self.snmp_health: Any = None
        self.scheduler: Any = None
        self.inventory: Any = None
        self.app_services: Any = None
        self.live: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_alert_counts: dict[str, int] = {}

    # ------------------------------------------------------------------ build
    def build(self) -> Runtime:
        config = self.config
        url = config.database_url()
        if self.migrate:
            upgrade(url)
        self.db = create_db_engine(url)
        self.sessions = session_factory(self.db)
        with self.sessions() as session:
            sync_equipment(session, config.equipment, site_id=config.site.id, now=self.clock())
            session.commit()
        self.metrics = AgentMetrics()
        self.subjects = build_subjects(config)
        self.router = Router(config)
        self.engine = Engine(
            build_rules(config, self._inventory_rules()),
            self.subjects,
            settings=EngineSettings(
                ack_recovery=config.alerting.ack_recovery,
                flap_threshold=config.alerting.flap_threshold,
                flap_window=config.alerting.flap_window,
                flap_settle=config.alerting.flap_settle,
                escalation={name: t.escalate_after for name, t in config.teams.items() if t.escalate_after},
                escalation_clock=escalation_clocks(self.router),
            ),
            started_at=self.clock(),
        )
        self.pipeline = Pipeline(
            engine=self.engine,
            sessions=self.sessions,
            clock=self.clock,
            batch_size=config.database.batch_size,
            queue_size=config.database.queue_size,
            flush_interval=config.database.flush_interval.total_seconds(),
        )
        self.unknown = UnknownSourceLog(self.sessions)
        self.pipeline.unknown_sinks.append(self.unknown.record)
        self._wire_inventory()
        self.sink = _PollTracker(self.pipeline, self.metrics, self.clock, self._reading_guard())
        self.cold_chain = wire_cold_chain(config, self.subjects, self.pipeline)
        self.late_hours = LateHours()
        self.pipeline.reading_hooks.append(self.late_hours)
        self.pipeline.restore()
        self.dispatcher = Dispatcher(sessions=self.sessions, clock=self.clock, metrics=self.metrics, publish_alert=None)
        self.pipeline.listeners.append(self.dispatcher.listener)
        self.notifications = build_notifications(self, self.router)
        self.metrics.add_collector(
            CallbackCollector(
                queue_depth=lambda: self.pipeline.depth,
                rejects=self._all_rejects,
                alerts_by_state=self._alerts_by_state,
                last_poll=lambda: dict(self.sink.last_success),
                stored=lambda: dict(self.pipeline.stored),
                unknown_inputs=lambda: dict(self.unknown.inputs),
            )
        )
        self.metrics.add_collector(PipelineQueueCollector(self.pipeline))
        return self

    def _reading_guard(self) -> ReadingGuard:
        guard = ReadingGuard(self.engine.rules.values(), state_metrics=_mapped_states(self.config))
        with self.sessions() as session:
            rows = session.execute(select(LatestReading.subject, LatestReading.metric, LatestReading.value_num))
            guard.seed((subject, metric, value is not None) for subject, metric, value in rows)
        return guard

    def _inventory_rules(self) -> list[Rule]:
        try:
            from agent.inventory import supply_rules
        except ImportError:
            return []
        return list(supply_rules(self.config))

    def _wire_inventory(self) -> None:
        try:
            from agent.inventory import setup_inventory
        except ImportError:
            return
        self.inventory = setup_inventory(config=self.config, sessions=self.sessions, pipeline=self.pipeline, clock=self.clock)

    def _all_rejects(self) -> dict[tuple[str, str], int]:
        # By source and reason only: every rejection reaches pipeline.reject, except the MQTT
        # collector's internal errors, which only its own counters see.
        counts = dict(self.pipeline.rejects)
        if self.mqtt is not None:
            internal = self.mqtt.stats.rejects_by_reason().get("internal_error", 0)
            if internal:
                counts[("mqtt", "internal_error")] = counts.get(("mqtt", "internal_error"), 0) + internal
        return counts

    def _alerts_by_state(self) -> dict[str, int]:
        # /metrics must answer while the database is down (that is when it is needed): last counts.
        try:
            with self.sessions() as session:
                rows = session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all()
        except Exception:  # noqa: BLE001
            log.debug("alert counts for /metrics unavailable", exc_info=True)
            return self._last_alert_counts
        self._last_alert_counts = {status: count for status, count in rows}
        return self._last_alert_counts

    # ------------------------------------------------------------------ readiness
    def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self.db.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["storage"] = {"ok": self.pipeline.write_failing is None}
            if self.pipeline.write_failing is not None:
                checks["storage"]["error"] = self.pipeline.write_failing
        except Exception as exc:  # noqa: BLE001
            # The class only: the driver's text can hold a host, a user or a query; it goes to the log.
            log.warning("readiness: storage unreachable: %s", exc)
            checks["storage"] = {"ok": False, "error": f"unreachable ({type(exc).__name__})"}
        checks["pipeline"] = {"ok": self.pipeline.running, "queue_depth": self.pipeline.depth}
        if self.pipeline.full_since is not None:
            checks["pipeline"].update(ok=False, error=f"queue full since {self.pipeline.full_since.isoformat()}")
        checks["scheduler"] = {"ok": bool(self.scheduler is not None and self.scheduler.running)}
        if self.config.mqtt is not None:
            connected = bool(self.mqtt is not None and self.mqtt.connected)
            checks["mqtt"] = {"ok": connected} if connected else {"ok": False, "error": "broker not connected"}
        checks["last_successful_poll"] = {
            name: datetime.fromtimestamp(ts).astimezone().isoformat() for name, ts in self.sink.last_success.items()
        }
        if self.snmp_health is not None:  # per device: informative, never makes the agent unready
            checks["snmp"] = self.snmp_health.report()
        checks["ok"] = all(v.get("ok", True) for v in checks.values() if isinstance(v, dict) and "ok" in v)
        return checks

    # ------------------------------------------------------------------ run
    def request_stop(self) -> None:
        self._stop.set()

    def request_stop_threadsafe(self) -> None:
        """Ask a runtime running in another thread's event loop to stop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self, *, install_signals: bool = True, started: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            # Inside the try: a part that fails to start still gets the others stopped.
            self.pipeline.start()
            self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
            self._tasks.append(asyncio.create_task(self.notifications.sender.run(), name="outbox-sender"))
            self.scheduler = create_scheduler(self.config.site.timezone)
            self._schedule_housekeeping()
            self._start_snmp()
            self._start_mqtt()
            self._schedule_inventory_jobs()
            schedule_cold_chain_reports(
                self.scheduler, config=self.config, sessions=self.sessions, subjects=self.subjects, clock=self.clock
            )
            self.scheduler.start()
            await self._start_api()
            log.info("facility-agent running", extra={"site": self.config.site.id})
            if started is not None:
                started()
            await self._stop.wait()
        finally:
            await self.shutdown()

    def _schedule_housekeeping(self) -> None:
        alerting = self.config.alerting
        add_interval_job(self.scheduler, self._tick, job_id="engine-tick", every=alerting.tick_interval)
        add_interval_job(self.scheduler, self._prune, job_id="prune-history", every=timedelta(hours=1), jitter=60)
        add_interval_job(self.scheduler, self._roll_up, job_id="roll-up-history", every=timedelta(minutes=5), jitter=30)
        add_interval_job(self.scheduler, self._flush_unknown, job_id="unknown-sources", every=timedelta(seconds=10))

    async def _tick(self) -> None:
        await asyncio.wrap_future(self.pipeline.tick(self.clock()))

    async def _roll_up(self) -> None:
        """Hourly rollups for long-range charts (agent/storage/rollups.py)."""

        def roll() -> None:
            with self.sessions() as session:
                roll_up(session, now=self.clock(), dirty=self.late_hours.take())
                self.late_hours.watermark = rolled_until(session)

        await asyncio.to_thread(roll)

    async def _prune(self) -> None:
        cutoff = self.clock() - self.config.database.history_retention
        cold_cutoff = self.clock() - self.config.database.cold_chain_retention
        cold_units = list(cold_chain_units(self.config, self.subjects))

        def prune() -> int:
            with self.sessions() as session:
                return prune_history(session, older_than=cutoff, keep_subjects=cold_units, keep_older_than=cold_cutoff)

        removed = await asyncio.to_thread(prune)
        if removed:
            log.info("pruned reading history", extra={"rows": removed, "older_than": cutoff.isoformat()})
        await asyncio.to_thread(self.unknown.prune, older_than=cutoff)

    async def _flush_unknown(self) -> None:
        try:
            await asyncio.to_thread(self.unknown.flush)
        except asyncio.CancelledError:
            # Stopping: the thread finishes this write-out, and shutdown's own flush waits for it.
            log.info("stopping during the unknown sources' write-out; it finishes before exit")

    def _start_snmp(self) -> None:
        if not any(e.snmp is not None for e in self.config.equipment):
            return
        from agent.snmp_jobs import PollHealth, build_snmp_targets, schedule_snmp_polls, snmp_defaults
        from collectors.snmp.poller import SnmpPoller

        # Relative *_file paths are read from the config file's folder; a device whose settings
        # don't resolve is reported and skipped, the others are polled.
        targets, problems = build_snmp_targets(self.config)
        for problem in problems:
            log.error("snmp: not polled: %s", problem)
        try:
            max_concurrency = snmp_defaults(self.config).max_concurrency
        except ValueError:
            max_concurrency = 32
        self.snmp_poller = SnmpPoller(max_concurrency=max_concurrency)
        self.snmp_health = PollHealth()
        schedule_snmp_polls(self.scheduler, self.snmp_poller, targets, self.sink, self.clock, self.snmp_health)

    def _start_mqtt(self) -> None:
        if self.config.mqtt is None:
            return
        from collectors.mqtt.config import MqttSettings
        from collectors.mqtt.messages import ScaleSpec
        from collectors.mqtt.subscriber import MqttSubscriber

        settings = MqttSettings.model_validate(self.config.mqtt)
        scales = {s.sku: ScaleSpec(grams_per_unit=s.scale.grams_per_unit, tare_g=s.scale.tare_g) for s in self.config.supplies if s.scale}
        self.mqtt = MqttSubscriber(
            settings,
            self.config.site.id,
            self.sink,
            known_equipment=frozenset(e.id for e in self.config.equipment),
            known_skus=frozenset(s.sku for s in self.config.supplies),
            scales=scales,
            clock=self.clock,
            receipts=lambda client_id: load_receipts(self.sessions, client_id),
        )
        self.dispatcher.publish_alert = self.mqtt.publish_alert
        self.mqtt.start()

    def _schedule_inventory_jobs(self) -> None:
        try:
            from agent.jobs.restock import schedule_restock_jobs
        except ImportError:
            return
        schedule_restock_jobs(self.scheduler, config=self.config, sessions=self.sessions, pipeline=self.pipeline, clock=self.clock)

    async def _start_api(self) -> None:
        if not self.config.api.enabled:
            return
        try:
            from agent.api_wiring import build_app
        except ImportError:
            log.warning("the API is not available in this build")
            return
        import uvicorn

        app = build_app(self)
        server_config = uvicorn.Config(
            app, host=self.config.api.host, port=self.config.api.port, log_config=None, lifespan="on", access_log=False,
            proxy_headers=True, forwarded_allow_ips=self.config.api.trusted_proxies,
        )
        self.api_server = uvicorn.Server(server_config)
        self.api_server.install_signal_handlers = lambda: None  # the runtime owns signals
        self._tasks.append(asyncio.create_task(self.api_server.serve(), name="api"))
        for _ in range(200):
            if self.api_server.started:
                break
            await asyncio.sleep(0.05)

    async def shutdown(self) -> None:
        log.info("shutting down")
        if self.mqtt is not None:
            await asyncio.to_thread(self.mqtt.stop)
        if self.scheduler is not None:
            await stop_scheduler(self.scheduler)
        if self.api_server is not None:
            self.api_server.should_exit = True
        # Flush everything the collectors handed over, then stop the writer.
        await asyncio.to_thread(self.pipeline.stop)
        await self.dispatcher.drain()
        await asyncio.to_thread(self.unknown.flush)
        for task in self._tasks:
            if task.get_name() == "api":
                try:
                    await asyncio.wait_for(task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
            else:
                task.cancel()
        if self.snmp_poller is not None:
            self.snmp_poller.close()
        self.db.dispose()
        log.info("stopped")
