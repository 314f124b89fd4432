"""The agent's real pipeline with the notification parts wired as the runtime wires them, driven
by a FakeClock: sender rounds are run by the test (run_once), receivers are real servers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import yaml

from agent.metrics import AgentMetrics
from agent.notify.ack_links import LinkMaker
from agent.notify.channels import build_channel
from agent.notify.outbox import OutboxWriter
from agent.notify.routing import Router
from agent.notify.sender import OutboxSender
from agent.notify.wiring import escalation_clocks, record_give_up
from tests.agent.harness import AgentHarness, config_from
from tests.support.clock import FakeClock


class NotifyStack:
    def __init__(self, document: dict[str, Any], db_url: str, clock: FakeClock, *, link_secret: str | None = None) -> None:
        self.config = config_from(yaml.safe_dump(document))
        self.clock = clock
        self.harness = AgentHarness(self.config, db_url, clock)
        self.router = Router(self.config)
        self.harness.escalation_clock = escalation_clocks(self.router)
        self.pipeline = self.harness.start()
        self.pipeline.alerts.on_applied.append(OutboxWriter(self.router, clock=clock, site_name=self.config.site.name))
        self.metrics = AgentMetrics()
        links = None
        if link_secret:
            links = LinkMaker(secret=link_secret, base_url=self.config.site.public_base_url, expire_after=self.config.notifications.ack_links.expire_after)
        fake_runtime = SimpleNamespace(pipeline=self.pipeline, clock=clock)
        self.sender = OutboxSender(
            sessions=self.harness.sessions,
            clock=clock,
            channels={n: build_channel(n, c, self.config.notifications.smtp) for n, c in self.router.channels.items()},
            delivery=self.config.notifications.delivery,
            site_name=self.config.site.name,
            metrics=self.metrics,
            links=links,
            account_for=self.router.account_for,
            on_give_up=lambda row, error: record_give_up(fake_runtime, row, error),  # type: ignore[arg-type]
        )

    @property
    def sessions(self) -> Any:
        return self.harness.sessions

    def close(self) -> None:
        self.harness.close()
