"""A supply's history as people read it: each count with its source and what kind of change it
was, and where the daily-use figure comes from. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.consumption import (
    CHANGE_CONSUMPTION,
    CHANGE_COUNT,
    CHANGE_RESTOCK,
    CHANGE_UNEXPECTED_DROP,
    MIN_OBSERVED_DAYS,
)

USE = "use"
RESTOCK = "restock"
CORRECTION = "correction"
UNEXPECTED_DROP = "unexpected_drop"
FIRST = "first_count"
CLASSIFICATIONS = (USE, RESTOCK, CORRECTION, UNEXPECTED_DROP, FIRST)

_WORDS = {USE: "use", RESTOCK: "restock", CORRECTION: "recount, no change", UNEXPECTED_DROP: "unexpected drop",
          FIRST: "first count"}


def classify(change: str, previous: float | None) -> str:
    """The stored kind of change in the API's words: a drop counted as use, a restock, an
    unexpected drop, a recount that found what was expected (correction), or the first count."""
    if change == CHANGE_CONSUMPTION:
        return USE
    if change == CHANGE_RESTOCK:
        return RESTOCK
    if change == CHANGE_UNEXPECTED_DROP:
        return UNEXPECTED_DROP
    if change == CHANGE_COUNT and previous is None:
        return FIRST
    return CORRECTION


def classification_text(classification: str) -> str:
    return _WORDS.get(classification, classification.replace("_", " "))


@dataclass(frozen=True, slots=True)
class StockRecordView:
    """One stock record: when, who or what counted, on hand before and after, and the change."""

    id: int
    sku: str
    at: datetime
    source: str  # mqtt, person, snmp, config
    topic: str | None  # the MQTT topic a shelf or scale published on
    device: str | None  # the device that reported it (SNMP)
    person: str | None  # the username of a person's count
    person_name: str | None  # their display name
    before: float | None
    after: float
    change: float | None  # after − before
    classification: str  # use, restock, correction, unexpected_drop, first_count
    comment: str = ""

    @property
    def source_text(self) -> str:
        if self.person:
            return self.person_name or self.person
        if self.topic:
            return self.topic
        return self.device or self.source


def record_view(
    *, id: int, sku: str, at: datetime, source: str, actor: str, previous: float | None, value: float,
    change: str, comment: str = "", display_name: str | None = None,
) -> StockRecordView:
    """Split the stored (source, actor) into topic, device or person."""
    detail = actor.split(":", 1)[1] if ":" in actor else actor
    topic = detail if source == "mqtt" else None
    device = detail if source == "snmp" else None
    person = (detail or None) if source == "person" else None
    return StockRecordView(
        id=id, sku=sku, at=at, source=source, topic=topic, device=device, person=person,
        person_name=(display_name or person) if person else None, before=previous, after=value,
        change=None if previous is None else value - previous, classification=classify(change, previous),
        comment=comment,
    )


@dataclass(frozen=True, slots=True)
class StockHistoryPage:
    items: list[StockRecordView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class UseBasis:
    """Where a daily-use figure comes from: units used by the counts in the window ÷ days watched."""

    used: float
    days: float
    since: datetime
    until: datetime
    records: tuple[StockRecordView, ...]  # the "use" counts that add up to ``used``
    daily_use: float | None

    @property
    def text(self) -> str:
        if self.daily_use is None:
            return f"watched for {self.days:.1f} days: too short to call a daily rate"
        n = len(self.records)
        counts = "1 count" if n == 1 else f"{n} counts"
        return f"{self.used:g} used in {counts} over {self.days:.1f} days = {self.daily_use:.2f} a day"


def use_basis(
    records: Sequence[StockRecordView], *, now: datetime, window: timedelta, first_seen: datetime | None = None
) -> UseBasis:
    """Daily use as the inventory computes it (rules.consumption.daily_use), with its records.

    records: the item's stock records in the window (any order); first_seen: its first count ever,
    when that is older than the records given."""
    first = min((r.at for r in records), default=first_seen)
    if first_seen is not None and first is not None:
        first = min(first, first_seen)
    since = max(first, now - window) if first is not None else now
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    used_records = tuple(
        sorted((r for r in records if r.classification == USE and r.at >= since and r.change is not None),
               key=lambda r: r.at)
    )
    used = sum(-(r.change or 0.0) for r in used_records)
    rate = max(used, 0.0) / days if first is not None and days >= MIN_OBSERVED_DAYS else None
    return UseBasis(used=used, days=days, since=since, until=now, records=used_records, daily_use=rate)
