"""What the history endpoints, the equipment chart and the evidence file show: plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One bucket of readings: starts at `t`, lasts the series' step."""

    t: datetime
    min: float
    max: float
    mean: float
    count: int


@dataclass(frozen=True, slots=True)
class ReadingSeries:
    equipment_id: str
    metric: str
    unit: str
    start: datetime
    end: datetime
    step_seconds: int
    points: list[SeriesPoint]


@dataclass(frozen=True, slots=True)
class DayRange:
    day: date
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class ExcursionView:
    side: str  # hot or cold
    start: datetime
    end: datetime | None
    duration_minutes: float
    extreme: float


@dataclass(frozen=True, slots=True)
class AlertMark:
    alert_id: int
    at: datetime
    label: str
    status: str
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    corrective_action: str = ""  # comments on acknowledging or resolving it, and the resolve answers
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChartData:
    """Everything the equipment chart draws, for one equipment, metric and period."""

    series: ReadingSeries
    low: float | None  # the safe band (None: open on that side)
    high: float | None
    excursions: list[ExcursionView] = field(default_factory=list)
    alerts: list[AlertMark] = field(default_factory=list)
    days: list[DayRange] = field(default_factory=list)
    cold_chain: bool = False
