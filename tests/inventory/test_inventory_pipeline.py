"""Counts through the real pipeline and storage: stock records, on hand, daily use, supply alerts,
people's counts and settings, and the restock list — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.config import AgentConfig
from agent.services.errors import Invalid, NotFound
from agent.services.supplies import (
    get_supply,
    list_supplies,
    record_count,
    restock_csv,
    restock_list,
    update_supply_settings,
)
from agent.storage.models import Alert
from rules.severity import Severity
from tests.agent.harness import config_from
from tests.inventory.harness import InventoryHarness, count
from tests.support.clock import FakeClock

CONFIG = """
site: {id: site-a, name: St Mary's East, timezone: Europe/London}
supplies:
  - {sku: GLV-M, name: Gloves M, unit: box, location: Store A, vendor: Medline, par: 40, reorder_point: 15,
     pack_size: 10, lead_time_days: 3, on_order: 10, on_hand: 50}
  - {sku: LIN-S, name: Sheets, location: Linen room, vendor: Acme Linen, par: 100, reorder_point: 30,
     pack_size: 25, lead_time_days: 2}
"""


@pytest.fixture
def config() -> AgentConfig:
    return config_from(CONFIG)


@pytest.fixture
def harness(config: AgentConfig, db_url: str, clock: FakeClock) -> Iterator[InventoryHarness]:
    h = InventoryHarness(config, db_url, clock)
    h.start()
    try:
        yield h
    finally:
        h.close()


def rules_open(h: InventoryHarness) -> set[str]:
    return {a.rule_id for a in h.open_alerts()}


def test_config_seeds_items_and_a_restart_does_not_clobber_counts(harness: InventoryHarness, clock: FakeClock) -> None:
    glv = harness.item("GLV-M")
    assert (glv.on_hand, glv.par, glv.pack_size, glv.vendor) == (50, 40, 10, "Medline")
    assert harness.item("LIN-S").on_hand is None
    assert [(r.source, r.value) for r in harness.records("GLV-M")] == [("config", 50)]
    harness.submit(count("GLV-M", 44, clock.advance(timedelta(hours=1))))
    harness.restart()
    assert harness.item("GLV-M").on_hand == 44
    assert len(harness.records("GLV-M")) == 2


def test_drops_are_consumption_rises_restocks_and_repeats_no_records(
    harness: InventoryHarness, clock: FakeClock
) -> None:
    t0 = clock()
    harness.submit(
        count("GLV-M", 45, t0 + timedelta(days=1)),
        count("GLV-M", 45, t0 + timedelta(days=1, minutes=1)),  # a shelf repeating itself
        count("GLV-M", 40, t0 + timedelta(days=2)),
        count("GLV-M", 60, t0 + timedelta(days=2, hours=1)),
    )
    kinds = [(r.previous, r.value, r.change) for r in harness.records("GLV-M")]
    assert kinds == [(None, 50, "count"), (50, 45, "consumption"), (45, 40, "consumption"), (40, 60, "restock")]
    item = harness.item("GLV-M")
    assert item.on_hand == 60
    assert item.daily_use == pytest.approx(10 / (2 + 1 / 24))


def test_late_counts_do_not_move_on_hand_back(harness: InventoryHarness, clock: FakeClock) -> None:
    t0 = clock()
    harness.submit(count("GLV-M", 30, t0 + timedelta(hours=2)), count("GLV-M", 20, t0 + timedelta(hours=1)))
    assert harness.item("GLV-M").on_hand == 30


def test_low_and_out_of_stock_alerts_open_and_clear(harness: InventoryHarness, clock: FakeClock) -> None:
    t0 = clock()
    harness.submit(count("GLV-M", 15, t0 + timedelta(hours=1)))
    assert rules_open(harness) == {"supply-low.GLV-M"}
    alert = harness.open_alerts()[0]
    assert alert.severity == int(Severity.WARNING)
    assert alert.message == "Gloves M in Store A: 15 boxes left, at or below the reorder point of 15 boxes"
    assert alert.team == "supply"
    harness.submit(count("GLV-M", 0, t0 + timedelta(hours=2)))
    # One alert at zero: "out of stock" replaces "low" (resolved as superseded).
    assert rules_open(harness) == {"supply-out.GLV-M"}
    out = harness.open_alerts()[0]
    assert out.message == "Gloves M in Store A is out of stock"
    assert out.severity == int(Severity.CRITICAL)
    with harness.sessions() as session:
        low = session.scalars(select(Alert).where(Alert.id == alert.id)).one()
        assert (low.status, low.resolve_reason) == ("resolved", "superseded")
    harness.submit(count("GLV-M", 5, t0 + timedelta(hours=3)))  # some back, still low
    assert rules_open(harness) == {"supply-low.GLV-M"}
    harness.submit(count("GLV-M", 40, t0 + timedelta(hours=4)))
    assert rules_open(harness) == set()


def test_days_of_supply_under_the_lead_time_warns(harness: InventoryHarness, clock: FakeClock) -> None:
    t0 = clock()
    # 5 a day for 4 days, then 12 in half a day: 32 used in 4.5 days is 7.1 a day, and the 18
    # left last 2.5 days against a 3-day lead time (still above the reorder point of 15).
    readings = [count("GLV-M", 50 - 5 * d, t0 + timedelta(days=d)) for d in range(1, 5)]
    readings.append(count("GLV-M", 18, t0 + timedelta(days=4, hours=12)))
    harness.submit(*readings)
    alerts = {a.rule_id: a for a in harness.open_alerts()}
    assert "supply-days-short.GLV-M" in alerts
    assert "will run out before an order can arrive" in alerts["supply-days-short.GLV-M"].message
    assert "lead time 3 days" in alerts["supply-days-short.GLV-M"].message
    item = harness.item("GLV-M")
    assert item.daily_use == pytest.approx(32 / 4.5)
    assert "supply-low.GLV-M" not in alerts


def test_person_counts_are_validated_recorded_and_checked_at_once(harness: InventoryHarness) -> None:
    assert harness.pipeline is not None
    with pytest.raises(NotFound):
        record_count(harness.pipeline, sku="NOPE", count=3, actor="sam")
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(Invalid) as err:
            record_count(harness.pipeline, sku="GLV-M", count=bad, actor="sam")
        assert err.value.field == "count"
    level = record_count(harness.pipeline, sku="GLV-M", count=12, actor="sam", comment="cycle count")
    assert (level.on_hand, level.status) == (12, "low")
    record = harness.records("GLV-M")[-1]
    assert (record.source, record.actor, record.previous, record.value, record.comment) == (
        "person", "sam", 50, 12, "cycle count"
    )
    assert "supply-low.GLV-M" in rules_open(harness)
    # The same number again is still a count someone made.
    record_count(harness.pipeline, sku="GLV-M", count=12, actor="alex")
    assert harness.records("GLV-M")[-1].actor == "alex"


def test_changing_the_reorder_point_changes_the_rule_at_once(harness: InventoryHarness) -> None:
    assert harness.pipeline is not None
    assert rules_open(harness) == set()
    with pytest.raises(Invalid) as err:
        update_supply_settings(harness.pipeline, sku="GLV-M", actor="coord", reorder_point=45)
    assert err.value.field == "reorder_point"
    level = update_supply_settings(harness.pipeline, sku="GLV-M", actor="coord", par=80, reorder_point=55)
    assert (level.par, level.reorder_point, level.settings_changed_by) == (80, 55, "coord")
    assert rules_open(harness) == {"supply-low.GLV-M"}
    assert harness.pipeline.engine.rules["supply-low.GLV-M"].fire_low == 55
    # A restart keeps the person's settings over the config's.
    harness.restart()
    assert harness.item("GLV-M").reorder_point == 55
    assert harness.pipeline.engine.rules["supply-low.GLV-M"].fire_low == 55
    assert rules_open(harness) == {"supply-low.GLV-M"}


def test_supply_reads(harness: InventoryHarness) -> None:
    assert [lv.sku for lv in list_supplies(harness.sessions)] == ["LIN-S", "GLV-M"]
    assert [lv.sku for lv in list_supplies(harness.sessions, location="Store A")] == ["GLV-M"]
    assert list_supplies(harness.sessions, low_only=True) == []
    assert get_supply(harness.sessions, sku="GLV-M").on_hand == 50
    with pytest.raises(NotFound):
        get_supply(harness.sessions, sku="NOPE")


def test_restock_list_and_csv_worked_example(harness: InventoryHarness, clock: FakeClock) -> None:
    assert harness.pipeline is not None
    record_count(harness.pipeline, sku="GLV-M", count=12, actor="sam")
    record_count(harness.pipeline, sku="LIN-S", count=20, actor="sam")
    lines = restock_list(harness.sessions, now=clock())
    assert [(line.vendor, line.sku, line.quantity) for line in lines] == [
        ("Acme Linen", "LIN-S", 100),  # 100 − 20 − 0 = 80 → 4 packs of 25
        ("Medline", "GLV-M", 20),  # 40 − 12 − 10 = 18 → 2 packs of 10
    ]
    rows = list(csv.DictReader(io.StringIO(restock_csv(lines))))
    assert rows[1]["sku"] == "GLV-M" and rows[1]["order_quantity"] == "20" and rows[1]["packs"] == "2"
    assert rows[1]["storeroom"] == "Store A" and "reorder point" in rows[1]["reason"]


def test_an_item_seeded_low_from_the_config_alerts_at_start_up(db_url: str, clock: FakeClock) -> None:
    config = config_from(CONFIG.replace("on_hand: 50", "on_hand: 5"))
    h = InventoryHarness(config, db_url, clock)
    h.start()
    try:
        assert h.pipeline is not None
        h.pipeline.flush()
        assert rules_open(h) == {"supply-low.GLV-M"}
        h.restart()
        h.pipeline.flush()
        assert len(h.open_alerts()) == 1  # a restart re-checks without duplicating
    finally:
        h.close()


def test_a_batch_retried_after_a_storage_error_does_not_count_its_use_twice(
    harness: InventoryHarness, clock: FakeClock
) -> None:
    from sqlalchemy.exc import OperationalError

    assert harness.pipeline is not None
    failures = [1]

    def flaky(session: object, readings: object) -> list[object]:
        if failures:
            failures.pop()
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        return []

    t0 = clock()
    harness.submit(count("GLV-M", 40, t0 + timedelta(days=2)))  # 10 used over 2 days
    harness.pipeline.reading_hooks.append(flaky)  # type: ignore[arg-type]
    harness.pipeline.retry_delay = 0.01
    harness.submit(count("GLV-M", 30, t0 + timedelta(days=4)))  # fails once, then stored
    assert not failures
    assert [r.value for r in harness.records("GLV-M")] == [50, 40, 30]
    assert harness.item("GLV-M").daily_use == pytest.approx(20 / 4)
