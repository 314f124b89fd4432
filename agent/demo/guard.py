"""Run one command and take it down when this process is told to stop or its parent dies.

`python -m agent.demo.guard [--remove DIR] COMMAND...`; DIR (the child's temp files) is removed
once the child has exited. The demo starts snmpsim through it: snmpsim drops to user
nobody when started as root, and that change of user clears the parent-death signal, so a demo
killed with SIGKILL would leave snmpsim behind. The guard keeps its own parent-death signal (it
does not change user), and stops its child when it gets one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_S = 5.0


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str]) -> int:
    remove: str | None = None
    if argv[:1] == ["--remove"] and len(argv) > 1:
        remove, argv = argv[1], argv[2:]
    if not argv:
        sys.stderr.write("usage: python -m agent.demo.guard [--remove DIR] COMMAND [ARG...]\n")
        return 2
    try:
        return _run(argv)
    finally:
        if remove:
            shutil.rmtree(remove, ignore_errors=True)


def _run(argv: list[str]) -> int:
    parent = os.getppid()
    _die_with_parent()
    child = subprocess.Popen(argv)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            child.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    if os.getppid() != parent:  # the parent died before the parent-death signal was armed
        stop(signal.SIGTERM, None)
    kill_at: float | None = None
    while True:
        try:
            return child.wait(0.5)
        except subprocess.TimeoutExpired:
            if stopping:
                kill_at = kill_at or time.monotonic() + STOP_TIMEOUT_S
                if time.monotonic() > kill_at:
                    child.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
