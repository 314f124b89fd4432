"""The agent polls SNMP equipment from its config file: a recorded printer served by snmpsim,
its community read from a file named relative to the config file, readings in storage."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.config.loader import load_config
from agent.runtime import Runtime
from agent.storage.models import LatestReading
from tests.support.running_agent import RunningAgent
from tests.support.snmp import FIXTURES, snmpsim
from tests.support.wait import wait_until


def test_the_agent_polls_a_printer_with_a_community_file_beside_its_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A second printer names a community file that isn't there: it is reported and skipped,
    and the first one is polled all the same."""
    recording = FIXTURES / "brother-mfc-l2710dw.snmprec"
    with snmpsim([recording], ready_community=recording.stem) as sim:
        config_dir = tmp_path / "etc"
        (config_dir / "secrets").mkdir(parents=True)
        (config_dir / "secrets" / "printer-community").write_text(recording.stem + "\n")
        config_file = config_dir / "facility.yaml"
        config_file.write_text(
            f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{enabled: false}}
equipment:
  - id: printer-2f
    name: Printer 2F
    kind: printer
    location: Ward 2
    snmp:
      host: 127.0.0.1
      port: {sim.port}
      community_file: secrets/printer-community
      interval: 2s
  - id: printer-3f
    name: Printer 3F
    kind: printer
    snmp:
      host: 127.0.0.1
      port: {sim.port}
      community_file: secrets/missing-community
"""
        )
        runtime = Runtime(load_config(config_file, environ={})).build()

        def polled() -> list[LatestReading]:
            with runtime.sessions() as s:
                return list(s.scalars(select(LatestReading).where(LatestReading.subject == "printer-2f")))

        with caplog.at_level(logging.ERROR, logger="agent.runtime"), RunningAgent(runtime):
            rows = wait_until(
                lambda: [r for r in polled() if r.metric == "reachable" and r.value_num == 1.0] and polled(),
                timeout=60,
                what="the printer polled and its readings stored",
            )
    metrics = {r.metric for r in rows}
    assert any(m.startswith("toner.") for m in metrics), metrics
    problems = [r.getMessage() for r in caplog.records if "not polled" in r.getMessage()]
    assert len(problems) == 1 and "printer-3f" in problems[0] and "missing-community" in problems[0], problems
    with runtime.sessions() as s:
        assert not list(s.scalars(select(LatestReading).where(LatestReading.subject == "printer-3f")))
