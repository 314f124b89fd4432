"""The weekly advice as lines people read: one list of suggestions, each with a one-line reason,
the figures behind it, and the YAML change or the one-click change to make. The email's text and
HTML parts and the /reports/weekly page all render this same list, so they show the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape

from agent.reports.advice import RuleAdvice, WeeklyAdvice
from rules.band_advice import BandChange
from rules.durations import format_duration
from rules.messages import format_value
from rules.stock_advice import StockAdvice

SECTIONS = ("Stock", "Rules", "Routing", "Equipment")


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class Suggestion:
    section: str  # Stock, Rules, Routing, Equipment
    reason: str  # one line
    figures: tuple[str, ...] = ()
    yaml: str = ""  # the change to make in the config file
    apply: dict[str, float] = field(default_factory=dict)  # {sku, par, reorder_point} for one click
    sku: str = ""


def _stock(a: StockAdvice) -> Suggestion:
    figures = (a.figures.arithmetic(a.unit),) if a.figures else ()
    apply = {"par": float(a.par), "reorder_point": float(a.reorder_point)} if a.applicable else {}
    return Suggestion("Stock", f"{a.name} ({a.sku}): {a.reason}", figures, apply=apply, sku=a.sku)


def _duration_yaml(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:g}m" if minutes < 60 or minutes % 60 else f"{minutes / 60:g}h"


def _clear_yaml(r: RuleAdvice, change: BandChange) -> str:
    band, new = r.band, change.band
    both = math.isfinite(band.fire_low) and math.isfinite(band.fire_high)
    if both:
        line = f"clear_inside: [{format_value(new.clear_low)}, {format_value(new.clear_high)}]"
        was = f"[{format_value(band.clear_low)}, {format_value(band.clear_high)}]"
    elif math.isfinite(band.fire_high):
        line, was = f"clear_below: {format_value(new.clear_high)}", format_value(band.clear_high)
    else:
        line, was = f"clear_above: {format_value(new.clear_low)}", format_value(band.clear_low)
    return f"rules:\n  - id: {r.rule_id}\n    {line}   # was {was}"


def _rule(r: RuleAdvice) -> list[Suggestion]:
    out: list[Suggestion] = []
    head = f"Rule {r.rule_id} on {r.subject} flapped: {r.alerts} alerts from its readings, {r.flaps} of them flaps"
    if r.clearing is not None and r.clearing.threshold is not None:
        c, threshold = r.clearing, r.clearing.threshold
        out.append(Suggestion(
            "Rules",
            f"{head}. Clear at {format_value(threshold)} instead: {c.removed} fewer alerts.",
            (f"Replayed with clearing threshold {format_value(threshold)}: {c.alerts_before} → {c.alerts_after} alerts "
             f"({c.removed} removed); {_n(c.delayed, 'genuine alert')} delayed; the remaining alerts stay open up to "
             f"{format_duration(c.delay)} longer.",),
            yaml=_clear_yaml(r, c),
        ))
    if r.hold is not None and r.hold.hold is not None:
        h = r.hold
        out.append(Suggestion(
            "Rules",
            f"{head}. Or wait {format_duration(h.hold or timedelta(0))} before alerting: {h.removed} fewer alerts.",
            (f"Replayed with hold time {format_duration(h.hold or timedelta(0))}: {h.alerts_before} → {h.alerts_after} "
             f"alerts ({h.removed} removed); {_n(h.delayed, 'genuine alert')} delayed by {format_duration(h.delay)}.",),
            yaml=f"rules:\n  - id: {r.rule_id}\n    for: {_duration_yaml(h.hold or timedelta(0))}",
        ))
    if not out:
        out.append(Suggestion("Rules", f"{head}. No clearing threshold or hold time up to 1 hour would have removed most of them."))
    return out


def suggestions(a: WeeklyAdvice) -> list[Suggestion]:
    out = [_stock(s) for s in a.stock]
    for r in a.rules:
        out.extend(_rule(r))
    out += [
        Suggestion("Rules", f"Rule {n.rule_id}: {n.self_cleared} of {n.alerts} alerts cleared by themselves before "
                            "anyone acknowledged them. Nobody acts on it: it is noise.")
        for n in a.noisy
    ]
    out += [
        Suggestion(
            "Routing",
            f"Alerts of {r.rule_id} on {r.subject} were reassigned from team {r.team or '(none)'} to another team "
            f"{r.times} times in 30 days, most often to {r.to_team}: route them to {r.to_team}.",
            yaml=f"rules:\n  - id: {r.rule_id}\n    team: {r.to_team}   # was {r.team or '(none)'}",
        )
        for r in a.reassigned
    ]
    out += [
        Suggestion("Equipment", f"{o.name} was offline or silent for {format_duration(o.offline)}, "
                                f"{o.pct:.1f} % of the week: check its power and network.")
        for o in a.offline
    ]
    out += [
        Suggestion("Equipment", f"Team {s.team}: {s.name}'s alerts took longest to acknowledge, median "
                                f"{format_duration(s.median)} over {s.alerts} alerts.")
        for s in a.slow_ack
    ]
    return out


def advice_text(a: WeeklyAdvice) -> str:
    lines = [f"What to change ({a.week}):"]
    items = suggestions(a)
    for section in SECTIONS:
        mine = [s for s in items if s.section == section]
        if not mine:
            continue
        lines.append(f"  {section}:")
        for s in mine:
            lines.append(f"  - {s.reason}")
            lines += [f"      {f}" for f in s.figures]
            lines += [f"      {y}" for y in s.yaml.splitlines()]
    if not items:
        lines.append("  nothing this week")
    return "\n".join(lines) + "\n"


def advice_html(a: WeeklyAdvice) -> str:
    items = suggestions(a)
    parts = [f"<h2>What to change ({escape(a.week)})</h2>"]
    for section in SECTIONS:
        mine = [s for s in items if s.section == section]
        if not mine:
            continue
        parts.append(f"<h3>{section}</h3><ul>")
        for s in mine:
            body = escape(s.reason) + "".join(f"<br><small>{escape(f)}</small>" for f in s.figures)
            if s.yaml:
                body += f"<pre>{escape(s.yaml)}</pre>"
            parts.append(f"<li>{body}</li>")
        parts.append("</ul>")
    if not items:
        parts.append("<p>Nothing this week.</p>")
    return "\n".join(parts)
