"""/metrics for the pipeline's bounded queue: its capacity, whether it is full, and how often it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.pipeline import Pipeline


class PipelineQueueCollector(Collector):
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def collect(self) -> Iterator[Any]:
        p = self._pipeline
        yield GaugeMetricFamily(
            "facility_pipeline_queue_capacity", "Readings the queue holds before collectors wait", value=p.queue_size
        )
        yield GaugeMetricFamily(
            "facility_pipeline_queue_full", "1 while collectors wait for room in the queue", value=int(p.full_since is not None)
        )
        yield CounterMetricFamily(
            "facility_pipeline_queue_full_waits", "Hand-overs that had to wait for room", value=p.stats["submit_waits"]
        )
