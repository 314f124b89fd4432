"""What the weekly report suggests changing, gathered from storage for one week: stock levels
(rules.stock_advice), flapping rules (rules.band_advice), rules nobody acknowledges, alerts that
keep being reassigned to another team, and equipment that was offline or slow to be acknowledged.
Rendering is in agent.reports.advice_render."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import Alert, AlertEvent, Equipment, ReadingHistory, StockRecord, SupplyItem, User
from rules.band_advice import Band, BandChange, flaps, replay, suggest_clearing, suggest_hold
from rules.consumption import CHANGE_UNEXPECTED_DROP
from rules.model import ConditionKind, Rule
from rules.stock_advice import KEEP, MIN_DAYS, StockAdvice, stock_advice

OFFLINE_PREFIXES = ("equipment-offline.", "equipment-silent.")


@dataclass(frozen=True, slots=True)
class AdviceSettings:
    review_days: float = 7.0
    history_days: int = 28  # whole local days of counts behind daily use
    reassign_limit: int = 3  # reassigned to another team more than this in 30 days → suggest a team
    offline_pct: float = 10.0  # offline or silent more than this share of the week → listed
    flap_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RuleAdvice:
    rule_id: str
    subject: str
    metric: str
    alerts: int
    flaps: int
    clearing: BandChange | None
    hold: BandChange | None
    band: Band


@dataclass(frozen=True, slots=True)
class NoisyRule:
    rule_id: str
    self_cleared: int  # cleared by itself before anyone acknowledged it
    alerts: int


@dataclass(frozen=True, slots=True)
class Reassigned:
    rule_id: str
    subject: str
    team: str  # the alert's team now
    times: int  # reassignments to a person of another team in 30 days
    to_team: str  # the team it went to most


@dataclass(frozen=True, slots=True)
class OfflineShare:
    equipment_id: str
    name: str
    offline: timedelta
    pct: float


@dataclass(frozen=True, slots=True)
class SlowAck:
    team: str
    equipment_id: str
    name: str
    median: timedelta
    alerts: int


@dataclass
class WeeklyAdvice:
    week: str
    start: datetime
    end: datetime
    stock: list[StockAdvice] = field(default_factory=list)
    rules: list[RuleAdvice] = field(default_factory=list)
    noisy: list[NoisyRule] = field(default_factory=list)
    reassigned: list[Reassigned] = field(default_factory=list)
    offline: list[OfflineShare] = field(default_factory=list)
    slow_ack: list[SlowAck] = field(default_factory=list)


def iso_week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """'2026-W06' → (Monday 00:00, next Monday 00:00) in the site's zone, as UTC."""
    try:
        year, number = week.split("-W")
        monday = datetime.fromisocalendar(int(year), int(number), 1).date()
    except ValueError:
        raise ValueError(f"week must look like 2026-W06, got {week!r}") from None
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def last_week(now: datetime, timezone: str) -> str:
    """The last whole ISO week before ``now`` in the site's zone."""
    year, number, _ = (now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=7)).isocalendar()
    return f"{year}-W{number:02d}"


def build_advice(
    session: Session, *, week: str, timezone: str, rules: Sequence[Rule], settings: AdviceSettings = AdviceSettings()
) -> WeeklyAdvice:
    start, end = iso_week_bounds(week, timezone)
    advice = WeeklyAdvice(week=week, start=start, end=end)
    _stock(session, advice, ZoneInfo(timezone), settings)
    _rules(session, advice, {r.id: r for r in rules}, settings)
    _noise_and_routing(session, advice, settings)
    _equipment(session, advice, settings)
    return advice


# ---------------------------------------------------------------------- stock


def daily_totals(records: Sequence[tuple[datetime, float, str]], *, first_day: datetime, days: int, zone: ZoneInfo) -> list[float]:
    """Units used on each local day, from counts taken IN TIME ORDER (whatever order they were
    entered in): each fall from one count to the next is use, except an unexpected drop."""
    totals = [0.0] * days
    ordered = sorted(records, key=lambda r: r[0])
    day0 = first_day.astimezone(zone).date()
    for (_, before, _), (at, value, change) in zip(ordered, ordered[1:], strict=False):
        if value < before and change != CHANGE_UNEXPECTED_DROP:
            index = (at.astimezone(zone).date() - day0).days
            if 0 <= index < days:
                totals[index] += before - value
    return totals


def _stock(session: Session, advice: WeeklyAdvice, zone: ZoneInfo, settings: AdviceSettings) -> None:
    end_day = advice.end.astimezone(zone).date()
    history_from = datetime.combine(end_day - timedelta(days=settings.history_days), time(0), tzinfo=zone)
    for item in session.scalars(select(SupplyItem).order_by(SupplyItem.sku)).all():
        rows = session.execute(
            select(StockRecord.at, StockRecord.value, StockRecord.change)
            .where(StockRecord.sku == item.sku, StockRecord.at < advice.end)
            .order_by(StockRecord.at, StockRecord.id)
        ).all()
        if not rows:
            continue
        records = [(at, float(value), change) for at, value, change in rows]
        first_day = max(history_from, datetime.combine(records[0][0].astimezone(zone).date(), time(0), tzinfo=zone))
        days = max((end_day - first_day.date()).days, 0)
        carried = [v for at, v, _ in records if at < advice.start]
        week = ([carried[-1]] if carried else []) + [v for at, v, _ in records if advice.start <= at < advice.end]
        totals = daily_totals(records, first_day=first_day, days=days, zone=zone)
        lowest = min(week) if week else None
        above = bool(week) and all(v > item.par for v in week)
        result = stock_advice(
            sku=item.sku, name=item.name, unit=item.unit, daily_totals=totals, lead_time_days=item.lead_time_days,
            reorder_point=item.reorder_point, par=item.par, lowest_on_hand=lowest, stayed_above_par=above,
            review_days=settings.review_days,
        )
        near_out = lowest is not None and (lowest <= 0 or (item.daily_use is not None and lowest <= item.daily_use))
        if result.applicable or (result.direction == KEEP and len(totals) < MIN_DAYS and (near_out or above)):
            advice.stock.append(result)


# ---------------------------------------------------------------------- rules


def band_of(rule: Rule) -> Band | None:
    if rule.kind is not ConditionKind.THRESHOLD:
        return None
    return Band(
        fire_low=rule.fire_low, fire_high=rule.fire_high, clear_low=rule.clear_low, clear_high=rule.clear_high,
        low_inclusive=rule.low_inclusive, high_inclusive=rule.high_inclusive, hold=rule.hold,
    )


def _rules(session: Session, advice: WeeklyAdvice, rules: dict[str, Rule], settings: AdviceSettings) -> None:
    flapped = session.execute(
        select(Alert.rule_id, Alert.subject, Alert.metric)
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(AlertEvent.kind == "flapping", AlertEvent.at >= advice.start, AlertEvent.at < advice.end)
        .distinct()
    ).all()
    for rule_id, subject, metric in sorted(set(flapped)):
        rule = rules.get(rule_id.split("[", 1)[0])
        band = band_of(rule) if rule is not None else None
        if rule is None or band is None:
            continue
        readings = [
            (ts, float(v))
            for ts, v in session.execute(
                select(ReadingHistory.ts, ReadingHistory.value_num)
                .where(ReadingHistory.subject == subject, ReadingHistory.metric == (metric or rule.metric),
                       ReadingHistory.ts >= advice.start, ReadingHistory.ts < advice.end,
                       ReadingHistory.value_num.is_not(None))
                .order_by(ReadingHistory.ts)
            ).all()
            if v is not None
        ]
        episodes = replay(readings, band)
        advice.rules.append(RuleAdvice(
            rule_id=rule_id, subject=subject, metric=metric or rule.metric, alerts=len(episodes),
            flaps=flaps(episodes, settings.flap_window), clearing=suggest_clearing(readings, band, settings.flap_window),
            hold=suggest_hold(readings, band, settings.flap_window), band=band,
        ))


def _noise_and_routing(session: Session, advice: WeeklyAdvice, settings: AdviceSettings) -> None:
    week = session.scalars(
        select(Alert).where(Alert.opened_at.is_not(None), Alert.opened_at >= advice.start, Alert.opened_at < advice.end)
    ).all()
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in week:
        per_rule[a.rule_id][1] += 1
        if a.resolve_reason == "cleared" and a.acknowledged_at is None and a.resolved_at is not None:
            per_rule[a.rule_id][0] += 1
    # Noise: at least two alerts, and most of the rule's, came and went with nobody acknowledging them.
    advice.noisy = sorted(
        (NoisyRule(rule, n, total) for rule, (n, total) in per_rule.items() if n >= 2 and 2 * n > total),
        key=lambda r: (-r.self_cleared, r.rule_id),
    )
    teams = dict(session.execute(select(User.username, User.team)).all())
    month_start = advice.end - timedelta(days=30)
    rows = session.execute(
        select(Alert.id, Alert.rule_id, Alert.subject, Alert.team, AlertEvent.details)
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(AlertEvent.kind == "assigned", AlertEvent.at >= month_start, AlertEvent.at < advice.end)
        .order_by(AlertEvent.at, AlertEvent.id)
    ).all()
    holder: dict[int, str] = {}
    moves: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for alert_id, rule_id, subject, team, details in rows:
        to = teams.get(str((details or {}).get("assignee", "")), "")
        was = holder.get(alert_id, team or "")
        if to and to != was:
            moves[(rule_id, subject, team or "")][to] += 1
        holder[alert_id] = to or was
    for (rule_id, subject, team), targets in sorted(moves.items()):
        times = sum(targets.values())
        if times > settings.reassign_limit:
            away = Counter({t: n for t, n in targets.items() if t != team}) or targets
            advice.reassigned.append(Reassigned(rule_id, subject, team, times, away.most_common(1)[0][0]))


def _equipment(session: Session, advice: WeeklyAdvice, settings: AdviceSettings) -> None:
    names = dict(session.execute(select(Equipment.id, Equipment.name)).all())
    rows = session.scalars(
        select(Alert).where(Alert.opened_at.is_not(None), Alert.opened_at < advice.end,
                            (Alert.resolved_at.is_(None)) | (Alert.resolved_at > advice.start))
    ).all()
    week = advice.end - advice.start
    offline: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    acks: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    for a in rows:
        assert a.opened_at is not None
        if a.rule_id.startswith(OFFLINE_PREFIXES):
            began, ended = max(a.opened_at, advice.start), min(a.resolved_at or advice.end, advice.end)
            if ended > began:
                offline[a.subject].append((began, ended))
        if a.subject_kind == "equipment" and a.acknowledged_at and advice.start <= a.opened_at < advice.end:
            acks[(a.team or "(no team)", a.subject)].append(a.acknowledged_at - a.opened_at)
    for subject, spans in offline.items():
        total = _union(spans)
        pct = 100.0 * total / week
        if pct > settings.offline_pct:
            advice.offline.append(OfflineShare(subject, names.get(subject) or subject, total, pct))
    advice.offline.sort(key=lambda o: (-o.pct, o.equipment_id))
    slowest: dict[str, SlowAck] = {}
    for (team, subject), times in acks.items():
        median = timedelta(seconds=statistics.median(t.total_seconds() for t in times))
        if team not in slowest or median > slowest[team].median:
            slowest[team] = SlowAck(team, subject, names.get(subject) or subject, median, len(times))
    advice.slow_ack = [slowest[t] for t in sorted(slowest)]


def _union(spans: list[tuple[datetime, datetime]]) -> timedelta:
    """Total time covered (offline and silent alerts of one device may overlap)."""
    total = timedelta(0)
    end: datetime | None = None
    for a, b in sorted(spans):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total
