"""Scheduling: one APScheduler job per device; errors logged on change, not on every poll."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.snmp_jobs import JOB_PREFIX, DeviceErrorLog, schedule_snmp_polls
from collectors.snmp.poller import SnmpPoller
from rules.reading import Reading
from tests.support.snmp import NOW, SnmpSim, free_udp_port, target


class ListSink:
    """A ReadingSink that keeps what it is given (thread-safe, like the pipeline's)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self._lock = threading.Lock()

    def submit(self, readings: Sequence[Reading], *, on_stored: Callable[[], None] | None = None) -> None:
        with self._lock:
            self.readings.extend(readings)
        if on_stored:
            on_stored()

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        raise AssertionError(f"unexpected reject {reason}: {detail}")

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        raise AssertionError("unexpected unknown source")

    def subjects(self, metric: str = "reachable") -> dict[str, list[float | str]]:
        with self._lock:
            seen: dict[str, list[float | str]] = {}
            for reading in self.readings:
                if reading.metric == metric:
                    seen.setdefault(reading.subject, []).append(reading.value)
            return seen


async def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def test_each_device_gets_its_own_coalesced_jittered_job(sim: SnmpSim) -> None:
    dead_port = free_udp_port()
    targets = [
        target("brother-mfc-l2710dw", sim.port, interval="1s"),
        target("eaton-93e-ups", sim.port, profile="ups", interval="2s"),
        target("public", dead_port, equipment_id="dead-printer", interval="1s", timeout="0.2s", retries=0),
    ]
    sink = ListSink()
    ticks = iter(range(1_000_000))

    def clock() -> datetime:
        return NOW + timedelta(seconds=next(ticks))

    async def run() -> dict[str, list[float | str]]:
        scheduler = AsyncIOScheduler(timezone=UTC)
        poller = SnmpPoller(max_concurrency=2)
        schedule_snmp_polls(scheduler, poller, targets, sink, clock)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {JOB_PREFIX + t.equipment_id for t in targets}
        for t in targets:
            job = jobs[JOB_PREFIX + t.equipment_id]
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time >= 1
            assert job.trigger.interval == timedelta(seconds=t.interval_s)
            assert job.trigger.jitter >= 1
        scheduler.start()
        try:
            done = await _wait_until(
                lambda: all(len(v) >= 2 for v in sink.subjects().values()) and len(sink.subjects()) == 3, 20
            )
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
            poller.close()
        assert done, sink.subjects()
        return sink.subjects()

    seen = asyncio.run(run())
    assert set(seen["brother-mfc-l2710dw"]) == {1.0}
    assert set(seen["eaton-93e-ups"]) == {1.0}
    assert set(seen["dead-printer"]) == {0.0}
    # Timestamps come from the injected clock, not the wall clock.
    assert all(NOW <= r.ts < NOW + timedelta(days=1) for r in sink.readings)


def test_device_errors_are_logged_on_change_hourly_and_on_recovery(caplog: pytest.LogCaptureFixture) -> None:
    errors = DeviceErrorLog()
    caplog.set_level(logging.INFO, logger="agent.snmp_jobs")
    timeout = "timed out after 2 retries"
    for minute in range(0, 59):  # a dead printer polled every minute for an hour: one line
        errors.record("printer-1", timeout, NOW + timedelta(minutes=minute))
    assert len(caplog.records) == 1 and "printer-1" in caplog.records[0].getMessage()
    errors.record("printer-1", timeout, NOW + timedelta(minutes=60))  # still failing an hour later
    assert len(caplog.records) == 2 and "continues" in caplog.records[1].getMessage()
    errors.record("printer-1", "authentication failed", NOW + timedelta(minutes=61))  # a different error
    assert len(caplog.records) == 3
    errors.record("printer-1", None, NOW + timedelta(minutes=62))
    errors.record("printer-1", None, NOW + timedelta(minutes=63))
    assert len(caplog.records) == 4 and "recovered" in caplog.records[3].getMessage()
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "WARNING", "INFO"]
