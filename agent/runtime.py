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
from agent.config import AgentConfig
from agent.metrics import AgentMetrics, CallbackCollector
from agent.notify.dispatcher import Dispatcher
from agent.pipeline import Pipeline
from agent.scheduler import add_interval_job, create_scheduler
from agent.storage.db import create_db_engine, session_factory
from agent.storage.migrate import upgrade
from agent.storage.models import Alert
from agent.storage.readings import prune_history
from agent.unknown_sources import UnknownSourceLog
from rules.engine import Engine, EngineSettings
from rules.model import Rule
from rules.reading import Reading

log = logging.getLogger(__name__)


class _PollTracker:
    """Wraps the pipeline as the collectors' sink and notes each collector's last successful poll."""

    def __init__(self, pipeline: Pipeline, metrics: AgentMetrics, clock: Callable[[], datetime]) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.clock = clock
        self.last_success: dict[str, float] = {}

    def submit(self, readings: Sequence[Reading], *, on_stored: Callable[[], None] | None = None) -> None:
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
        self.pipeline.submit(readings, on_stored=on_stored)

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
        self.scheduler: Any = None
        self.inventory: Any = None
        self.app_services: Any = None
        self.live: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ build
    def build(self) -> Runtime:
        config = self.config
        url = config.database_url()
        if self.migrate:
            upgrade(url)
        self.db = create_db_engine(url)
        self.sessions = session_factory(self.db)
        self.metrics = AgentMetrics()
        self.subjects = build_subjects(config)
        self.engine = Engine(
            build_rules(config, self._inventory_rules()),
            self.subjects,
            settings=EngineSettings(
                ack_recovery=config.alerting.ack_recovery,
                flap_threshold=config.alerting.flap_threshold,
                flap_window=config.alerting.flap_window,
                flap_settle=config.alerting.flap_settle,
                escalation={name: t.escalate_after for name, t in config.teams.items() if t.escalate_after},
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
        self.sink = _PollTracker(self.pipeline, self.metrics, self.clock)
        self._wire_inventory()
        self.pipeline.restore()
        self.dispatcher = Dispatcher(
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            publish_alert=None,
            send_email=self._email_sender(),
            team_emails=self._team_emails(),
            coordinator_emails=config.notifications.coordinator_emails,
            site_name=config.site.name,
        )
        self.pipeline.listeners.append(self.dispatcher.listener)
        self.metrics.add_collector(
            CallbackCollector(
                queue_depth=lambda: self.pipeline.depth,
                rejects=self._all_rejects,
                alerts_by_state=self._alerts_by_state,
                last_poll=lambda: dict(self.sink.last_success),
            )
        )
        return self

    def _team_emails(self) -> dict[str, list[str]]:
        config = self.config
        emails = {name: list(t.emails) for name, t in config.teams.items()} if config.notifications.alert_emails else {}
        # Alerts for the coordinator (e.g. a failed restock report) reach coordinator_emails
        # unless a team called "coordinator" is configured.
        emails.setdefault("coordinator", list(config.notifications.coordinator_emails))
        return emails

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

    def _email_sender(self) -> Callable[[Sequence[str], str, str], None] | None:
        try:
            from agent.notify.email import simple_sender
        except ImportError:
            return None
        return simple_sender(self.config.notifications.smtp)

    def _all_rejects(self) -> dict[tuple[str, str], int]:
        counts = dict(self.pipeline.rejects)
        if self.mqtt is not None:
            for reason, count in self.mqtt.stats.rejects_by_reason().items():
                counts[("mqtt", reason)] = counts.get(("mqtt", reason), 0) + count
        return counts

    def _alerts_by_state(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all()
        return {status: count for status, count in rows}

    # ------------------------------------------------------------------ readiness
    def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self.db.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["storage"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001
            # The class only: the driver's text can hold a host, a user or a query; it goes to the log.
            log.warning("readiness: storage unreachable: %s", exc)
            checks["storage"] = {"ok": False, "error": f"unreachable ({type(exc).__name__})"}
        checks["pipeline"] = {"ok": self.pipeline.running, "queue_depth": self.pipeline.depth}
        checks["scheduler"] = {"ok": bool(self.scheduler is not None and self.scheduler.running)}
        if self.config.mqtt is not None:
            checks["mqtt"] = {"ok": bool(self.mqtt is not None and self.mqtt.connected)}
        checks["last_successful_poll"] = {
            name: datetime.fromtimestamp(ts).astimezone().isoformat() for name, ts in self.sink.last_success.items()
        }
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
            self.scheduler = create_scheduler(self.config.site.timezone)
            self._schedule_housekeeping()
            self._start_snmp()
            self._start_mqtt()
            self._schedule_inventory_jobs()
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
        add_interval_job(self.scheduler, self._flush_unknown, job_id="unknown-sources", every=timedelta(seconds=10))

    async def _tick(self) -> None:
        await asyncio.wrap_future(self.pipeline.tick(self.clock()))

    async def _prune(self) -> None:
        cutoff = self.clock() - self.config.database.history_retention

        def prune() -> int:
            with self.sessions() as session:
                return prune_history(session, older_than=cutoff)

        removed = await asyncio.to_thread(prune)
        if removed:
            log.info("pruned reading history", extra={"rows": removed, "older_than": cutoff.isoformat()})

    async def _flush_unknown(self) -> None:
        await asyncio.to_thread(self.unknown.flush)

    def _start_snmp(self) -> None:
        if not any(e.snmp is not None for e in self.config.equipment):
            return
        from agent.snmp_jobs import build_snmp_targets, schedule_snmp_polls, snmp_defaults
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
        schedule_snmp_polls(self.scheduler, self.snmp_poller, targets, self.sink, self.clock)

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
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
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
