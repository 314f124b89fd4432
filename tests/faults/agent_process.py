"""The whole agent as a subprocess (`facility-agent --config ... run`) for the fault suite.

Its output goes to a file, not a pipe: a pipe nobody reads would fill and stall the agent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.wait import wait_until


class AgentProcess:
    def __init__(self, config_path: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> AgentProcess:
        assert self.process is None or self.process.poll() is not None, "agent already running"
        self.runs += 1
        with self.log_path.open("ab") as out:
            out.write(f"\n----- run {self.runs} -----\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "--config", str(self.config_path), "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill9(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> int:
        """SIGTERM and wait: the agent's orderly shutdown. Returns the exit code."""
        return self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> int:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc is not None else 0
        proc.send_signal(sig)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 4000) -> str:
        return self.output()[-chars:]

    def __enter__(self) -> AgentProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.alive():
            self.kill9()


def readyz(port: int) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=15)
    return response.status_code, response.json()


def metric_value(port: int, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=15).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def wait_ready(port: int, timeout: float = 120) -> None:
    wait_until(lambda: readyz(port)[0] == 200, timeout, 0.2, "agent /readyz 200")
