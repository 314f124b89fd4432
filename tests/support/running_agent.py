"""Run a real Runtime in a background thread for a test, and stop it on exit."""

from __future__ import annotations

import threading

from agent.runtime import Runtime


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
        self.runtime.request_stop_threadsafe()
        self.thread.join(30)
        assert not self.thread.is_alive(), "agent did not stop"

