"""Real receivers for the notification tests: an aiosmtpd relay and a local webhook server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def pager(hooks: WebhookReceiver) -> WebhookReceiver:
    """The on-call channel's receiver (the same local webhook server)."""
    return hooks
