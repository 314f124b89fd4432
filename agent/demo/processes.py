"""Child processes of the demo: each in its own process group, output to a log file, stopped by the demo.

Their own process group keeps a terminal's Ctrl-C away from them: the demo stops the agent first
(so it drains its queue while the broker and the simulators still answer), then each child.
On Linux a child also gets SIGTERM if the demo dies without cleaning up (parent-death signal),
unless it changes user (snmpsim as root), which clears that setting.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _in_child() -> None:
    # The parent blocks Ctrl-C around the fork (see start_child); the child must not inherit that.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0  # where it listens, once known

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after timeout; always reaps the process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %ss; killing it", self.name, timeout)
                self.process.kill()
                self.process.wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_child(
    name: str,
    args: Sequence[str],
    *,
    log_path: Path,
    registry: list[Child] | None = None,
    env: Mapping[str, str] | None = None,
) -> Child:
    """Start a child; it is in `registry` before a Ctrl-C can interrupt, so the demo can always stop it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        # Signals wait until the child is recorded: a Ctrl-C between fork and bookkeeping would orphan it.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=0,
                preexec_fn=_in_child,
            )
            child = Child(name=name, process=process, log_path=log_path)
            if registry is not None:
                registry.append(child)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    log.info("started %s", name, extra={"pid": process.pid, "log": str(log_path)})
    return child
