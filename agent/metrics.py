"""Prometheus metrics, on a registry owned by the runtime (no import-time globals)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.readings_in = Counter(
            "facility_readings_in", "Readings accepted into the pipeline", ["source"], registry=self.registry
        )
        self.poll_duration = Histogram(
            "facility_poll_duration_seconds",
            "Duration of one equipment poll",
            ["collector"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "facility_poll_errors", "Polls that failed", ["collector", "reason"], registry=self.registry
        )
        self.notification_failures = Counter(
            "facility_notification_failures", "Notifications that could not be delivered", ["channel"], registry=self.registry
        )
        self.notifications_sent = Counter(
            "facility_notifications_sent", "Notifications delivered", ["channel"], registry=self.registry
        )
        self.notifications_given_up = Counter(
            "facility_notifications_given_up", "Notifications the outbox stopped retrying", ["channel"], registry=self.registry
        )
        self.outbox_rows = Gauge("facility_notification_outbox", "Outbox rows waiting, by state", ["state"], registry=self.registry)
        self.transitions = Counter(
            "facility_alert_transitions", "Alert transitions applied", ["kind"], registry=self.registry
        )
        self.up = Gauge("facility_up", "1 while the agent runs", registry=self.registry)
        self.up.set(1)

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CallbackCollector(Collector):
    """Values read when scraped: queue depth, alerts by state, rejected readings by reason."""

    def __init__(
        self,
        *,
        queue_depth: Callable[[], int],
        rejects: Callable[[], dict[tuple[str, str], int]],
        alerts_by_state: Callable[[], dict[str, int]],
        last_poll: Callable[[], dict[str, float]],
        stored: Callable[[], dict[str, int]] | None = None,
        unknown_inputs: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._stored = stored
        self._unknown_inputs = unknown_inputs
        self._queue_depth = queue_depth
        self._rejects = rejects
        self._alerts_by_state = alerts_by_state
        self._last_poll = last_poll

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily("facility_pipeline_queue_depth", "Readings waiting to be stored", value=self._queue_depth())
        dropped = CounterMetricFamily(
            "facility_readings_dropped", "Inputs that could not become readings, by source and reason", labels=["source", "reason"]
        )
        for (source, reason), count in sorted(self._rejects().items()):
            dropped.add_metric([source, reason], count)
        yield dropped
        if self._stored is not None:
            stored = CounterMetricFamily(
                "facility_readings_stored", "Readings committed to storage, by source", labels=["source"]
            )
            for source, count in sorted(self._stored().items()):
                stored.add_metric([source], count)
            yield stored
        if self._unknown_inputs is not None:
            unknown = CounterMetricFamily(
                "facility_unknown_source_inputs",
                "Inputs from sources no equipment or supply is configured for (listed at /api/v1/unknown-sources)",
                labels=["source"],
            )
            for source, count in sorted(self._unknown_inputs().items()):
                unknown.add_metric([source], count)
            yield unknown
        states = GaugeMetricFamily("facility_alerts", "Alerts by state", labels=["state"])
        for state, count in sorted(self._alerts_by_state().items()):
            states.add_metric([state], count)
        yield states
        polls = GaugeMetricFamily(
            "facility_last_successful_poll_timestamp_seconds", "Last successful poll per collector", labels=["collector"]
        )
        for name, ts in sorted(self._last_poll().items()):
            polls.add_metric([name], ts)
        yield polls
