"""Real SNMP peers for tests and benches: snmpsim serving .snmprec recordings, net-snmp's snmpd for v3.

Both are started on a free UDP port on 127.0.0.1 and stopped by the caller (context managers).
As root, snmpsim drops to nobody/nogroup, so its data is copied to a world-readable temp dir
and it gets a cache dir that nobody can write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings, SnmpTarget, resolve_target
from collectors.snmp.poller import PollResult, SnmpPoller

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "snmp"
SNMPSIM = Path(sys.executable).with_name("snmpsim-command-responder")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def free_udp_port() -> int:
    # Bind to port 0 and read back the port the kernel chose; closing it frees it for the peer.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def snmp_answers(port: int, community: str, oid: str = "1.3.6.1.2.1.1.3.0", version: str = "2c") -> bool:
    """True when net-snmp's snmpget gets an answer (any answer) from the agent."""
    result = subprocess.run(
        ["snmpget", f"-v{version}", "-c", community, "-t", "0.3", "-r", "0", "-On", f"127.0.0.1:{port}", oid],
        capture_output=True,
        text=True,
        env={**os.environ, "MIBS": "", "MIBDIRS": ""},
    )
    return result.returncode == 0 and oid.lstrip(".") in result.stdout


@dataclass
class SnmpSim:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    owned_dir: Path | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.owned_dir is not None:
            shutil.rmtree(self.owned_dir, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def _world_readable(path: Path) -> None:
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


@contextlib.contextmanager
def snmpsim(
    recordings: Iterable[Path],
    *,
    port: int | None = None,
    workdir: Path | None = None,
    ready_community: str | None = None,
    extra_args: Iterable[str] = (),
) -> Iterator[SnmpSim]:
    """Serve each recording under its file stem as community, on 127.0.0.1:<free port>."""
    with contextlib.ExitStack() as stack:
        base = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="snmpsim-")))
        sim = start_snmpsim(
            recordings, base=base, port=port, ready_community=ready_community, extra_args=extra_args
        )
        try:
            yield sim
        finally:
            sim.stop()


def start_snmpsim(
    recordings: Iterable[Path],
    *,
    base: Path | None = None,
    port: int | None = None,
    ready_community: str | None = None,
    extra_args: Iterable[str] = (),
    timeout: float = 30.0,
    log_level: str = "error",
) -> SnmpSim:
    """Start snmpsim; base (default: a new temp dir, removed on stop) must be reachable by nobody."""
    owned = None
    if base is None:
        # pytest's tmp_path sits under a 0700 folder that nobody can't enter; /tmp is fine.
        base = owned = Path(tempfile.mkdtemp(prefix="snmpsim-"))
    data = base / "data"
    cache = base / "cache"
    data.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    names = []
    for recording in recordings:
        shutil.copy(recording, data / recording.name)
        names.append(recording.stem)
    _world_readable(base)
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        shutil.chown(cache, "nobody", "nogroup")
    port = port or free_udp_port()
    log_path = base / "snmpsim.log"
    args = [
        str(SNMPSIM),
        f"--data-dir={data}",
        f"--cache-dir={cache}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        # At the default level it logs every request and response, formatted: that costs it
        # more than answering (about 20 ms for a 36-OID GET).
        f"--log-level={log_level}",
        *extra_args,
    ]
    if os.geteuid() == 0:
        args += ["--process-user", "nobody", "--process-group", "nogroup"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    sim = SnmpSim(port=port, data_dir=data, process=process, log_path=log_path, owned_dir=owned)
    community = ready_community or (names[0] if names else "public")
    try:
        started = wait_until(
            lambda: process.poll() is not None or snmp_answers(port, community), timeout, 0.2
        )
    except BaseException:  # e.g. Ctrl-C while waiting: don't leave the process behind
        sim.stop()
        raise
    if not started or process.poll() is not None:
        sim.stop()
        raise RuntimeError(f"snmpsim did not start on port {port}:\n{sim.log()}")
    return sim


@dataclass
class Snmpd:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def snmpd(config_lines: Iterable[str], *, ready: Callable[[int], bool]) -> Iterator[Snmpd]:
    """net-snmp's snmpd in the foreground with only our config, on 127.0.0.1:<free port>.

    ready(port) says when it answers (v3 needs the test's own credentials to check).
    """
    with tempfile.TemporaryDirectory(prefix="snmpd-") as tmp:
        base = Path(tmp)
        (base / "mibs").mkdir()
        (base / "persist").mkdir()
        conf = base / "snmpd.conf"
        conf.write_text("\n".join([f"persistentDir {base / 'persist'}", *config_lines]) + "\n")
        port = free_udp_port()
        log_path = base / "snmpd.log"
        env = {
            **os.environ,
            "MIBDIRS": str(base / "mibs"),
            "MIBS": "",
            "SNMP_PERSISTENT_DIR": str(base / "persist"),
        }
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                ["snmpd", "-f", "-Lo", "-C", "-c", str(conf), f"udp:127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        daemon = Snmpd(port=port, process=process, log_path=log_path)
        try:
            if (
                not wait_until(lambda: process.poll() is not None or ready(port), 20.0, 0.2)
                or process.poll() is not None
            ):
                raise RuntimeError(f"snmpd did not start on port {port}:\n{daemon.log()}")
            yield daemon
        finally:
            daemon.stop()


# ---------------------------------------------------------------- helpers for polling in tests
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

GEIST_SPEC = {
    "columns": [
        {
            "oid": "1.3.6.1.4.1.21239.5.1.2.1.5",
            "metric": "temperature_c",
            "scale": "tenths",
            "unit": "°C",
            "label_oid": "1.3.6.1.4.1.21239.5.1.2.1.3",
        },
        {"oid": "1.3.6.1.4.1.21239.5.1.2.1.6", "metric": "humidity_pct", "unit": "%"},
        {
            "oid": "1.3.6.1.4.1.21239.5.1.4.1.5",
            "metric": "probe.{label}.temperature_c",
            "scale": "tenths",
            "unit": "°C",
            "label_oid": "1.3.6.1.4.1.21239.5.1.4.1.3",
        },
    ]
}


def target(
    community: str, port: int, profile: str = "printer", equipment_id: str | None = None, **extra: object
) -> SnmpTarget:
    settings = SnmpEquipmentSettings.model_validate(
        {"host": "127.0.0.1", "port": port, "profile": profile, "community": community, **extra}
    )
    return resolve_target(equipment_id or community, settings, SnmpDefaults(timeout="1s", retries=1))


def poll_once(*targets: SnmpTarget, now: datetime = NOW) -> list[PollResult]:
    async def run() -> list[PollResult]:
        poller = SnmpPoller(max_concurrency=4)
        try:
            return list(await asyncio.gather(*(poller.poll(t, now=now) for t in targets)))
        finally:
            poller.close()

    return asyncio.run(run())


def values(result: PollResult) -> dict[str, float | str]:
    return {reading.metric: reading.value for reading in result.readings}
