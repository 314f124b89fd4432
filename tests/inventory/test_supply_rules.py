"""Supply rules render plain messages, whatever characters names contain, and swap cleanly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from agent.inventory.supply_rules import replace_supply_rules, rules_for_item, toner_rule
from rules.engine import Engine
from rules.messages import render_message
from rules.model import Rule, Subject


@dataclass
class Item:
    sku: str
    name: str
    location: str
    reorder_point: float
    lead_time_days: float
    unit: str = "units"


def test_names_with_braces_render_literally() -> None:
    item = Item("GLV-{M}", "Gloves {M}", "Store {A}", 10, 2)
    subject = Subject(id=item.sku, name=item.name, location=item.location, subject_kind="supply")
    low = next(r for r in rules_for_item(item) if r.id.startswith("supply-low."))
    assert render_message(low, subject, 4.0, "units") == (
        "Gloves {M} in Store {A}: 4 units left, at or below the reorder point of 10 units"
    )
    toner = toner_rule(printer_id="p1", colour="black", cartridges=[("TNR-{1}", "Toner {x}", "IT {store}")], team="supply")
    printer = Subject(id="p1", name="Printer 1", location="Ward 2")
    assert render_message(toner, printer, 5.0, "%") == (
        "Printer 1 in Ward 2: black toner is at 5% and no cartridge TNR-{1} (Toner {x}) is on hand in "
        "IT {store}: order one now"
    )


def test_messages_speak_the_items_own_unit() -> None:
    subject = Subject(id="GLV-M", name="Gloves M", location="Store A", subject_kind="supply")
    rules = {r.id.split(".")[0]: r for r in rules_for_item(Item("GLV-M", "Gloves M", "Store A", 20, 2, unit="box"))}
    assert render_message(rules["supply-low"], subject, 18.0, "units").startswith(
        "Gloves M in Store A: 18 boxes left, at or below the reorder point of 20 boxes"
    )
    assert render_message(rules["supply-low"], subject, 1.0, "").startswith("Gloves M in Store A: 1 box left")
    packs = {r.id.split(".")[0]: r for r in rules_for_item(Item("PAD", "Pads", "", 5, 2, unit="pack"))}
    drop = render_message(packs["supply-unexpected-drop"], Subject(id="PAD", name="Pads", subject_kind="supply"), 22.0, "units")
    assert drop.startswith("Pads: 22 packs went at once")


def test_no_lead_time_no_days_rule() -> None:
    assert not [r for r in rules_for_item(Item("A", "A", "", 1, 0)) if r.id.startswith("supply-days-short.")]


def test_replacing_supply_rules_keeps_other_rules() -> None:
    other = Rule(id="fridge-temp", metric="temperature_c", kind=rules_for_item(Item("A", "A", "", 1, 1))[0].kind,
                 fire_high=8)
    engine = Engine([other, *rules_for_item(Item("A", "A", "", 1, 1))], {}, started_at=datetime(2026, 1, 1, tzinfo=UTC))
    replace_supply_rules(engine, [Item("A", "A", "", 5, 1), Item("B", "B", "", 2, 0)])
    assert engine.rules["fridge-temp"] == other
    assert engine.rules["supply-low.A"].fire_low == 5
    assert "supply-low.B" in engine.rules and "supply-days-short.B" not in engine.rules
