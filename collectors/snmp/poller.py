"""Poll one device once and turn the answer into Readings; never raises for a device's fault."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from collectors.snmp.config import SnmpTarget
from collectors.snmp.fetch import Fetcher
from collectors.snmp.profiles import profile_for
from collectors.snmp.profiles.base import Measurement
from collectors.snmp.wire import SnmpRequestError, SnmpWire
from rules.reading import InvalidReading, Reading, make_reading

log = logging.getLogger(__name__)

SOURCE = "snmp"


@dataclass(frozen=True, slots=True)
class PollResult:
    """readings always include `reachable` and `poll.duration_s`; error is for people, per device."""

    equipment_id: str
    readings: list[Reading] = field(default_factory=list)
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return any(r.metric == "reachable" and r.value == 1.0 for r in self.readings)


class SnmpPoller:
    """One SnmpEngine for the process; at most max_concurrency devices in flight.

    Health readings on every poll: `reachable` (1/0), `poll.duration_s`, `poll.missed` (polls
    missed in a row) and `poll.status` ("ok", "missed", or "offline" once the device has missed
    offline_after_misses polls in a row). Create, use and close it on one event loop.

    Devices that missed their last poll wait in a lane of their own (a quarter of the slots):
    a poll that times out holds its slot for timeout x (retries + 1), and two hundred of them
    would otherwise keep the answering devices waiting past their interval.
    """

    def __init__(self, *, max_concurrency: int = 32, rewalk_after_s: float = 3600.0) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._wire = SnmpWire()
        self._fetcher = Fetcher(self._wire, rewalk_after=rewalk_after_s)
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._missing_lane = asyncio.Semaphore(max(1, max_concurrency // 4))
        self._misses: dict[str, int] = {}

    def close(self) -> None:
        self._wire.close()

    def prepare(self, targets: Sequence[SnmpTarget]) -> None:
        """Register devices in one go before polling them (much cheaper than one at a time). No I/O."""
        self._wire.register(targets)

    async def poll(self, target: SnmpTarget, *, now: datetime) -> PollResult:
        lane = self._missing_lane if self._misses.get(target.equipment_id, 0) else self._semaphore
        async with lane:
            started = time.monotonic()
            measurements: list[Measurement] = []
            problems: list[str] = []
            reachable = False
            try:
                profile = profile_for(target.profile)
                data = await self._fetcher.fetch(target, profile.plan(target), now=now.timestamp())
                output = profile.parse(target, data)
                measurements, problems, reachable = output.measurements, output.problems, True
            except SnmpRequestError as exc:
                problems = [str(exc)]
                self._fetcher.forget(target.equipment_id)
            except Exception as exc:  # a bug or a bizarre answer must not stop the other devices
                log.exception("snmp poll failed unexpectedly equipment=%s", target.equipment_id)
                problems = [f"internal error while polling: {type(exc).__name__}: {exc}"]
                self._fetcher.forget(target.equipment_id)
            duration = time.monotonic() - started

        misses = 0 if reachable else self._misses.get(target.equipment_id, 0) + 1
        self._misses[target.equipment_id] = misses
        if reachable:
            status = "ok"
        elif misses >= target.offline_after_misses:
            status = "offline"
        else:
            status = "missed"
        health = [
            Measurement("reachable", 1.0 if reachable else 0.0),
            Measurement("poll.duration_s", round(duration, 6), "s"),
            Measurement("poll.missed", float(misses)),
            Measurement("poll.status", status),
        ]
        readings: list[Reading] = []
        for m in [*measurements, *health]:
            try:
                readings.append(
                    make_reading(
                        subject=target.equipment_id,
                        metric=m.metric,
                        value=m.value,
                        ts=now,
                        unit=m.unit,
                        source=SOURCE,
                    )
                )
            except InvalidReading as exc:
                problems.append(f"{m.metric}: {exc}")
        error = "; ".join(problems) if problems else None
        log.debug(
            "snmp poll equipment=%s reachable=%s readings=%d duration_s=%.3f error=%s",
            target.equipment_id, reachable, len(readings), duration, error,
        )  # fmt: skip
        return PollResult(equipment_id=target.equipment_id, readings=readings, error=error)
