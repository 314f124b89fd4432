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


async def stop_scheduler(scheduler: AsyncIOScheduler, timeout: float = 10.0) -> None:
    """Stop starting jobs, let the running ones finish (bounded), then shut down.

    APScheduler's shutdown cancels running coroutine jobs, and each cancelled one is logged
    as a failed job with a CancelledError traceback; on SIGTERM they are let finish instead.
    """
    import asyncio
    import logging

    if not scheduler.running:
        return
    scheduler.pause()
    running: list[Any] = []
    for alias in ("default",):
        try:
            executor = scheduler._lookup_executor(alias)
        except KeyError:
            continue
        running += [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
    if running:
        _done, late = await asyncio.wait(running, timeout=timeout)
        if late:
            logging.getLogger(__name__).warning("%d scheduled jobs still running after %.0fs; cancelling them", len(late), timeout)
    scheduler.shutdown(wait=False)
