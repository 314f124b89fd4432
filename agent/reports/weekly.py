"""The weekly summary for the coordinator: what went wrong, how fast it was handled, and what to
change (reorder points with the arithmetic, rules that flapped, equipment that was offline most)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.notify.email import build_message
from agent.reports.advice import AdviceSettings, WeeklyAdvice, build_advice, iso_week_bounds
from agent.reports.advice_render import advice_html, advice_text
from agent.storage.models import Alert, AlertEvent, Equipment, StockRecord, SupplyItem
from rules.consumption import CHANGE_CONSUMPTION, ReorderSuggestion, count_stockouts, suggest_reorder_point
from rules.durations import format_duration
from rules.model import Rule

OFFLINE_PREFIXES = ("equipment-offline.", "equipment-silent.")


@dataclass(frozen=True, slots=True)
class DurationStats:
    count: int
    median: timedelta | None
    p90: timedelta | None

    def text(self) -> str:
        if not self.count or self.median is None or self.p90 is None:
            return "none"
        return f"median {format_duration(self.median)}, 90th percentile {format_duration(self.p90)} ({self.count} alerts)"


def duration_stats(values: Sequence[timedelta]) -> DurationStats:
    if not values:
        return DurationStats(0, None, None)
    ordered = sorted(values)
    seconds = [v.total_seconds() for v in ordered]
    rank = max(math.ceil(0.9 * len(ordered)) - 1, 0)  # nearest-rank percentile
    return DurationStats(len(ordered), timedelta(seconds=statistics.median(seconds)), ordered[rank])


@dataclass(frozen=True, slots=True)
class RanOut:
    sku: str
    name: str
    location: str
    times: int


@dataclass(frozen=True, slots=True)
class Offline:
    equipment_id: str
    name: str
    total: timedelta
    times: int


@dataclass(frozen=True, slots=True)
class Flapping:
    rule_id: str
    subject: str
    times: int


@dataclass
class WeeklySummary:
    site_name: str
    start: datetime
    end: datetime
    history_start: datetime
    total_alerts: int = 0
    by_equipment: list[tuple[str, str, int]] = field(default_factory=list)  # (id, name, alerts)
    by_team: list[tuple[str, int]] = field(default_factory=list)
    ack: DurationStats = field(default_factory=lambda: DurationStats(0, None, None))
    resolve: DurationStats = field(default_factory=lambda: DurationStats(0, None, None))
    noisiest: list[tuple[str, int, int]] = field(default_factory=list)  # (rule, alerts, occurrences)
    ran_out: list[RanOut] = field(default_factory=list)
    suggestions: list[ReorderSuggestion] = field(default_factory=list)
    flapping: list[Flapping] = field(default_factory=list)
    offline: list[Offline] = field(default_factory=list)
    advice: WeeklyAdvice | None = None  # what to change, with the arithmetic (replaces the plain suggestions)

    @property
    def period_text(self) -> str:
        return f"{self.start.date().isoformat()} to {(self.end - timedelta(seconds=1)).date().isoformat()}"


def build_weekly_summary(
    session: Session,
    *,
    now: datetime,
    site_name: str,
    timezone: str = "UTC",
    days: int = 7,
    history_days: int = 30,
    top: int = 5,
    week: str | None = None,
    rules: Sequence[Rule] | None = None,
    advice_settings: AdviceSettings = AdviceSettings(),
) -> WeeklySummary:
    """The summary of the ``days`` before ``now``; or, given ``week`` ('2026-W05'), of that ISO week
    in the site's zone. Given ``rules`` (the engine's), it includes what to change that week."""
    zone = ZoneInfo(timezone)
    if week is not None:
        start, now = iso_week_bounds(week, timezone)
        days = round((now - start).total_seconds() / 86400)
    # Supply history is whole local days before today, so a half-finished today doesn't read as a quiet day.
    today = now.astimezone(zone).date()
    history_start = datetime.combine(today - timedelta(days=history_days), time(0), tzinfo=zone).astimezone(UTC)
    summary = WeeklySummary(site_name=site_name, start=now - timedelta(days=days), end=now, history_start=history_start)
    _alerts(session, summary, top)
    _offline(session, summary, top)
    _flapping(session, summary, top)
    _supplies(session, summary, zone)
    if rules is not None and week is not None:
        summary.advice = build_advice(session, week=week, timezone=timezone, rules=rules, settings=advice_settings)
    return summary


def _alerts(session: Session, summary: WeeklySummary, top: int) -> None:
    rows = session.scalars(
        select(Alert).where(Alert.opened_at.is_not(None), Alert.opened_at >= summary.start, Alert.opened_at < summary.end)
    ).all()
    summary.total_alerts = len(rows)
    names = {eid: name for eid, name in session.execute(select(Equipment.id, Equipment.name)).all()}
    equipment = Counter(r.subject for r in rows if r.subject_kind == "equipment")
    summary.by_equipment = [
        (sid, names.get(sid) or sid, n) for sid, n in sorted(equipment.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    teams = Counter(r.team or "(no team)" for r in rows)
    summary.by_team = sorted(teams.items(), key=lambda kv: (-kv[1], kv[0]))
    summary.ack = duration_stats(
        [r.acknowledged_at - r.opened_at for r in rows if r.acknowledged_at and r.opened_at]
    )
    summary.resolve = duration_stats([r.resolved_at - r.opened_at for r in rows if r.resolved_at and r.opened_at])
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        per_rule[r.rule_id][0] += 1
        per_rule[r.rule_id][1] += r.occurrences
    ranked = sorted(per_rule.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    summary.noisiest = [(rule, n, occ) for rule, (n, occ) in ranked[:top]]


def _offline(session: Session, summary: WeeklySummary, top: int) -> None:
    rows = session.scalars(
        select(Alert).where(
            Alert.opened_at.is_not(None),
            Alert.opened_at < summary.end,
            (Alert.resolved_at.is_(None)) | (Alert.resolved_at > summary.start),
        )
    ).all()
    names = {eid: name for eid, name in session.execute(select(Equipment.id, Equipment.name)).all()}
    totals: dict[str, timedelta] = defaultdict(timedelta)
    times: Counter[str] = Counter()
    for r in rows:
        if not r.rule_id.startswith(OFFLINE_PREFIXES) or r.opened_at is None:
            continue
        began = max(r.opened_at, summary.start)
        ended = min(r.resolved_at or summary.end, summary.end)
        if ended > began:
            totals[r.subject] += ended - began
            times[r.subject] += 1
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    summary.offline = [Offline(sid, names.get(sid) or sid, total, times[sid]) for sid, total in ranked]


def _flapping(session: Session, summary: WeeklySummary, top: int) -> None:
    rows = session.execute(
        select(Alert.rule_id, Alert.subject)
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(AlertEvent.kind == "flapping", AlertEvent.at >= summary.start, AlertEvent.at < summary.end)
    ).all()
    counts = Counter((rule, subject) for rule, subject in rows)
    summary.flapping = [Flapping(rule, subject, n) for (rule, subject), n in counts.most_common(top)]


def _supplies(session: Session, summary: WeeklySummary, zone: ZoneInfo) -> None:
    items = {row.sku: row for row in session.scalars(select(SupplyItem)).all()}
    records = session.scalars(
        select(StockRecord).where(StockRecord.at < summary.end).order_by(StockRecord.sku, StockRecord.at, StockRecord.id)
    ).all()
    by_sku: dict[str, list[StockRecord]] = defaultdict(list)
    for rec in records:
        by_sku[rec.sku].append(rec)
    first_day = summary.history_start.astimezone(zone).date()
    last_day = summary.end.astimezone(zone).date() - timedelta(days=1)
    history_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    for sku, recs in sorted(by_sku.items()):
        item = items.get(sku)
        if item is None:
            continue
        before = [r for r in recs if r.at < summary.history_start]
        recent = [r for r in recs if r.at >= summary.history_start]
        starting_out = bool(before) and before[-1].value <= 0
        times = count_stockouts([r.value for r in recent], starting_out=starting_out)
        if times == 0:
            continue
        summary.ran_out.append(RanOut(sku, item.name, item.location, times))
        inside = [r for r in recent if r.at < history_end]  # whole days only, for the daily use
        if not inside:
            continue
        start_day = first_day if before else max(first_day, inside[0].at.astimezone(zone).date())
        day_count = (last_day - start_day).days + 1
        if day_count < 1:
            continue
        totals = [0.0] * day_count
        for r in inside:
            if r.change == CHANGE_CONSUMPTION and r.previous is not None:
                index = (r.at.astimezone(zone).date() - start_day).days
                if 0 <= index < len(totals):
                    totals[index] += r.previous - r.value
        suggestion = suggest_reorder_point(
            sku=sku, name=item.name, daily_totals=totals, lead_time_days=item.lead_time_days,
            current=item.reorder_point, stockouts=times,
        )
        if suggestion is not None:
            summary.suggestions.append(suggestion)
    summary.ran_out.sort(key=lambda r: (-r.times, r.sku))


# ---------------------------------------------------------------------- rendering


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def weekly_text(s: WeeklySummary) -> str:
    out = [f"Weekly summary for {s.site_name}, {s.period_text}", ""]
    out.append(f"Alerts opened: {s.total_alerts}")
    out.append("By equipment: " + (", ".join(f"{name} {n}" for _, name, n in s.by_equipment) or "none"))
    out.append("By team: " + (", ".join(f"{team} {n}" for team, n in s.by_team) or "none"))
    out.append(f"Time to acknowledge: {s.ack.text()}")
    out.append(f"Time to resolve: {s.resolve.text()}")
    out.append("")
    out.append("Noisiest rules:")
    out.extend(f"  {rule}: {_n(n, 'alert')}, {_n(occ, 'occurrence')}" for rule, n, occ in s.noisiest)
    if not s.noisiest:
        out.append("  none")
    out.append("")
    out.append(f"Items that ran out (since {s.history_start.date().isoformat()}):")
    out.extend(f"  {r.name} ({r.sku}){' in ' + r.location if r.location else ''}: {_times(r.times)}" for r in s.ran_out)
    if not s.ran_out:
        out.append("  none")
    out.append("")
    if s.advice is not None:
        return "\n".join(out) + "\n" + advice_text(s.advice)
    out.append("Suggested changes:")
    changes = [f"  - {sug.text}" for sug in s.suggestions]
    changes += [
        f"  - Rule {f.rule_id} flapped on {f.subject} {_times(f.times)}: widen its clearing band or add a hold time ('for')."
        for f in s.flapping
    ]
    changes += [
        f"  - {o.name} was offline for {format_duration(o.total)} in {_n(o.times, 'outage')}: check its power and network."
        for o in s.offline
    ]
    out.extend(changes or ["  none"])
    return "\n".join(out) + "\n"


def weekly_html(s: WeeklySummary) -> str:
    def rows(cells: Sequence[Sequence[object]]) -> str:
        return "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in cells)

    parts = [
        "<!doctype html><html><body style=\"font-family: sans-serif\">",
        f"<h1 style=\"font-size:1.3em\">{escape(f'Weekly summary for {s.site_name}, {s.period_text}')}</h1>",
        f"<p>Alerts opened: {s.total_alerts}. Time to acknowledge: {escape(s.ack.text())}. "
        f"Time to resolve: {escape(s.resolve.text())}.</p>",
        "<h2>Alerts by equipment</h2><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
        + rows([(name, n) for _, name, n in s.by_equipment]) + "</table>",
        "<h2>Alerts by team</h2><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">" + rows(s.by_team) + "</table>",
        "<h2>Noisiest rules</h2><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
        "<tr><th>Rule</th><th>Alerts</th><th>Occurrences</th></tr>" + rows(s.noisiest) + "</table>",
        "<h2>Items that ran out</h2><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
        + rows([(r.name, r.sku, r.location, _times(r.times)) for r in s.ran_out]) + "</table>",
    ]
    if s.advice is not None:
        return "\n".join([*parts, advice_html(s.advice), "</body></html>"])
    parts.append("<h2>Suggested changes</h2><ul>")
    parts += [f"<li>{escape(sug.text)}</li>" for sug in s.suggestions]
    parts += [
        f"<li>Rule {escape(f.rule_id)} flapped on {escape(f.subject)} {_times(f.times)}: widen its clearing band "
        "or add a hold time.</li>"
        for f in s.flapping
    ]
    parts += [
        f"<li>{escape(o.name)} was offline for {escape(format_duration(o.total))} in {_n(o.times, 'outage')}.</li>"
        for o in s.offline
    ]
    parts.append("</ul></body></html>")
    return "\n".join(parts)


def build_weekly_email(s: WeeklySummary, *, sender: str, recipients: Sequence[str], site_id: str) -> EmailMessage:
    return build_message(
        sender=sender,
        recipients=recipients,
        subject=f"Weekly summary for {s.site_name}, {s.period_text}",
        text=weekly_text(s),
        html=weekly_html(s),
        headers={"X-Facility-Site": site_id, "X-Facility-Report": "weekly"},
    )
