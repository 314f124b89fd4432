"""The inventory reading hook: counts become stock records, on-hand updates, daily use and derived
readings; printer toner is linked to cartridge SKUs so "toner low and no spare" is one alert.

It runs on the pipeline's writer thread inside each batch's transaction, before rule evaluation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from agent.inventory.supply_rules import DAYS_METRIC, DROP_METRIC, put_rule, toner_rule
from agent.inventory.use_ledger import UseLedger
from agent.storage.models import LatestReading, StockRecord, SupplyItem
from rules.consumption import (
    CHANGE_UNEXPECTED_DROP,
    DEFAULT_UNEXPECTED_DAYS,
    DEFAULT_USE_WINDOW,
    classify_change,
)
from rules.engine import Engine
from rules.reading import Reading
from rules.restock import days_of_supply

log = logging.getLogger(__name__)

TONER_PCT = re.compile(r"^toner\.([a-z0-9_]+)\.pct$")
TONER_PART = re.compile(r"^toner\.([a-z0-9_]+)\.part$")
COVERED_PCT = 100.0  # what pct_without_spare reads while a spare cartridge is on hand


@dataclass(frozen=True, slots=True)
class PrinterInfo:
    id: str
    model: str


@dataclass(frozen=True, slots=True)
class CartridgeInfo:
    sku: str
    name: str
    location: str
    team: str
    fits_models: tuple[str, ...]
    part_numbers: tuple[str, ...]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _source_kind(source: str) -> str:
    return source.split(":", 1)[0] or "unknown"


class InventoryHook:
    """Callable as a pipeline reading hook; also used directly for people's counts."""

    def __init__(
        self,
        *,
        engine: Engine,
        printers: Mapping[str, PrinterInfo],
        cartridges: Sequence[CartridgeInfo],
        unexpected_days: float = DEFAULT_UNEXPECTED_DAYS,
        use_window: timedelta = DEFAULT_USE_WINDOW,
    ) -> None:
        self.engine = engine
        self.printers = dict(printers)
        self.cartridges = list(cartridges)
        self.unexpected_days = unexpected_days
        self.use_window = use_window
        self.ledger = UseLedger(use_window)
        self._parts: dict[tuple[str, str], str] = {}  # (printer, colour) → part number it reports
        self._toner: dict[tuple[str, str], tuple[float, datetime]] = {}  # latest pct per printer colour
        self._links: dict[tuple[str, str], tuple[str, ...]] = {}  # (printer, colour) → cartridge skus

    # ------------------------------------------------------------------ hook
    def __call__(self, session: Session, readings: Sequence[Reading]) -> list[Reading]:
        derived: list[Reading] = []
        self._prefetch(session, {r.subject for r in readings if r.subject_kind == "supply" and r.metric == "count"})
        for reading in readings:
            try:
                if reading.subject_kind == "supply":
                    if reading.metric == "count" and isinstance(reading.value, float):
                        derived.extend(self.apply_count(session, reading))
                elif reading.metric.startswith("toner.") and reading.subject in self.printers:
                    derived.extend(self._toner_reading(session, reading))
            except DBAPIError:
                raise  # storage trouble: the pipeline retries the whole batch
            except Exception:  # noqa: BLE001 - one odd reading must not lose the batch
                log.exception("inventory could not process %s/%s", reading.subject, reading.metric)
        return derived

    # ------------------------------------------------------------------ counts
    @staticmethod
    def _prefetch(session: Session, skus: set[str]) -> None:
        """Load the batch's items in one query instead of one per item."""
        rows: dict[str, SupplyItem | None] = session.info.setdefault("inventory_rows", {})
        wanted = [sku for sku in skus if sku not in rows]
        if not wanted:
            return
        with session.no_autoflush:
            for row in session.scalars(select(SupplyItem).where(SupplyItem.sku.in_(wanted))).all():
                rows[row.sku] = row

    @staticmethod
    def _item(session: Session, sku: str) -> SupplyItem | None:
        """The item's row, held for the whole batch: the session only keeps clean rows weakly, and
        reloading each one per count (with a flush before every load) costs more than the rest."""
        rows: dict[str, SupplyItem | None] = session.info.setdefault("inventory_rows", {})
        if sku not in rows:
            with session.no_autoflush:
                rows[sku] = session.get(SupplyItem, sku)
        return rows[sku]

    def apply_count(self, session: Session, reading: Reading, *, actor: str = "", comment: str = "") -> list[Reading]:
        """Record one count: stock record, on hand, daily use; returns readings derived from it."""
        assert isinstance(reading.value, float)
        row = self._item(session, reading.subject)
        if row is None:
            return []  # the collector already reported the unknown sku
        value = reading.value
        at = reading.ts
        source = _source_kind(reading.source)
        by_person = source == "person"
        if row.counted_at is not None and at < row.counted_at:
            if not by_person:
                log.debug("late count for %s at %s ignored (counted at %s)", row.sku, at, row.counted_at)
                return []
            self._backfill(session, row, reading, actor=actor, comment=comment)
            return []
        self.ledger.ensure_loaded(session, row.sku, at)
        previous = row.on_hand
        elapsed = at - row.counted_at if row.counted_at is not None else timedelta(0)
        verdict = classify_change(
            previous, value, daily_use=row.daily_use, elapsed=elapsed, unexpected_days=self.unexpected_days
        )
        derived: list[Reading] = []
        if by_person or previous is None or value != previous:
            session.add(
                StockRecord(
                    sku=row.sku,
                    at=at,
                    source=source,
                    actor=actor or reading.source,
                    previous=previous,
                    value=value,
                    change=verdict.kind,
                    comment=comment,
                )
            )
            self.ledger.record(session, row.sku, at, verdict.consumed)
        if verdict.kind == CHANGE_UNEXPECTED_DROP and previous is not None:
            derived.append(
                Reading(
                    subject=row.sku,
                    metric=DROP_METRIC,
                    value=float(previous - value),
                    ts=at,
                    unit=reading.unit or row.unit,
                    source=reading.source,
                    subject_kind="supply",
                )
            )
        row.on_hand = value
        row.counted_at = max(at, row.counted_at) if row.counted_at else at
        row.updated_at = at
        # Recomputed on every count, so use that stopped shows as falling daily use.
        row.daily_use = self.ledger.daily_use(session, row.sku, at)
        days = days_of_supply(value, row.daily_use)
        if days is not None:
            derived.append(
                Reading(
                    subject=row.sku,
                    metric=DAYS_METRIC,
                    value=round(days, 2),
                    ts=at,
                    unit="days",
                    source=reading.source,
                    subject_kind="supply",
                )
            )
        derived.extend(self._cartridge_changed(session, row.sku, at))
        return derived

    def _backfill(self, session: Session, row: SupplyItem, reading: Reading, *, actor: str, comment: str) -> None:
        """A person's count from before the latest one (copied from a paper sheet): recorded between
        its neighbours in time, classified against the count before it, and the count after it is
        re-classified against this one. On hand stays as the latest count says."""
        assert isinstance(reading.value, float)
        at, value = reading.ts, reading.value
        by_time = (StockRecord.at, StockRecord.id)
        before = session.scalars(
            select(StockRecord).where(StockRecord.sku == row.sku, StockRecord.at <= at)
            .order_by(*(c.desc() for c in by_time)).limit(1)
        ).first()
        after = session.scalars(
            select(StockRecord).where(StockRecord.sku == row.sku, StockRecord.at > at).order_by(*by_time).limit(1)
        ).first()
        use = row.daily_use
        previous = before.value if before is not None else None
        verdict = classify_change(previous, value, daily_use=use, elapsed=at - before.at if before else timedelta(0),
                                  unexpected_days=self.unexpected_days)
        session.add(StockRecord(sku=row.sku, at=at, source="person", actor=actor or reading.source,
                                previous=previous, value=value, change=verdict.kind, comment=comment))
        if after is not None:
            again = classify_change(value, after.value, daily_use=use, elapsed=after.at - at,
                                    unexpected_days=self.unexpected_days)
            after.previous, after.change = value, again.kind
        session.flush()
        # Daily use from the re-ordered history: read it again from this session.
        self.ledger.forget(row.sku)
        now = row.counted_at or at
        self.ledger.ensure_loaded(session, row.sku, now)
        row.daily_use = self.ledger.daily_use(session, row.sku, now)

    # ------------------------------------------------------------------ toner
    def _toner_reading(self, session: Session, reading: Reading) -> list[Reading]:
        part = TONER_PART.match(reading.metric)
        if part is not None and isinstance(reading.value, str):
            key = (reading.subject, part.group(1))
            if self._parts.get(key) != reading.value:
                self._parts[key] = reading.value
                self._links.pop(key, None)
            return []
        pct = TONER_PCT.match(reading.metric)
        if pct is None or not isinstance(reading.value, float):
            return []
        key = (reading.subject, pct.group(1))
        self._toner[key] = (reading.value, reading.ts)
        derived = self._without_spare(session, key, reading.ts)
        return [derived] if derived is not None else []

    def cartridges_for(self, printer_id: str, colour: str) -> tuple[str, ...]:
        """Cartridge SKUs for one colour of one printer: by the part number the printer reports,
        else by the printer's model among the items' fits_models (narrowed by colour if several)."""
        key = (printer_id, colour)
        if key in self._links:
            return self._links[key]
        found: list[CartridgeInfo] = []
        part = self._parts.get(key)
        if part:
            wanted = _norm(part)
            found = [c for c in self.cartridges if any(_norm(p) == wanted for p in c.part_numbers)]
        if not found:
            printer = self.printers.get(printer_id)
            model = _norm(printer.model) if printer and printer.model else ""
            if model:
                found = [c for c in self.cartridges if any(_norm(m) and _norm(m) in model for m in c.fits_models)]
                if len(found) > 1:
                    by_colour = [c for c in found if colour in f"{c.sku} {c.name}".lower()]
                    if by_colour:
                        found = by_colour
        skus = tuple(c.sku for c in found)
        self._links[key] = skus
        if skus:
            self._ensure_rule(printer_id, colour, found)
        return skus

    def _ensure_rule(self, printer_id: str, colour: str, found: Sequence[CartridgeInfo]) -> None:
        rule = toner_rule(
            printer_id=printer_id,
            colour=colour,
            cartridges=[(c.sku, c.name, c.location) for c in found],
            team=found[0].team,
        )
        put_rule(self.engine, rule)

    def _without_spare(self, session: Session, key: tuple[str, str], at: datetime) -> Reading | None:
        """The toner level while no spare cartridge is on hand; 100 while one is (clears the alert)."""
        toner = self._toner.get(key)
        skus = self.cartridges_for(*key)
        if toner is None or not skus:
            return None
        on_hand = [self._item(session, sku) for sku in skus]
        counts = [row.on_hand for row in on_hand if row is not None]
        if not counts or all(c is None for c in counts):
            return None  # never counted: we don't know whether a spare is there
        spare = sum(c for c in counts if c is not None) > 0
        return Reading(
            subject=key[0],
            metric=f"toner.{key[1]}.pct_without_spare",
            value=COVERED_PCT if spare else toner[0],
            ts=max(at, toner[1]),
            unit="%",
            source="inventory",
            subject_kind="equipment",
        )

    def _cartridge_changed(self, session: Session, sku: str, at: datetime) -> list[Reading]:
        """A cartridge count changed: re-check every printer colour it is linked to."""
        keys = [key for key, skus in self._links.items() if sku in skus and key in self._toner]
        if not keys:
            return []
        out: list[Reading] = []
        for key in keys:
            derived = self._without_spare(session, key, at)
            if derived is not None:
                out.append(derived)
        return out

    def current_toner_readings(self, session: Session, at: datetime) -> list[Reading]:
        """pct_without_spare for every printer colour with a known toner level (start-up re-check)."""
        out: list[Reading] = []
        for key in list(self._toner):
            derived = self._without_spare(session, key, at)
            if derived is not None:
                out.append(derived)
        return out

    # ------------------------------------------------------------------ start-up
    def preload(self, session: Session) -> None:
        """Learn part numbers and toner levels from the latest readings, and create the toner rules,
        so that alerts restored after a restart find their rules."""
        rows = session.scalars(
            select(LatestReading).where(LatestReading.metric.like("toner.%"), LatestReading.subject.in_(self.printers))
        ).all()
        for row in rows:
            part = TONER_PART.match(row.metric)
            if part is not None and row.value_text:
                self._parts[(row.subject, part.group(1))] = row.value_text
        for row in rows:
            pct = TONER_PCT.match(row.metric)
            if pct is not None and row.value_num is not None:
                key = (row.subject, pct.group(1))
                self._toner[key] = (row.value_num, row.ts)
                self.cartridges_for(*key)
