"""APScheduler 3 set-up with an explicit policy per job (coalesce, max instances, misfire grace)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger


def create_scheduler(timezone: str) -> AsyncIOScheduler:
    return AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )


def add_interval_job(
    scheduler: AsyncIOScheduler,
    func: Callable[..., Any],
    *,
    job_id: str,
    every: timedelta,
    jitter: float | None = None,
    misfire_grace: float = 30,
) -> None:
    """A periodic housekeeping job: missed runs coalesce into one; never two at once."""
    scheduler.add_job(
        func,
        IntervalTrigger(seconds=max(every.total_seconds(), 0.1), jitter=jitter),
        id=job_id,
        name=job_id,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(misfire_grace),
        replace_existing=True,
    )
