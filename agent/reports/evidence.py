"""The cold-chain evidence PDF an inspector asks for (issue 14), made with fpdf2.

One unit, one period: site and unit, the chart (the same SVG as the equipment page), time in
range, mean kinetic temperature, daily minimum and maximum, every excursion, and every alert
with who acknowledged it and the corrective action from its comments.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from api.equipment_chart import render_equipment_chart
from rules.cold_chain import ColdChainSpec, mean_kinetic_temperature, range_summary
from rules.durations import format_duration
from rules.history_views import ChartData
from rules.model import INF, Subject

_REPLACE = str.maketrans({"–": "-", "—": "-", "…": "...", "≥": ">=", "≤": "<=", "’": "'", "“": '"', "”": '"', "Δ": "d"})


def _t(text: object) -> str:
    """The PDF's core fonts are Latin-1: keep °, replace the few other signs we use."""
    return str(text).translate(_REPLACE).encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class EvidenceInput:
    site: str
    subject: Subject
    start: datetime
    end: datetime
    tz: tzinfo
    chart: ChartData | None
    samples: Sequence[tuple[datetime, float]]
    silent_after: timedelta
    generated_at: datetime


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.1f} {unit}".strip()


def summary_figures(data: EvidenceInput) -> dict[str, str]:
    chart = data.chart
    unit = chart.series.unit if chart else ""
    low = chart.low if chart else None
    high = chart.high if chart else None
    spec = ColdChainSpec("", "", hot_above=high if high is not None else INF, cold_below=low if low is not None else -INF)
    summary = range_summary(data.samples, spec, data.silent_after)
    pct = summary.percent_in_range
    values = [v for _, v in data.samples]
    mkt = mean_kinetic_temperature(values)
    return {
        "Readings": f"{len(values)}",
        "Safe range": f"{_num(low, unit) if low is not None else 'no lower limit'} to "
        f"{_num(high, unit) if high is not None else 'no upper limit'}",
        "Time in range": f"{pct:.2f} %" if pct is not None else "-",
        "Time out of range": format_duration(summary.out_of_range),
        "Time without readings (gaps)": format_duration(summary.unknown),
        "Lowest / highest": f"{_num(min(values), unit)} / {_num(max(values), unit)}" if values else "-",
        "Mean kinetic temperature": f"{mkt:.2f} {unit} (dH/R = 10,000 K)".strip() if mkt is not None else "-",
    }


def build_pdf(data: EvidenceInput) -> bytes:
    tz = data.tz
    subject = data.subject
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_t(f"Cold-chain record: {subject.display_name}"))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 8, _t(f"Temperature record - {subject.display_name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    zone = data.start.astimezone(tz).tzname() or ""
    lines = [
        f"Site: {data.site}",
        f"Unit: {subject.display_name} ({subject.id}), {subject.kind}, {subject.location or 'no location'}",
        f"Period: {data.start.astimezone(tz):%d %b %Y %H:%M} to {data.end.astimezone(tz):%d %b %Y %H:%M} {zone}",
        f"Generated: {data.generated_at.astimezone(tz):%d %b %Y %H:%M} by facility-agent",
    ]
    for line in lines:
        pdf.cell(0, 5, _t(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _key_values(pdf, summary_figures(data))
    if data.chart is not None:
        svg = render_equipment_chart(data.chart, tz, title=subject.display_name, width=520, height=230)
        pdf.image(io.BytesIO(_t(svg).encode("utf-8")), w=pdf.epw)
    chart = data.chart
    unit = chart.series.unit if chart else ""
    _heading(pdf, "Excursions")
    rows = [
        [
            e.side,
            f"{e.start.astimezone(tz):%d %b %H:%M}",
            f"{e.end.astimezone(tz):%d %b %H:%M}" if e.end else "ongoing",
            format_duration(timedelta(minutes=e.duration_minutes)),
            _num(e.extreme, unit),
        ]
        for e in (chart.excursions if chart else [])
    ]
    _table(pdf, ["Side", "Start", "End", "Duration", "Peak / trough"], rows, (16, 32, 32, 50, 40), "No excursions.")
    _heading(pdf, "Alerts and corrective actions")
    alert_rows = [
        [
            f"{a.at.astimezone(tz):%d %b %H:%M}",
            a.label,
            f"{a.acknowledged_by} at {a.acknowledged_at.astimezone(tz):%d %b %H:%M}"
            if a.acknowledged_by and a.acknowledged_at
            else "not acknowledged",
            a.corrective_action or "-",
            f"{a.resolved_by or 'system'} at {a.resolved_at.astimezone(tz):%d %b %H:%M}" if a.resolved_at else a.status,
        ]
        for a in (chart.alerts if chart else [])
    ]
    _table(pdf, ["Opened", "Alert", "Acknowledged", "Corrective action", "Resolved"], alert_rows, (22, 50, 32, 50, 28), "No alerts.")
    _heading(pdf, "Daily minimum and maximum")
    day_rows = [[f"{d.day:%a %d %b %Y}", _num(d.min, unit), _num(d.max, unit)] for d in (chart.days if chart else [])]
    _table(pdf, ["Day", "Minimum", "Maximum"], day_rows, (60, 40, 40), "No readings.")
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)


def _key_values(pdf: FPDF, values: dict[str, str]) -> None:
    pdf.set_font("helvetica", size=10)
    for key, value in values.items():
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(60, 5, _t(key))
        pdf.set_font("helvetica", size=10)
        pdf.cell(0, 5, _t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...], empty: str) -> None:
    if not rows:
        pdf.cell(0, 5, _t(empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.5, first_row_as_headings=True) as table:
        head = table.row()
        for text in header:
            head.cell(_t(text))
        for values in rows:
            row = table.row()
            for text in values:
                row.cell(_t(text))
