"""Cold chain in the agent: feed readings to the excursion trackers, keep their records, and hand
the engine the derived "minutes out of range in the window" readings (rules/cold_chain.py).

Runs as a pipeline reading hook, on the writer thread, inside the batch's transaction.
A tracker is seeded from stored history the first time its unit is seen, so a restart
neither loses an excursion in progress nor records it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from agent.config.model import AgentConfig
from agent.config.rules_build import build_cold_chain
from agent.storage.models import ExcursionRecord, ReadingHistory
from rules.cold_chain import (
    DEFAULT_SILENT_AFTER,
    ColdChainSpec,
    ColdChainWatch,
    Excursion,
    ExcursionTracker,
    Side,
)
from rules.model import Rule, Subject
from rules.reading import Reading

if TYPE_CHECKING:
    from agent.services.equipment_history import HistoryService

log = logging.getLogger(__name__)


def cold_chain_specs(config: AgentConfig) -> list[ColdChainSpec]:
    return [build_cold_chain(r) for r in config.rules if r.cold_chain is not None]


def cold_chain_units(config: AgentConfig, subjects: Mapping[str, Subject]) -> dict[str, ColdChainSpec]:
    """Equipment id → the (first) cold-chain rule that watches it."""
    out: dict[str, ColdChainSpec] = {}
    for spec in cold_chain_specs(config):
        for subject in subjects.values():
            if spec.match.matches(subject):
                out.setdefault(subject.id, spec)
    return out


def silent_after(config: AgentConfig, subject: str) -> timedelta:
    for item in config.equipment:
        if item.id == subject and item.silent_after is not None:
            return item.silent_after
    return DEFAULT_SILENT_AFTER


class ColdChainHook:
    """A pipeline ReadingHook."""

    def __init__(self, specs: Sequence[ColdChainSpec], subjects: Mapping[str, Subject]) -> None:
        self.watch = ColdChainWatch(specs, subjects)

    def __call__(self, session: Session, readings: Sequence[Reading]) -> Sequence[Reading]:
        derived: list[Reading] = []
        for reading in readings:
            specs = self.watch.specs_for(reading)
            if not specs:
                continue
            for spec in specs:
                if self.watch.tracker(spec, reading.subject) is None:
                    self.watch.add_tracker(_seeded(session, spec, reading))
            result = self.watch.observe(reading)
            for record in result.changed:
                _upsert(session, record)
            for rule_id, subject, start in result.removed:
                session.execute(
                    delete(ExcursionRecord).where(
                        ExcursionRecord.rule_id == rule_id,
                        ExcursionRecord.subject == subject,
                        ExcursionRecord.start_at == start,
                    )
                )
            derived.extend(result.derived)
        return derived


def _seeded(session: Session, spec: ColdChainSpec, reading: Reading) -> ExcursionTracker:
    tracker = ExcursionTracker(spec, reading.subject)
    since = reading.ts - tracker.keep
    rows = list(
        session.execute(
            select(ReadingHistory.ts, ReadingHistory.value_num).where(
                ReadingHistory.subject == reading.subject,
                ReadingHistory.metric == spec.metric,
                ReadingHistory.ts >= since,
                ReadingHistory.value_num.is_not(None),
            )
        ).all()
    )
    records = [
        _excursion(row)
        for row in session.scalars(
            select(ExcursionRecord).where(
                ExcursionRecord.rule_id == spec.rule_id,
                ExcursionRecord.subject == reading.subject,
                or_(ExcursionRecord.end_at.is_(None), ExcursionRecord.end_at >= since),
            )
        )
    ]
    # An excursion in progress that began before the history we load: start from its first reading.
    open_starts = [r.start for r in records if r.end is None and r.start < since]
    if open_starts:
        rows += session.execute(
            select(ReadingHistory.ts, ReadingHistory.value_num).where(
                and_(
                    ReadingHistory.subject == reading.subject,
                    ReadingHistory.metric == spec.metric,
                    ReadingHistory.ts >= min(open_starts),
                    ReadingHistory.ts < since,
                    ReadingHistory.value_num.is_not(None),
                )
            )
        ).all()
    tracker.seed([(ts, float(v)) for ts, v in rows if v is not None], records)
    return tracker


def _excursion(row: ExcursionRecord) -> Excursion:
    return Excursion(
        rule_id=row.rule_id,
        subject=row.subject,
        metric=row.metric,
        side=Side(row.side),
        start=row.start_at,
        end=row.end_at,
        extreme=row.extreme,
        last_at=row.last_at,
    )


def _upsert(session: Session, record: Excursion) -> None:
    row = session.scalars(
        select(ExcursionRecord).where(
            ExcursionRecord.rule_id == record.rule_id,
            ExcursionRecord.subject == record.subject,
            ExcursionRecord.start_at == record.start,
        )
    ).first()
    if row is None:
        row = ExcursionRecord(rule_id=record.rule_id, subject=record.subject, start_at=record.start)
        session.add(row)
    row.metric = record.metric
    row.side = record.side.value
    row.end_at = record.end
    row.last_at = record.last_at
    row.extreme = record.extreme
    session.flush()


def load_excursions(session: Session, subject: str, start: datetime, end: datetime) -> list[Excursion]:
    """Excursions of a unit overlapping [start, end), oldest first."""
    rows = session.scalars(
        select(ExcursionRecord)
        .where(
            ExcursionRecord.subject == subject,
            ExcursionRecord.start_at < end,
            or_(ExcursionRecord.end_at.is_(None), ExcursionRecord.end_at >= start),
        )
        .order_by(ExcursionRecord.start_at)
    )
    return [_excursion(r) for r in rows]


def history_service(
    config: AgentConfig,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    subjects: Mapping[str, Subject] | None = None,
    rules: Callable[[], Mapping[str, Rule]] | None = None,
) -> HistoryService:
    """The history/evidence service for the API, the CLI and the monthly job."""
    from agent.catalog import build_rules, build_subjects
    from agent.services.equipment_history import HistoryService

    subjects = subjects if subjects is not None else build_subjects(config)
    if rules is None:
        fixed = {r.id: r for r in build_rules(config)}
        rules = lambda: fixed  # noqa: E731
    return HistoryService(
        sessions=sessions,
        clock=clock,
        subjects=subjects,
        rules=rules,
        units=cold_chain_units(config, subjects),
        silent_after=lambda equipment_id: silent_after(config, equipment_id),
        site_name=config.site.name,
        timezone=config.site.timezone,
    )


def wire(config: AgentConfig, subjects: Mapping[str, Subject], pipeline: object) -> ColdChainHook | None:
    specs = cold_chain_specs(config)
    if not specs:
        return None
    hook = ColdChainHook(specs, subjects)
    pipeline.reading_hooks.append(hook)  # type: ignore[attr-defined]
    return hook
