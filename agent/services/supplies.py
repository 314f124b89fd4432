"""Supply levels, counts, settings and the restock list: one set of functions for the API, the CLI
and the nightly job. Writes go through the pipeline so counts and alerts stay in step."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.inventory import find_hook
from agent.inventory.hook import InventoryHook
from agent.inventory.levels import level_of
from agent.inventory.supply_rules import COUNT_METRIC, replace_supply_rules
from agent.pipeline import CommandContext, Pipeline
from agent.services.errors import Invalid, NotFound
from agent.storage.models import AuditEntry, JobClaim, SupplyItem
from agent.storage.readings import write_readings
from rules.reading import InvalidReading, Reading, make_reading
from rules.restock import RestockLine, RestockReportView, SupplyLevel, build_restock_list, days_text

RESTOCK_JOB = "restock-report"


def list_supplies(
    sessions: sessionmaker[Session], *, location: str | None = None, low_only: bool = False
) -> list[SupplyLevel]:
    with sessions() as session:
        query = select(SupplyItem).order_by(SupplyItem.location, SupplyItem.name, SupplyItem.sku)
        if location:
            query = query.where(SupplyItem.location == location)
        levels = [level_of(row) for row in session.scalars(query).all()]
    return [lv for lv in levels if lv.is_low] if low_only else levels


def get_supply(sessions: sessionmaker[Session], *, sku: str) -> SupplyLevel:
    with sessions() as session:
        row = session.get(SupplyItem, sku)
        if row is None:
            raise NotFound(f"no supply item {sku!r}")
        return level_of(row)


def _check_count(count: float) -> float:
    if isinstance(count, bool) or not isinstance(count, int | float):
        raise Invalid("count", "count must be a number")
    value = float(count)
    if not math.isfinite(value):
        raise Invalid("count", "count must be a finite number")
    if value < 0:
        raise Invalid("count", f"count can't be negative (got {value:g})")
    return value


BACKFILL_LIMIT = timedelta(days=30)
FUTURE_SKEW = timedelta(minutes=5)


def _check_at(at: datetime | None, now: datetime, limit: timedelta) -> datetime | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise Invalid("at", "at needs a time zone, e.g. 2026-03-01T09:30:00Z")
    if at > now + FUTURE_SKEW:
        raise Invalid("at", "at is in the future")
    if at < now - limit:
        raise Invalid("at", f"at is more than {limit.days} days back (the limit is api.count_backfill)")
    return at


def record_count(
    pipeline: Pipeline, *, sku: str, count: float, actor: str, comment: str = "", timeout: float = 30.0,
    at: datetime | None = None, backfill_limit: timedelta = BACKFILL_LIMIT,
) -> SupplyLevel:
    """A person's cycle count: a stock record, the new on hand, and the rules re-checked at once.

    ``at``: when it was counted, for counts copied from a paper sheet (no further back than
    ``backfill_limit``); one older than the latest count goes into the history in time order and
    leaves on hand as the latest count says."""
    value = _check_count(count)
    if not actor:
        raise Invalid("actor", "who counted must be given")

    def command(ctx: CommandContext) -> SupplyLevel:
        row = ctx.session.get(SupplyItem, sku)
        if row is None:
            raise NotFound(f"no supply item {sku!r}")
        when = _check_at(at, ctx.now, backfill_limit) or ctx.now
        try:
            reading = make_reading(
                subject=sku, metric=COUNT_METRIC, value=value, ts=when, unit=row.unit,
                source=f"person:{actor}", subject_kind="supply",
            )
        except InvalidReading as exc:
            raise Invalid("count", str(exc)) from None
        hook = find_hook(pipeline) or InventoryHook(engine=ctx.engine, printers={}, cartridges=[])
        late = row.counted_at is not None and when < row.counted_at
        derived = hook.apply_count(ctx.session, reading, actor=actor, comment=comment)
        if late:  # history only: the rules and the latest reading follow the latest count
            ctx.session.flush()
            return level_of(row)
        everything: list[Reading] = [reading, *derived]
        write_readings(ctx.session, everything)
        ctx.apply(ctx.engine.evaluate_many(everything))
        ctx.session.flush()
        return level_of(row)

    return pipeline.call(command).result(timeout)


def update_supply_settings(
    pipeline: Pipeline,
    *,
    sku: str,
    actor: str,
    par: float | None = None,
    reorder_point: float | None = None,
    timeout: float = 30.0,
) -> SupplyLevel:
    """Change PAR and/or reorder point; the engine's supply rules follow, and the item is re-checked."""
    for name, number in (("par", par), ("reorder_point", reorder_point)):
        if number is not None and (not math.isfinite(number) or number < 0):
            raise Invalid(name, f"{name} must be a number at or above 0")

    def command(ctx: CommandContext) -> SupplyLevel:
        row = ctx.session.get(SupplyItem, sku)
        if row is None:
            raise NotFound(f"no supply item {sku!r}")
        new_par = row.par if par is None else par
        new_rop = row.reorder_point if reorder_point is None else reorder_point
        if new_rop > new_par:
            raise Invalid(
                "reorder_point",
                f"reorder point ({new_rop:g}) is above PAR ({new_par:g}): it must be at or below PAR",
            )
        ctx.session.add(AuditEntry(
            at=ctx.now, actor=actor, action="supply.settings", subject=sku,
            details={"par": [row.par, new_par], "reorder_point": [row.reorder_point, new_rop]},
        ))
        row.par, row.reorder_point = new_par, new_rop
        row.settings_changed_by = actor
        row.updated_at = ctx.now
        ctx.session.flush()
        rows = ctx.session.scalars(select(SupplyItem)).all()
        replace_supply_rules(ctx.engine, rows)
        if row.on_hand is not None:
            # Re-check the current count against the new reorder point (not stored as a new count).
            again = Reading(
                subject=sku, metric=COUNT_METRIC, value=float(row.on_hand), ts=ctx.now, unit=row.unit,
                source=f"settings:{actor}", subject_kind="supply",
            )
            ctx.apply(ctx.engine.evaluate(again))
        return level_of(row)

    return pipeline.call(command).result(timeout)


def restock_list(
    sessions: sessionmaker[Session], *, now: datetime, site_id: str | None = None
) -> list[RestockLine]:
    """What to order now, grouped by vendor then storeroom, each line with its days of supply and why.

    ``now`` is when the list is made (the list is built from the latest counts); ``site_id`` keeps
    one site's items when several sites share the database."""
    with sessions() as session:
        query = select(SupplyItem)
        if site_id is not None:
            query = query.where(SupplyItem.site_id == site_id)
        levels = [level_of(row) for row in session.scalars(query).all()]
    return build_restock_list(levels)


CSV_COLUMNS = (
    "vendor", "storeroom", "sku", "name", "unit", "order_quantity", "packs", "pack_size", "on_hand",
    "on_order", "par", "reorder_point", "days_of_supply", "lead_time_days", "reason",
)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def restock_csv(lines: Sequence[RestockLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.vendor, line.location, line.sku, line.name, line.unit, line.quantity, line.packs,
                line.pack_size, _num(line.on_hand), _num(line.on_order), _num(line.par),
                _num(line.reorder_point),
                "" if line.days_of_supply is None else days_text(line.days_of_supply),
                _num(line.lead_time_days), line.reason,
            ]
        )
    return out.getvalue()


def report_view(claim: JobClaim) -> RestockReportView:
    details = dict(claim.details or {})
    return RestockReportView(
        id=claim.id,
        site_id=claim.site_id,
        date=claim.period,
        state=claim.state,
        attempts=claim.attempts,
        recipients=[str(r) for r in claim.recipients or []],
        claimed_by=claim.claimed_by,
        claimed_at=claim.claimed_at,
        finished_at=claim.finished_at,
        last_error=claim.last_error,
        lines=int(details.get("lines", 0) or 0),
        details=details,
    )


def list_restock_reports(
    sessions: sessionmaker[Session], *, limit: int = 60, site_id: str | None = None
) -> list[RestockReportView]:
    """The nightly reports, newest first, with their delivery state (sent, retrying, failed...)."""
    with sessions() as session:
        query = select(JobClaim).where(JobClaim.job == RESTOCK_JOB)
        if site_id is not None:
            query = query.where(JobClaim.site_id == site_id)
        claims = session.scalars(query.order_by(JobClaim.period.desc(), JobClaim.site_id).limit(limit)).all()
        return [report_view(c) for c in claims]
