"""Run a command (``make test``'s pytest) with a PostgreSQL to test against, so the PostgreSQL
tests run instead of skipping on a machine where none is running.

    python -m tests.support.private_postgres python -m pytest ...

- $FACILITY_TEST_POSTGRES_URL is set, or the usual server (postgresql://postgres@127.0.0.1:5432/test)
  answers: the command runs against it, as before.
- Otherwise, when Debian's PostgreSQL is installed (``make test`` installs it as root): a private
  cluster is made with initdb in a temporary directory, on a free loopback port, as a non-root
  user (``nobody`` when run as root: PostgreSQL refuses to run as root). The command runs with
  FACILITY_TEST_POSTGRES_URL pointing at it and FACILITY_TEST_REQUIRE_POSTGRES=1, so a PostgreSQL
  test that can't connect fails rather than skips. The cluster is stopped and removed afterwards.
- No PostgreSQL binaries at all: says so, and the command runs (its PostgreSQL tests skip, and say why).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.support.db import POSTGRES_URL_ENV, REQUIRE_POSTGRES_ENV, postgres_base_url, postgres_unavailable

FORCE_ENV = "FACILITY_TEST_PRIVATE_POSTGRES"


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user(argv: Sequence[str]) -> list[str]:
    """PostgreSQL won't run as root: run its tools as nobody then."""
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else list(argv)


class PrivateCluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="facility-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "nobody")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def start(self) -> None:
        def run(*argv: str) -> None:
            subprocess.run(_as_user(argv), stdout=subprocess.DEVNULL, check=True)

        run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start")
        run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")

    def stop(self) -> None:
        subprocess.run(_as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    command = list(argv[1:] if argv[:1] == ["--"] else argv)
    if not command:
        print("usage: python -m tests.support.private_postgres COMMAND...", file=sys.stderr)
        return 2
    forced = os.environ.get(FORCE_ENV) == "1"  # for the test of this module
    if not forced and (os.environ.get(POSTGRES_URL_ENV) or postgres_unavailable(postgres_base_url()) is None):
        return subprocess.call(command)
    bin_dir = _bin_dir()
    if bin_dir is None:
        print(f"note: no PostgreSQL at {postgres_base_url()} and none installed; its tests will skip "
              "(install Debian's postgresql, or set FACILITY_TEST_POSTGRES_URL)", file=sys.stderr)
        return subprocess.call(command)
    cluster = PrivateCluster(bin_dir)
    try:
        cluster.start()
        print(f"PostgreSQL tests: a private cluster on 127.0.0.1:{cluster.port} ({bin_dir.parent.name})", file=sys.stderr)
        env = {**os.environ, POSTGRES_URL_ENV: cluster.url, REQUIRE_POSTGRES_ENV: "1"}
        return subprocess.call(command, env=env)
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
