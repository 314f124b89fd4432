"""Printer toner linked to cartridges in the storeroom: one alert that says both facts and names the SKU."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from agent.services.supplies import record_count
from tests.agent.harness import config_from
from tests.inventory.harness import InventoryHarness, equipment_reading
from tests.support.clock import FakeClock

CONFIG = """
site: {id: site-a, name: St Mary's East}
equipment:
  - {id: printer-2f, name: Printer 2F, kind: printer, location: Ward 2, team: facilities, model: HP LaserJet Pro M404dn}
  - {id: printer-lab, name: Lab printer, kind: printer, location: Lab, team: facilities, model: Brother HL-L2350}
supplies:
  - {sku: TNR-58A-BK, name: HP 58A black toner, location: IT store, vendor: Insight, par: 4, reorder_point: 1,
     fits_models: [LaserJet Pro M404], part_numbers: [CF258A], on_hand: 0}
  - {sku: TNR-58X-BK, name: HP 58X black toner (high yield), location: IT store, vendor: Insight, par: 2,
     reorder_point: 0, fits_models: [LaserJet Pro M428], part_numbers: [CF258X], on_hand: 3}
  - {sku: TNR-TN760, name: Brother TN-760 black, location: IT store, vendor: Insight, par: 2, reorder_point: 0,
     fits_models: [HL-L2350], on_hand: 0}
  - {sku: TNR-TN760-C, name: Brother TN-760 cyan, location: IT store, vendor: Insight, par: 2, reorder_point: 0,
     fits_models: [HL-L2350], on_hand: 5}
"""


@pytest.fixture
def harness(db_url: str, clock: FakeClock) -> Iterator[InventoryHarness]:
    h = InventoryHarness(config_from(CONFIG), db_url, clock)
    h.start()
    try:
        yield h
    finally:
        h.close()


def naming(h: InventoryHarness, sku: str) -> list[str]:
    return [a.message for a in h.open_alerts() if sku in a.message]


def test_toner_at_5_percent_and_no_cartridge_on_hand_is_one_alert_naming_the_sku(
    harness: InventoryHarness, clock: FakeClock
) -> None:
    t = clock()
    for minute in range(3):  # several polls: still one alert
        at = t + timedelta(minutes=minute)
        harness.submit(
            equipment_reading("printer-2f", "toner.black.part", "CF258A", at),
            equipment_reading("printer-2f", "toner.black.pct", 5.0 - minute * 0.5, at, "%"),
        )
    messages = naming(harness, "TNR-58A-BK")
    assert len(messages) == 1, harness.open_alerts()
    # One alert in all: the built-in "toner low" is held back by the one that says more.
    on_printer = {a.rule_id for a in harness.open_alerts() if a.subject == "printer-2f"}
    assert on_printer == {"toner-no-cartridge.printer-2f.black"}
    message = messages[0]
    assert "Printer 2F in Ward 2" in message
    assert "black toner is at 5%" in message or "black toner is at 4" in message
    assert "no cartridge TNR-58A-BK (HP 58A black toner) is on hand in IT store" in message
    alert = next(a for a in harness.open_alerts() if a.rule_id == "toner-no-cartridge.printer-2f.black")
    assert alert.subject == "printer-2f" and alert.team == "supply"
    assert alert.worst_value == 4.0
    # The high-yield cartridge on hand fits another model: it doesn't count as a spare here.
    assert not naming(harness, "TNR-58X-BK")


def test_a_cartridge_arriving_clears_it_and_the_link_survives_a_restart(
    harness: InventoryHarness, clock: FakeClock
) -> None:
    t = clock()
    harness.submit(
        equipment_reading("printer-2f", "toner.black.part", "CF258A", t),
        equipment_reading("printer-2f", "toner.black.pct", 5.0, t, "%"),
    )
    assert len(naming(harness, "TNR-58A-BK")) == 1
    pipeline = harness.restart()
    assert len(naming(harness, "TNR-58A-BK")) == 1
    clock.advance(timedelta(minutes=5))
    record_count(pipeline, sku="TNR-58A-BK", count=2, actor="sam", comment="delivery")
    assert naming(harness, "TNR-58A-BK") == []
    # A spare is on hand but the toner is still low: the next poll opens the plain alert.
    harness.submit(equipment_reading("printer-2f", "toner.black.pct", 5.0, clock() + timedelta(minutes=1), "%"))
    on_printer = {a.rule_id for a in harness.open_alerts() if a.subject == "printer-2f"}
    assert on_printer == {"printer-toner-low[toner.black.pct]"}


def test_linked_by_model_and_colour_when_the_printer_reports_no_part_number(
    harness: InventoryHarness, clock: FakeClock
) -> None:
    t = clock()
    harness.submit(
        equipment_reading("printer-lab", "toner.black.pct", 3.0, t, "%"),
        equipment_reading("printer-lab", "toner.cyan.pct", 3.0, t, "%"),
    )
    rules = {a.rule_id for a in harness.open_alerts() if a.rule_id.startswith("toner-no-cartridge.")}
    # Black has no spare (TN-760 black: 0); cyan has 5 of its own cartridge.
    assert rules == {"toner-no-cartridge.printer-lab.black"}
    assert len(naming(harness, "TNR-TN760 ")) == 1 or len(naming(harness, "TNR-TN760 (")) == 1


def test_toner_that_is_fine_raises_nothing(harness: InventoryHarness, clock: FakeClock) -> None:
    harness.submit(
        equipment_reading("printer-2f", "toner.black.part", "CF258A", clock()),
        equipment_reading("printer-2f", "toner.black.pct", 60.0, clock(), "%"),
    )
    assert not [a for a in harness.open_alerts() if a.rule_id.startswith("toner-no-cartridge.")]
