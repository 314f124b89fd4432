"""Equipment history for the API and pages: downsampled readings, the chart's data and the
cold-chain evidence file (CSV and PDF). The API reaches it as app.state.history."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.cold_chain import load_excursions
from agent.services import history
from agent.storage.models import Alert, AlertEvent, Equipment
from api.ports import InvalidError, NotFoundError
from rules.cold_chain import ColdChainSpec
from rules.history_views import AlertMark, ChartData, ExcursionView, ReadingSeries
from rules.model import INF, ConditionKind, Rule, Subject

MAX_RANGE = timedelta(days=400)
_ANSWER_WORDS = {
    "moved_stock": "moved stock",
    "quarantined_stock": "quarantined stock",
    "called_manufacturer": "called the manufacturer",
    "adjusted_thermostat": "adjusted the thermostat",
    "other": "other",
}


@dataclass
class HistoryService:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    subjects: Mapping[str, Subject]
    rules: Callable[[], Mapping[str, Rule]]
    units: Mapping[str, ColdChainSpec]  # cold-chain equipment id → its rule
    silent_after: Callable[[str], timedelta]
    site_name: str = "Facility"
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # ------------------------------------------------------------------ reads
    def _subject(self, session: Session, equipment_id: str) -> Subject:
        found = self.subjects.get(equipment_id)
        if found is not None and found.subject_kind == "equipment":
            return found
        row = session.get(Equipment, equipment_id)
        if row is None:
            raise NotFoundError(f"equipment {equipment_id!r} not found")
        return Subject(id=row.id, name=row.name, kind=row.kind, location=row.location, team=row.team)

    @staticmethod
    def check_range(start: datetime, end: datetime) -> None:
        if end <= start:
            raise InvalidError("to", "'to' must be after 'from'")
        if end - start > MAX_RANGE:
            raise InvalidError("from", "ask for at most 400 days at a time")

    def readings(
        self, equipment_id: str, *, metric: str | None, start: datetime, end: datetime, step: int | None
    ) -> ReadingSeries:
        self.check_range(start, end)
        with self.sessions() as session:
            self._subject(session, equipment_id)
            metric, unit = self._metric(session, equipment_id, metric)
            if step is not None and (end - start).total_seconds() / step > 5000:
                raise InvalidError("step", "that step gives more than 5000 points; make it longer")
            return history.series(session, subject=equipment_id, metric=metric, start=start, end=end, step=step, unit=unit)

    def _metric(self, session: Session, equipment_id: str, metric: str | None) -> tuple[str, str]:
        name, unit = self._metric_of(session, equipment_id, metric)
        return name, unit or _unit_from_name(name)

    def _metric_of(self, session: Session, equipment_id: str, metric: str | None) -> tuple[str, str]:
        spec = self.units.get(equipment_id)
        found = history.latest_numeric_metric(session, equipment_id, prefer=metric or (spec.metric if spec else "temperature_c"))
        if metric:
            return metric, found[1] if found and found[0] == metric else ""
        if found is None:
            raise NotFoundError(f"equipment {equipment_id!r} has no numeric readings yet")
        return found

    def band(self, subject: Subject, metric: str) -> tuple[float | None, float | None]:
        spec = self.units.get(subject.id)
        if spec is not None and spec.metric == metric:
            return (spec.cold_below if spec.cold_below > -INF else None, spec.hot_above if spec.hot_above < INF else None)
        for rule in self.rules().values():
            if rule.kind is ConditionKind.THRESHOLD and rule.matches_metric(metric) and rule.match.matches(subject):
                low = rule.fire_low if rule.fire_low > -INF else None
                high = rule.fire_high if rule.fire_high < INF else None
                if low is not None or high is not None:
                    return low, high
        return None, None

    def chart(self, equipment_id: str, *, start: datetime, end: datetime, metric: str | None = None) -> ChartData | None:
        """None when the equipment has no numeric readings to draw."""
        self.check_range(start, end)
        with self.sessions() as session:
            subject = self._subject(session, equipment_id)
            try:
                metric, unit = self._metric(session, equipment_id, metric)
            except NotFoundError:
                return None
            series = history.series(session, subject=equipment_id, metric=metric, start=start, end=end, unit=unit)
            low, high = self.band(subject, metric)
            excursions = [
                ExcursionView(e.side.value, e.start, e.end, round(e.duration.total_seconds() / 60, 1), e.extreme)
                for e in load_excursions(session, equipment_id, start, end)
                if e.metric == metric
            ]
            days = history.daily_ranges(session, subject=equipment_id, metric=metric, start=start, end=end, tz=self.tz)
            return ChartData(
                series, low, high, excursions, self._alerts(session, equipment_id, start, end), days,
                cold_chain=equipment_id in self.units,
            )

    def _alerts(self, session: Session, equipment_id: str, start: datetime, end: datetime) -> list[AlertMark]:
        rows = session.scalars(
            select(Alert)
            .where(Alert.subject == equipment_id, Alert.opened_at.is_not(None), Alert.opened_at >= start, Alert.opened_at < end)
            .order_by(Alert.opened_at)
        ).all()
        out = []
        for alert in rows:
            events = session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.at, AlertEvent.id)
            ).all()
            out.append(
                AlertMark(
                    alert_id=alert.id,
                    at=alert.opened_at or alert.since,
                    label=alert.message,
                    status=alert.status,
                    acknowledged_by=alert.acknowledged_by,
                    acknowledged_at=alert.acknowledged_at,
                    corrective_action="; ".join(_action_text(e) for e in events if _action_text(e)),
                    resolved_by=alert.resolved_by,
                    resolved_at=alert.resolved_at,
                )
            )
        return out

    # ------------------------------------------------------------------ rules, for the pages
    def rule_needs(self, rule_id: str) -> dict[str, object]:
        """What the alert's forms must ask: required comments and the cold-chain questions."""
        rule = self.rules().get(rule_id)
        cold = any(rule_id in (s.rule_id, s.cumulative_rule_id) for s in self.units.values())
        return {"require_comment": sorted(rule.require_comment) if rule else [], "cold_chain": cold}

    # ------------------------------------------------------------------ the evidence file
    def evidence_csv(self, equipment_id: str, *, start: datetime, end: datetime) -> str:
        self.check_range(start, end)
        with self.sessions() as session:
            subject = self._subject(session, equipment_id)
            metric, unit = self._metric(session, equipment_id, None)
            low, high = self.band(subject, metric)
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["time_utc", f"time_{self.timezone}", f"{metric}", "unit", "in_range"])
            for ts, value in history.raw(session, subject=equipment_id, metric=metric, start=start, end=end):
                inside = (low is None or value >= low) and (high is None or value <= high)
                writer.writerow(
                    [ts.isoformat(), ts.astimezone(self.tz).isoformat(), f"{value:g}", unit, "yes" if inside else "no"]
                )
            return out.getvalue()

    def evidence_pdf(self, equipment_id: str, *, start: datetime, end: datetime) -> bytes:
        from agent.reports.evidence import EvidenceInput, build_pdf

        self.check_range(start, end)
        chart = self.chart(equipment_id, start=start, end=end)
        with self.sessions() as session:
            subject = self._subject(session, equipment_id)
            samples = []
            if chart is not None:
                samples = list(history.raw(session, subject=equipment_id, metric=chart.series.metric, start=start, end=end))
        return build_pdf(
            EvidenceInput(
                site=self.site_name,
                subject=subject,
                start=start,
                end=end,
                tz=self.tz,
                chart=chart,
                samples=samples,
                silent_after=self.silent_after(equipment_id),
                generated_at=self.clock(),
            )
        )


def _unit_from_name(metric: str) -> str:
    """Sensors often send bare numbers: the metric's name says the unit (temperature_c → °C)."""
    for suffix, unit in (("_c", "°C"), (".c", "°C"), ("_f", "°F"), ("pct", "%"), ("_min", "min")):
        if metric.endswith(suffix):
            return unit
    return ""


def _action_text(event: AlertEvent) -> str:
    if event.kind == "corrective-action":
        details = event.details or {}
        words = ", ".join(_ANSWER_WORDS.get(a, a) for a in details.get("actions", []))
        stock = details.get("stock_affected")
        parts = [p for p in (words, f"stock affected: {stock}" if stock else "") if p]
        return f"{event.actor}: " + "; ".join(parts) if parts else ""
    if event.kind in ("acknowledged", "resolved", "comment") and event.comment.strip():
        return f"{event.actor}: {event.comment.strip()}"
    return ""
