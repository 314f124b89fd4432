"""Builds the agent's real pipeline (engine + storage) from a config, for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from agent.catalog import build_rules, build_subjects
from agent.config import AgentConfig, load_config_text
from agent.pipeline import Pipeline
from agent.storage.alerts import AppliedTransition
from agent.storage.db import create_db_engine, session_factory
from rules.engine import Engine, EngineSettings


class AgentHarness:
    def __init__(self, config: AgentConfig, url: str, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.url = url
        self.clock = clock
        self.db = create_db_engine(url)
        self.sessions = session_factory(self.db)
        self.applied: list[AppliedTransition] = []
        self.pipeline: Pipeline | None = None
        self.escalation_clock: dict[str, Callable[[datetime, datetime], timedelta]] = {}

    def start(self) -> Pipeline:
        engine = Engine(
            build_rules(self.config),
            build_subjects(self.config),
            settings=EngineSettings(
                ack_recovery=self.config.alerting.ack_recovery,
                escalation={n: t.escalate_after for n, t in self.config.teams.items() if t.escalate_after},
                escalation_clock=self.escalation_clock,
            ),
            started_at=self.clock(),
        )
        self.pipeline = Pipeline(engine=engine, sessions=self.sessions, clock=self.clock, batch_size=100)
        self.pipeline.restore()
        self.pipeline.listeners.append(self.applied.extend)
        self.pipeline.start()
        return self.pipeline

    def restart(self) -> Pipeline:
        assert self.pipeline is not None
        self.pipeline.stop()
        return self.start()

    def close(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
        self.db.dispose()


def config_from(text: str) -> AgentConfig:
    return load_config_text(text, file="test.yaml", environ={})
