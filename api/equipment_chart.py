"""The equipment chart: ChartData (safe band, excursions, alerts) drawn with api.charts.
The page and the evidence PDF draw the very same picture."""

from __future__ import annotations

from datetime import timedelta, tzinfo

from api.charts import Bucket, Marker, RefLine, Span, render_svg
from rules.history_views import ChartData


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_equipment_chart(data: ChartData, tz: tzinfo, *, title: str = "", width: int = 400, height: int = 220) -> str:
    series = data.series
    unit = series.unit or ""
    buckets = [Bucket(p.t, p.min, p.max, p.mean) for p in series.points]
    lines = []
    if data.high is not None:
        lines.append(RefLine(data.high, f"max {_fmt(data.high)} {unit}".strip()))
    if data.low is not None:
        lines.append(RefLine(data.low, f"min {_fmt(data.low)} {unit}".strip()))
    spans = [
        Span(e.start, e.end or series.end, f"{e.side} excursion, {_fmt(e.duration_minutes)} min, {_fmt(e.extreme)} {unit}")
        for e in data.excursions
    ]
    markers = [Marker(a.at, f"#{a.alert_id}") for a in data.alerts]
    band = (data.low, data.high) if data.low is not None or data.high is not None else None
    return render_svg(
        buckets,
        unit=unit,
        tz=tz,
        start=series.start,
        end=series.end,
        band=band,
        lines=lines,
        spans=spans,
        markers=markers,
        title=title or f"{series.metric} of {series.equipment_id}",
        # A silence longer than a few buckets shows as a gap, not a straight line.
        break_after=timedelta(seconds=max(series.step_seconds * 3, 900)),
        width=width,
        height=height,
    )
