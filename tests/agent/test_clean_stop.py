"""A stop during the unknown sources' write-out lets it finish: no CancelledError, nothing lost."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.config import load_config_text
from agent.runtime import Runtime
from agent.storage.models import UnknownSource
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until


def test_stop_during_the_unknown_sources_write_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load_config_text(
        f"site: {{id: riverside}}\ndatabase: {{data_dir: {tmp_path}}}\napi: {{enabled: false}}\n", environ={}
    )
    runtime = Runtime(config).build()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(10_000):
        runtime.unknown.record("mqtt:t", f"facility/riverside/equipment/ghost-{i}/x", "1", at)
    with caplog.at_level(logging.INFO), RunningAgent(runtime):
        runtime._loop.call_soon_threadsafe(  # type: ignore[union-attr]
            lambda: runtime.scheduler.modify_job("unknown-sources", next_run_time=datetime.now(UTC))
        )
        wait_until(runtime.unknown._flush_lock.locked, 30, 0.001, "the write-out to start")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "CancelledError" not in text and "Traceback" not in text and "raised an exception" not in text, text
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(UnknownSource)) == 10_000
