"""The agent's real pipeline with inventory wired in the way the runtime wires it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from agent.catalog import build_rules, build_subjects
from agent.config import AgentConfig
from agent.inventory import Inventory, setup_inventory, supply_rules
from agent.pipeline import Pipeline
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, StockRecord, SupplyItem
from rules.engine import Engine, EngineSettings
from rules.reading import Reading, make_reading


class InventoryHarness:
    def __init__(self, config: AgentConfig, url: str, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock
        self.db = create_db_engine(url)
        self.sessions = session_factory(self.db)
        self.pipeline: Pipeline | None = None
        self.inventory: Inventory | None = None

    def start(self) -> Pipeline:
        engine = Engine(
            build_rules(self.config, supply_rules(self.config)),
            build_subjects(self.config),
            settings=EngineSettings(ack_recovery=self.config.alerting.ack_recovery),
            started_at=self.clock(),
        )
        self.pipeline = Pipeline(engine=engine, sessions=self.sessions, clock=self.clock, batch_size=100)
        self.inventory = setup_inventory(
            config=self.config, sessions=self.sessions, pipeline=self.pipeline, clock=self.clock
        )
        self.pipeline.restore()
        self.pipeline.start()
        return self.pipeline

    def restart(self) -> Pipeline:
        assert self.pipeline is not None
        self.pipeline.stop()
        return self.start()

    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
        self.db.dispose()

    # ------------------------------------------------------------------ helpers
    def submit(self, *readings: Reading) -> None:
        assert self.pipeline is not None
        self.pipeline.submit(list(readings))
        self.pipeline.flush()

    def item(self, sku: str) -> SupplyItem:
        with self.sessions() as session:
            row = session.get(SupplyItem, sku)
            assert row is not None
            return row

    def records(self, sku: str) -> list[StockRecord]:
        with self.sessions() as session:
            return list(session.scalars(select(StockRecord).where(StockRecord.sku == sku).order_by(StockRecord.id)))

    def open_alerts(self) -> list[Alert]:
        with self.sessions() as session:
            return list(session.scalars(select(Alert).where(Alert.status != "resolved").order_by(Alert.id)))


def count(sku: str, value: float, ts: datetime, source: str = "mqtt:facility/site-a/supplies/count") -> Reading:
    return make_reading(subject=sku, metric="count", value=value, ts=ts, unit="units", source=source, subject_kind="supply")


def equipment_reading(subject: str, metric: str, value: object, ts: datetime, unit: str = "") -> Reading:
    return make_reading(subject=subject, metric=metric, value=value, ts=ts, unit=unit, source="snmp:test")
