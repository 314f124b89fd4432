"""`facility-agent` as a new user runs it: CLI commands and `run` as a subprocess, HTTP with a token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.wait import wait_until

CLI = [sys.executable, "-m", "agent.cli"]


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one CLI command; its stdout, or an assertion naming what it printed."""
    done = subprocess.run(
        [*CLI, "--config", str(config), *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


class AgentProcess:
    """`facility-agent run` in its own process; stop() sends SIGTERM and returns its log."""

    def __init__(self, config: Path, port: int, token: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = env or {}
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.http = httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        env = {**os.environ, "FACILITY_SESSION_SECRET": "e2e-secret-" + "x" * 32, **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*CLI, "--config", str(self.config), "run"], stdout=log, stderr=subprocess.STDOUT, env=env
            )
        wait_until(
            lambda: self._exited() or httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200,
            60, 0.2, "the agent's API to answer",
        )
        assert not self._exited(), self.log()
        return self

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the agent did not stop within 60 s of SIGTERM:\n" + self.log()) from None
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def metrics(self) -> dict[str, list[Any]]:
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        return {f.name: list(f.samples) for f in text_string_to_metric_families(text)}

    def counter(self, name: str, **labels: str) -> float:
        """The sum of a counter's samples whose labels include the given ones."""
        return sum(
            s.value for s in self.metrics().get(name, [])
            if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def __enter__(self) -> AgentProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
        self.http.close()
