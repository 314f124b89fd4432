"""Checks on readings before the pipeline takes them: a metric is a number or a state, not both;
metric names are bounded; a known subject has a bounded number of distinct metrics.

A refused reading is counted under facility_readings_dropped by source and a fixed reason,
and logged at most once per reason every 10 seconds, with how many since the last line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from fnmatch import fnmatchcase

from rules.model import ConditionKind, Rule
from rules.reading import Reading
from rules.views import unit_for

log = logging.getLogger(__name__)

BAD_PAYLOAD = "bad_payload"  # a state where a number belongs
METRIC_TOO_LONG = "metric_too_long"
VALUE_TOO_LONG = "value_too_long"  # a state, unit or subject wider than its column
TOO_MANY_METRICS = "too_many_metrics"

MAX_METRIC_LEN = 120  # the width of readings.metric
# The widths of readings.subject, value_text and unit: PostgreSQL refuses a wider value, and one
# refused row would fail the whole stored batch, so it is turned away here instead.
MAX_SUBJECT_LEN = 100
MAX_STATE_LEN = 64
MAX_UNIT_LEN = 20
MAX_METRICS_PER_SUBJECT = 200  # a printer reports about 40; a flood of random names stops here
# States where a state is expected, whatever else is known about the metric.
STATE_METRICS = frozenset({"door.state", "printer.status", "ups.output.source", "ups.battery.status", "status"})

Reject = Callable[[str, str, str], None]  # source, reason, detail


class _RateLimitedLog:
    def __init__(self, interval_s: float = 10.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.monotonic = monotonic
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}

    def warn(self, reason: str, subject: str, metric: str, detail: str) -> None:
        now = self.monotonic()
        self._since[reason] = self._since.get(reason, 0) + 1
        last = self._last.get(reason)
        if last is not None and now - last < self.interval_s:
            return
        self._last[reason] = now
        count, self._since[reason] = self._since[reason], 0
        log.warning(
            "reading refused reason=%s count=%d subject=%r metric=%r detail=%s",
            reason, count, subject[:100], metric[:80], detail,
        )


class ReadingGuard:
    """Thread-safe: collectors call it from their own threads."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        state_metrics: Collection[str] = (),
        max_metrics_per_subject: int = MAX_METRICS_PER_SUBJECT,
        max_metric_len: int = MAX_METRIC_LEN,
    ) -> None:
        self.numeric_patterns = tuple(
            sorted({r.metric for r in rules if r.kind in (ConditionKind.THRESHOLD, ConditionKind.RATE)})
        )
        self.state_metrics = frozenset(STATE_METRICS | set(state_metrics))
        # Metrics some rule watches: always admitted, so a flood of junk names can't lock out a
        # fridge's real temperature once the per-subject cap is reached.
        self.watched_patterns = tuple(sorted({r.metric for r in rules}))
        self._watched_metric: dict[str, bool] = {}
        self.max_metrics = max_metrics_per_subject
        self.max_metric_len = max_metric_len
        self._numeric: dict[str, dict[str, bool]] = {}  # subject -> metric -> is the history numeric
        self._lock = threading.Lock()
        self._log = _RateLimitedLog()
        self._numeric_metric: dict[str, bool] = {}

    def seed(self, known: Iterable[tuple[str, str, bool]]) -> None:
        """What storage already holds: (subject, metric, numeric)."""
        with self._lock:
            for subject, metric, numeric in known:
                self._numeric.setdefault(subject, {})[metric] = numeric

    def _watched_as_number(self, metric: str) -> bool:
        known = self._numeric_metric.get(metric)
        if known is None:
            known = any(fnmatchcase(metric, p) for p in self.numeric_patterns)
            if len(self._numeric_metric) < 10_000:
                self._numeric_metric[metric] = known
        return known

    def _watched(self, metric: str) -> bool:
        known = self._watched_metric.get(metric)
        if known is None:
            known = metric in self.state_metrics or any(fnmatchcase(metric, p) for p in self.watched_patterns)
            if len(self._watched_metric) < 10_000:
                self._watched_metric[metric] = known
        return known

    def _refusal(self, reading: Reading) -> tuple[str, str] | None:
        metric = reading.metric
        if len(metric) > self.max_metric_len:
            return METRIC_TOO_LONG, f"metric name of {len(metric)} characters (at most {self.max_metric_len})"
        if len(reading.subject) > MAX_SUBJECT_LEN:
            return VALUE_TOO_LONG, f"subject of {len(reading.subject)} characters (at most {MAX_SUBJECT_LEN})"
        if isinstance(reading.value, str) and len(reading.value) > MAX_STATE_LEN:
            return VALUE_TOO_LONG, f"state of {len(reading.value)} characters on {metric!r} (at most {MAX_STATE_LEN})"
        if len(reading.unit) > MAX_UNIT_LEN:
            return VALUE_TOO_LONG, f"unit of {len(reading.unit)} characters on {metric!r} (at most {MAX_UNIT_LEN})"
        metrics = self._numeric.setdefault(reading.subject, {})
        history = metrics.get(metric)
        if history is None and len(metrics) >= self.max_metrics and not self._watched(metric):
            return TOO_MANY_METRICS, f"{reading.subject!r} already has {len(metrics)} metrics (at most {self.max_metrics})"
        # SNMP profiles type each value from its MIB (a toner level can be "some_remaining").
        typed = not reading.source.startswith("snmp")
        if typed and isinstance(reading.value, str) and metric not in self.state_metrics:
            if self._watched_as_number(metric):
                return BAD_PAYLOAD, f"state {reading.value!r} on {metric!r}, which a rule watches as a number"
            if unit_for(metric, reading.unit):
                return BAD_PAYLOAD, f"state {reading.value!r} on {metric!r}, which has a unit"
            if history:
                return BAD_PAYLOAD, f"state {reading.value!r} on {metric!r}, whose readings are numbers"
        if history is None:
            metrics[metric] = not isinstance(reading.value, str)
        return None

    def filter(self, readings: Sequence[Reading], reject: Reject) -> list[Reading]:
        """The readings that pass; each refused one is handed to reject and logged (rate-limited)."""
        kept: list[Reading] = []
        refused: list[tuple[Reading, str, str]] = []
        with self._lock:
            for reading in readings:
                why = self._refusal(reading)
                if why is None:
                    kept.append(reading)
                else:
                    refused.append((reading, *why))
                    self._log.warn(why[0], reading.subject, reading.metric, why[1])
        for reading, reason, detail in refused:
            reject(reading.source, reason, detail)
        return kept
