"""200 SNMP devices timing out at once: the one that answers is still polled at its interval.

The dead devices are loopback addresses where nothing listens (each poll waits out its timeout
and retry); the healthy one is a recorded printer served by snmpsim.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.faults.agent_process import AgentProcess
from tests.support.snmp import FIXTURES, snmpsim
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

DEAD = 200
INTERVAL_S = 2
POLLS = 8  # consecutive polls of the healthy device to look at


def test_200_devices_timing_out_do_not_delay_the_healthy_ones(tmp_path: Path) -> None:
    recording = FIXTURES / "brother-mfc-l2710dw.snmprec"
    with snmpsim([recording], ready_community=recording.stem) as sim:
        dead = "\n".join(
            f"  - {{id: dead-{i:03d}, name: Dead {i}, kind: printer, snmp: {{host: 127.0.{2 + i // 250}.{1 + i % 250}, "
            f"port: 9, community: public, timeout: 1s, retries: 1, interval: {INTERVAL_S}s}}}}"
            for i in range(DEAD)
        )
        config = tmp_path / "facility.yaml"
        config.write_text(
            f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{enabled: false}}
equipment:
  - id: printer-ok
    name: Printer OK
    kind: printer
    snmp: {{host: 127.0.0.1, port: {sim.port}, community: {recording.stem}, interval: {INTERVAL_S}s}}
{dead}
"""
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        db = create_engine(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")

        def polls(subject: str) -> list[float]:
            with db.connect() as conn:
                rows = conn.execute(
                    text("SELECT ts FROM readings WHERE subject = :s AND metric = 'reachable' ORDER BY ts"),
                    {"s": subject},
                ).all()
            from datetime import datetime

            return [datetime.fromisoformat(str(r[0])).timestamp() for r in rows]

        def dead_polled() -> int:
            with db.connect() as conn:
                return int(
                    conn.execute(
                        text("SELECT COUNT(DISTINCT subject) FROM readings WHERE metric = 'reachable' AND value_num = 0")
                    ).scalar_one()
                )

        try:
            agent.start()
            # Every dead device has missed once: from now on all 200 keep timing out together.
            wait_until(lambda: dead_polled() >= DEAD, 240, 0.5, f"all {DEAD} dead devices polled once")
            start = len(polls("printer-ok"))
            wait_until(lambda: len(polls("printer-ok")) >= start + POLLS + 1, 120, 0.5, f"{POLLS} more polls")
            assert agent.alive(), agent.tail()
            times = polls("printer-ok")[start:]
            gaps = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)]
            # Interval 2 s with up to 1 s of jitter either way, and slack for a loaded machine; a
            # poll queued behind 200 devices' timeouts (1 s x 2 tries each, 32 at a time) waits
            # about 12 s each round (without the separate lane: no poll for over a minute).
            assert max(gaps) <= INTERVAL_S * 3 + 1, gaps
            assert agent.stop() == 0, agent.tail()
        finally:
            if agent.alive():
                agent.kill9()
            db.dispose()
