"""SNMP polling in the agent: targets from the config, one APScheduler job per device."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from collectors.sink import ReadingSink
from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings, SnmpTarget, resolve_target
from collectors.snmp.poller import SnmpPoller

log = logging.getLogger(__name__)

JOB_PREFIX = "snmp-poll:"
REPEAT_ERROR_EVERY = timedelta(hours=1)  # an unchanged error is logged again this often, not every poll
MAX_FIRST_POLL_SPREAD_S = 30.0

_Settings = TypeVar(
    "_Settings", SnmpDefaults, SnmpEquipmentSettings
)  # first polls of all devices spread over this long after start


def snmp_defaults(config: Any) -> SnmpDefaults:
    raw = getattr(config, "snmp", None)
    if isinstance(raw, SnmpDefaults):
        return raw
    return SnmpDefaults.model_validate(raw or {})


def equipment_settings(item: Any) -> SnmpEquipmentSettings | None:
    raw = getattr(item, "snmp", None)
    if raw is None or isinstance(raw, SnmpEquipmentSettings):
        return raw
    return SnmpEquipmentSettings.model_validate(raw)


def build_snmp_targets(config: Any, only: str | None = None) -> tuple[list[SnmpTarget], list[str]]:
    """Resolve every SNMP equipment item (or just `only`); problems come back per device, not raised.

    config needs `.snmp` (SnmpDefaults or its dict) and `.equipment` (items with `.id`, `.snmp`).
    Relative *_file paths are taken from the config file's folder when `.source_path` is known.
    """
    targets: list[SnmpTarget] = []
    problems: list[str] = []
    base = _config_folder(config)
    try:
        defaults = _relative_to(snmp_defaults(config), base)
    except ValidationError as exc:
        return [], [f"snmp: {exc}"]
    for item in getattr(config, "equipment", []):
        if only is not None and item.id != only:
            continue
        try:
            settings = equipment_settings(item)
            if settings is None:
                if only is not None:
                    problems.append(f"equipment {item.id!r} has no snmp settings")
                continue
            targets.append(resolve_target(item.id, _relative_to(settings, base), defaults))
        except (ValidationError, ValueError) as exc:
            problems.append(f"equipment {item.id!r}: {exc}" if isinstance(exc, ValidationError) else str(exc))
    if only is not None and not targets and not problems:
        problems.append(f"no equipment with id {only!r} in the config")
    return targets, problems


def _config_folder(config: Any) -> Path | None:
    source = getattr(config, "source_path", None)
    return Path(source).parent if source else None


def _relative_to(model: _Settings, base: Path | None) -> _Settings:
    if base is None:
        return model
    changes: dict[str, Path] = {}
    for key in ("community_file", "auth_password_file", "priv_password_file"):
        path = getattr(model, key)
        if path is not None and not path.is_absolute():
            changes[key] = base / path
    return model.model_copy(update=changes) if changes else model


class DeviceErrorLog:
    """Logs a device's poll error when it appears or changes, once an hour while it lasts, and its recovery."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, datetime, int]] = {}

    def record(self, equipment_id: str, error: str | None, now: datetime) -> None:
        previous = self._last.get(equipment_id)
        if error is None:
            if previous is not None:
                del self._last[equipment_id]
                log.info(
                    "snmp device recovered equipment=%s after_failed_polls=%d", equipment_id, previous[2]
                )
            return
        if previous is None or previous[0] != error:
            self._last[equipment_id] = (error, now, 1)
            log.warning("snmp poll problem equipment=%s error=%s", equipment_id, error)
            return
        message, logged_at, count = previous
        if now - logged_at >= REPEAT_ERROR_EVERY:
            log.warning(
                "snmp poll problem continues equipment=%s polls=%d error=%s", equipment_id, count + 1, error
            )
            self._last[equipment_id] = (message, now, count + 1)
        else:
            self._last[equipment_id] = (message, logged_at, count + 1)


class PollHealth:
    """Per device: the last successful poll and the polls missed since (for /readyz)."""

    def __init__(self) -> None:
        self.last_success: dict[str, datetime] = {}
        self.misses: dict[str, int] = {}

    def record(self, equipment_id: str, ok: bool, now: datetime) -> None:
        if ok:
            self.last_success[equipment_id] = now
            self.misses[equipment_id] = 0
        else:
            self.misses[equipment_id] = self.misses.get(equipment_id, 0) + 1

    def report(self) -> dict[str, str]:
        out = {}
        for equipment_id in sorted(self.misses):
            last = self.last_success.get(equipment_id)
            seen = f"last success {last.isoformat(timespec='seconds')}" if last else "no successful poll yet"
            out[equipment_id] = f"{seen}; {self.misses[equipment_id]} missed in a row"
        return out


async def poll_and_submit(
    poller: SnmpPoller,
    target: SnmpTarget,
    sink: ReadingSink,
    clock: Callable[[], datetime],
    errors: DeviceErrorLog,
    health: PollHealth | None = None,
) -> None:
    now = clock()
    result = await poller.poll(target, now=now)
    errors.record(target.equipment_id, result.error, now)
    if health is not None:
        health.record(target.equipment_id, result.error is None, now)
    # submit may block while the pipeline's queue is full: keep that off the event loop.
    await asyncio.to_thread(sink.submit, result.readings)


def _first_poll_offset(equipment_id: str, interval_s: float) -> float:
    # Stable per device (same spread after every restart), spread evenly over the window.
    window = min(interval_s, MAX_FIRST_POLL_SPREAD_S)
    return (zlib.crc32(equipment_id.encode()) % 10_000) / 10_000 * window


def schedule_snmp_polls(
    scheduler: AsyncIOScheduler,
    poller: SnmpPoller,
    targets: Sequence[SnmpTarget],
    sink: ReadingSink,
    clock: Callable[[], datetime],
    health: PollHealth | None = None,
) -> None:
    """One job per device at its own interval: coalesced, never two at once, jittered."""
    errors = DeviceErrorLog()
    poller.prepare(targets)
    now = clock()
    for target in targets:
        interval = target.interval_s
        trigger = IntervalTrigger(
            seconds=interval,
            start_date=now + timedelta(seconds=_first_poll_offset(target.equipment_id, interval)),
            jitter=max(1, int(min(interval * 0.1, 15.0))),
        )
        scheduler.add_job(
            poll_and_submit,
            trigger=trigger,
            args=(poller, target, sink, clock, errors, health),
            id=JOB_PREFIX + target.equipment_id,
            name=f"poll {target.equipment_id} over SNMP",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval / 2)),
            replace_existing=True,
        )
    log.info("snmp polling scheduled devices=%d", len(targets))
