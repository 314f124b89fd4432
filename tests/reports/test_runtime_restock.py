"""The whole agent (Runtime) with supplies and SMTP: started after 06:00 it catches up and sends the
day's restock email once; restarted, it sends nothing more. A count from a person then shows in the
next day's list."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.runtime import Runtime
from agent.services.supplies import list_restock_reports
from tests.reports.conftest import report_config
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


class RunningAgent:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        try:
            asyncio.run(self.runtime.run(install_signals=False, started=self.started.set))
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            self.started.set()

    def __enter__(self) -> RunningAgent:
        self.thread.start()
        assert self.started.wait(30), "agent did not start"
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        stop = getattr(self.runtime, "request_stop_threadsafe", None)
        if stop is not None:
            stop()
        else:
            self.runtime.request_stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "agent did not stop"


def test_runtime_catches_up_and_sends_once_across_a_restart(
    smtp: SmtpServer, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    config = report_config(smtp, db_url)
    config.api.enabled = False
    config.database.data_dir = tmp_path / "data"
    clock.set(datetime(2026, 1, 6, 9, 30, tzinfo=UTC))
    with RunningAgent(Runtime(config, clock=clock, migrate=False).build()) as running:
        wait_until(lambda: len(smtp.messages()) == 1, 20, what="the catch-up restock email")
        sessions = running.runtime.sessions
        wait_until(lambda: [r.state for r in list_restock_reports(sessions)] == ["sent"], 10, what="state sent")
    clock.advance(timedelta(minutes=2))
    with RunningAgent(Runtime(config, clock=clock, migrate=False).build()) as running:
        report = running.runtime.scheduler.get_job("restock-report-check").func.__self__
        wait_until(lambda: report.last_outcome is not None, 20, what="the catch-up run")
        assert report.last_outcome.action == "done"
    assert len(smtp.messages()) == 1
    message = smtp.messages()[0].message
    assert message["Subject"] == "Restock list for St Mary's East, 2026-01-06: 2 items to order"
