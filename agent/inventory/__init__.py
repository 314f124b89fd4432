"""Inventory: supply items, counts, consumption, and the rules that watch them.

The runtime calls ``supply_rules(config)`` when it builds the engine and
``setup_inventory(...)`` once storage and the pipeline exist (before the pipeline starts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.config.model import AgentConfig
from agent.inventory.hook import CartridgeInfo, InventoryHook, PrinterInfo
from agent.inventory.supply_rules import (
    COUNT_METRIC,
    replace_supply_rules,
    report_failed_rule,
    supply_rules_for,
)
from agent.inventory.sync import sync_supplies
from agent.pipeline import CommandContext, Pipeline
from agent.storage.models import SupplyItem
from rules.model import Rule
from rules.reading import Reading

log = logging.getLogger(__name__)


def supply_rules(config: AgentConfig) -> list[Rule]:
    """Rules from the config's items (the engine's first set; storage's settings replace them at set-up)."""
    return [*supply_rules_for(config.supplies), report_failed_rule()]


@dataclass
class Inventory:
    hook: InventoryHook
    sessions: sessionmaker[Session]


def build_hook(config: AgentConfig, pipeline: Pipeline, session: Session) -> InventoryHook:
    teams = {s.sku: s.team for s in config.supplies}
    rows = session.scalars(select(SupplyItem)).all()
    cartridges = [
        CartridgeInfo(
            sku=row.sku,
            name=row.name,
            location=row.location,
            team=teams.get(row.sku, "supply"),
            fits_models=tuple(str(m) for m in row.fits_models or ()),
            part_numbers=tuple(str(p) for p in row.part_numbers or ()),
        )
        for row in rows
        if row.fits_models or row.part_numbers
    ]
    printers = {e.id: PrinterInfo(id=e.id, model=e.model) for e in config.equipment if e.kind == "printer"}
    return InventoryHook(engine=pipeline.engine, printers=printers, cartridges=cartridges)


def setup_inventory(
    *, config: AgentConfig, sessions: sessionmaker[Session], pipeline: Pipeline, clock: Callable[[], datetime]
) -> Inventory:
    """Sync items from the config, swap in rules from storage's settings, and hook counts in."""
    with sessions() as session:
        created = sync_supplies(session, config.supplies, site_id=config.site.id, now=clock())
        session.commit()
        rows = session.scalars(select(SupplyItem).where(SupplyItem.sku.in_([s.sku for s in config.supplies]))).all()
        replace_supply_rules(pipeline.engine, rows)
        if report_failed_rule().id not in pipeline.engine.rules:
            pipeline.engine.replace_rules([*pipeline.engine.rules.values(), report_failed_rule()])
        hook = build_hook(config, pipeline, session)
        hook.preload(session)
    pipeline.reading_hooks.append(hook)
    # Runs once the writer starts (after the engine is restored): items seeded low from the config,
    # or that went low while the agent was down through a settings change, alert without a new count.
    pipeline.call(lambda ctx: _check_current_levels(ctx, hook))
    log.info("inventory ready", extra={"supplies": len(config.supplies), "new_supplies": created})
    return Inventory(hook=hook, sessions=sessions)


def _check_current_levels(ctx: CommandContext, hook: InventoryHook) -> int:
    readings: list[Reading] = []
    for row in ctx.session.scalars(select(SupplyItem).where(SupplyItem.on_hand.is_not(None))).all():
        assert row.on_hand is not None
        readings.append(
            Reading(
                subject=row.sku, metric=COUNT_METRIC, value=float(row.on_hand), ts=ctx.now, unit=row.unit,
                source="inventory:startup", subject_kind="supply",
            )
        )
    readings.extend(hook.current_toner_readings(ctx.session, ctx.now))
    ctx.apply(ctx.engine.evaluate_many(readings))
    return len(readings)


def find_hook(pipeline: Pipeline) -> InventoryHook | None:
    for hook in pipeline.reading_hooks:
        if isinstance(hook, InventoryHook):
            return hook
    return None


__all__ = ["Inventory", "InventoryHook", "find_hook", "setup_inventory", "supply_rules"]
