"""Server-side SVG time charts: no JavaScript library, nothing from a CDN.

One function, `render_svg`, draws a time series (raw points or min/max/mean
buckets) with an optional safe band, labelled reference lines, shaded spans
(excursions) and labelled point markers (alerts). The SVG scales to its
container (viewBox + width 100%); the default viewBox is phone sized so the
text stays readable on a 390 px screen without shrinking.

Stable public surface: Point, Bucket, RefLine, Span, Marker, render_svg.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

__all__ = ["Bucket", "Marker", "Point", "RefLine", "Span", "render_svg"]


@dataclass(frozen=True)
class Point:
    t: datetime
    value: float


@dataclass(frozen=True)
class Bucket:
    """One downsampled bucket starting at `t`."""

    t: datetime
    min: float
    max: float
    mean: float


@dataclass(frozen=True)
class RefLine:
    """A horizontal line at `value`, labelled at the right edge."""

    value: float
    label: str


@dataclass(frozen=True)
class Span:
    """A shaded time range, e.g. an excursion."""

    start: datetime
    end: datetime
    label: str = ""


@dataclass(frozen=True)
class Marker:
    """A labelled point in time, e.g. an alert opening. `value` places a dot on the curve."""

    t: datetime
    label: str
    value: float | None = None


# Layout in viewBox units. 400 wide maps ~1:1 onto a phone column, so 11-unit text stays ~10 px.
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 40, 12, 18, 34
_FONT = 11

_TIME_STEPS = [
    timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30)
] + [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7, 14, 28)]


def render_svg(
    series: Sequence[Point] | Sequence[Bucket],
    *,
    unit: str = "",
    tz: tzinfo = UTC,
    start: datetime | None = None,
    end: datetime | None = None,
    band: tuple[float | None, float | None] | None = None,
    lines: Sequence[RefLine] = (),
    spans: Sequence[Span] = (),
    markers: Sequence[Marker] = (),
    title: str = "",
    break_after: timedelta | None = None,
    width: int = 400,
    height: int = 220,
) -> str:
    """Return a standalone <svg> element as a string.

    `start`/`end` fix the time axis (default: the data's extent). `band` is the
    safe range (low, high); either side may be None (open). The curve is broken
    where two neighbouring points are more than `break_after` apart, so a silent
    sensor shows as a gap rather than a straight line. Times are shown in `tz`.
    """
    times = [p.t for p in series]
    t0 = start or (min(times) if times else None)
    t1 = end or (max(times) if times else None)
    label = title or "Chart"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(label)}" '
        f'font-family="system-ui, sans-serif" font-size="{_FONT}">'
        f"<title>{escape(label)}</title>"
    )
    if t0 is None or t1 is None or not series:
        return (
            head
            + f'<text class="chart-empty" x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'fill="#59636e">No readings in this period</text></svg>'
        )
    if t1 <= t0:
        t1 = t0 + timedelta(minutes=1)
    lo, hi = _value_domain(series, band, lines, markers)
    plot = _Plot(t0, t1, lo, hi, width, height)
    parts = [head, _axes(plot, unit, tz)]
    parts.append(_band(plot, band))
    parts.extend(_span(plot, s) for s in spans if s.end > t0 and s.start < t1)
    parts.append(_curve(plot, series, break_after))
    parts.extend(_ref_line(plot, r) for r in lines)
    parts.extend(_marker(plot, m) for m in markers if t0 <= m.t <= t1)
    parts.append("</svg>")
    return "".join(p for p in parts if p)


@dataclass(frozen=True)
class _Plot:
    t0: datetime
    t1: datetime
    lo: float
    hi: float
    width: int
    height: int

    @property
    def left(self) -> float:
        return _PAD_LEFT

    @property
    def right(self) -> float:
        return self.width - _PAD_RIGHT

    @property
    def top(self) -> float:
        return _PAD_TOP

    @property
    def bottom(self) -> float:
        return self.height - _PAD_BOTTOM

    def x(self, t: datetime) -> float:
        frac = (t - self.t0) / (self.t1 - self.t0)
        return round(self.left + max(0.0, min(1.0, frac)) * (self.right - self.left), 1)

    def y(self, v: float) -> float:
        frac = (v - self.lo) / (self.hi - self.lo)
        return round(self.bottom - max(0.0, min(1.0, frac)) * (self.bottom - self.top), 1)


def _value_domain(
    series: Sequence[Point] | Sequence[Bucket],
    band: tuple[float | None, float | None] | None,
    lines: Sequence[RefLine],
    markers: Sequence[Marker],
) -> tuple[float, float]:
    values: list[float] = []
    for p in series:
        if isinstance(p, Bucket):
            values.extend((p.min, p.max))
        else:
            values.append(p.value)
    values.extend(v for v in (band or ()) if v is not None)
    values.extend(r.value for r in lines)
    values.extend(m.value for m in markers if m.value is not None)
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    margin = (hi - lo) * 0.08
    step = _nice_step((hi - lo + 2 * margin) / 4)
    return math.floor((lo - margin) / step) * step, math.ceil((hi + margin) / step) * step


def _nice_step(raw: float) -> float:
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= raw:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def _fmt(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _axes(p: _Plot, unit: str, tz: tzinfo) -> str:
    out = ['<g class="chart-axes" stroke="#d8dde3" fill="#59636e">']
    step = _nice_step((p.hi - p.lo) / 4)
    v = p.lo
    while v <= p.hi + step / 1000:
        y = p.y(v)
        out.append(f'<line x1="{p.left}" x2="{p.right}" y1="{y}" y2="{y}"/>')
        out.append(f'<text x="{p.left - 4}" y="{y + 4}" text-anchor="end" stroke="none">{_fmt(v)}</text>')
        v += step
    if unit:
        out.append(f'<text class="chart-unit" x="4" y="{_PAD_TOP - 6}" stroke="none">{escape(unit)}</text>')
    tick = _time_step(p.t1 - p.t0)
    local0 = p.t0.astimezone(tz)
    # Align ticks to local midnight plus whole steps, so daily ticks land on midnight in `tz`.
    midnight = local0.replace(hour=0, minute=0, second=0, microsecond=0)
    n = math.ceil((local0 - midnight) / tick)
    t = midnight + n * tick
    daily = tick >= timedelta(days=1)
    while t <= p.t1:
        x = p.x(t)
        text = t.strftime("%d %b") if daily else t.strftime("%H:%M")
        out.append(f'<line x1="{x}" x2="{x}" y1="{p.bottom}" y2="{p.bottom + 4}" stroke="#9aa5b1"/>')
        out.append(f'<text x="{x}" y="{p.bottom + 16}" text-anchor="middle" stroke="none">{text}</text>')
        t = (t + tick).astimezone(tz)
    span = f"{local0.strftime('%d %b %Y %H:%M')} – {p.t1.astimezone(tz).strftime('%d %b %Y %H:%M')}"
    zone = local0.tzname() or ""
    out.append(
        f'<text class="chart-range" x="{p.right}" y="{p.height - 4}" text-anchor="end" stroke="none">'
        f"{escape(span)} {escape(zone)}</text>"
    )
    out.append("</g>")
    return "".join(out)


def _time_step(total: timedelta) -> timedelta:
    # At most ~6 labels fit across a phone.
    for step in _TIME_STEPS:
        if total / step <= 6:
            return step
    return _TIME_STEPS[-1]


def _band(p: _Plot, band: tuple[float | None, float | None] | None) -> str:
    if band is None or band == (None, None):
        return ""
    low, high = band
    y_top = p.y(high) if high is not None else p.top
    y_bot = p.y(low) if low is not None else p.bottom
    label = f"Safe range {_fmt(low) if low is not None else '…'} to {_fmt(high) if high is not None else '…'}"
    return (
        f'<rect class="chart-band" x="{p.left}" y="{y_top}" width="{round(p.right - p.left, 1)}" '
        f'height="{round(y_bot - y_top, 1)}" fill="#1d7a3a" fill-opacity="0.12">'
        f"<title>{escape(label)}</title></rect>"
    )


def _span(p: _Plot, s: Span) -> str:
    x0, x1 = p.x(max(s.start, p.t0)), p.x(min(s.end, p.t1))
    w = max(3.0, x1 - x0)  # a short excursion on a 30-day chart must still be visible
    title = f"<title>{escape(s.label)}</title>" if s.label else ""
    return (
        f'<rect class="chart-span" x="{x0}" y="{p.top}" width="{round(w, 1)}" '
        f'height="{round(p.bottom - p.top, 1)}" fill="#b42318" fill-opacity="0.22">{title}</rect>'
    )


def _segments(
    series: Sequence[Point] | Sequence[Bucket], break_after: timedelta | None
) -> list[list[Point | Bucket]]:
    ordered: list[Point | Bucket] = sorted(series, key=lambda q: q.t)
    segments: list[list[Point | Bucket]] = []
    current: list[Point | Bucket] = []
    for q in ordered:
        if current and break_after is not None and q.t - current[-1].t > break_after:
            segments.append(current)
            current = []
        current.append(q)
    if current:
        segments.append(current)
    return segments


def _curve(p: _Plot, series: Sequence[Point] | Sequence[Bucket], break_after: timedelta | None) -> str:
    out = ['<g class="chart-series">']
    for seg in _segments(series, break_after):
        if isinstance(seg[0], Bucket):
            buckets = [b for b in seg if isinstance(b, Bucket)]
            upper = " ".join(f"{p.x(b.t)},{p.y(b.max)}" for b in buckets)
            lower = " ".join(f"{p.x(b.t)},{p.y(b.min)}" for b in reversed(buckets))
            out.append(
                f'<polygon class="chart-range-area" points="{upper} {lower}" fill="#1f5fa8" '
                f'fill-opacity="0.18" stroke="#1f5fa8" stroke-opacity="0.5" stroke-width="0.8"/>'
            )
            pts = " ".join(f"{p.x(b.t)},{p.y(b.mean)}" for b in buckets)
        else:
            pts = " ".join(f"{p.x(q.t)},{p.y(q.value)}" for q in seg if isinstance(q, Point))
        if len(seg) == 1:
            x, y = pts.split(",")
            out.append(f'<circle class="chart-line" cx="{x}" cy="{y}" r="1.8" fill="#1f5fa8"/>')
        else:
            out.append(
                f'<polyline class="chart-line" points="{pts}" fill="none" stroke="#1f5fa8" '
                f'stroke-width="1.6" stroke-linejoin="round"/>'
            )
    out.append("</g>")
    return "".join(out)


def _ref_line(p: _Plot, r: RefLine) -> str:
    y = p.y(r.value)
    return (
        f'<g class="chart-ref"><line x1="{p.left}" x2="{p.right}" y1="{y}" y2="{y}" stroke="#8a5a00" '
        f'stroke-dasharray="4 3" stroke-width="1"/>'
        f'<text x="{p.right - 2}" y="{y - 3}" text-anchor="end" fill="#8a5a00">{escape(r.label)}</text></g>'
    )


def _marker(p: _Plot, m: Marker) -> str:
    x = p.x(m.t)
    dot = (
        f'<circle cx="{x}" cy="{p.y(m.value)}" r="3.5" fill="#b42318" stroke="#fff" stroke-width="1"/>'
        if m.value is not None
        else ""
    )
    anchor = "end" if x > (p.left + p.right) / 2 else "start"
    dx = -4 if anchor == "end" else 4
    return (
        f'<g class="chart-marker"><title>{escape(m.label)}</title>'
        f'<line x1="{x}" x2="{x}" y1="{p.top}" y2="{p.bottom}" stroke="#b42318" stroke-width="1" '
        f'stroke-dasharray="2 2"/>'
        f'<path d="M{x - 5},{p.top - 9} L{x + 5},{p.top - 9} L{x},{p.top - 1} Z" fill="#b42318"/>'
        f"{dot}"
        f'<text x="{x + dx}" y="{p.top - 2}" text-anchor="{anchor}" fill="#b42318">{escape(m.label)}</text></g>'
    )
