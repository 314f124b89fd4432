"""snmpsim serving the demo's recorded printers and UPS over real SNMP on a free loopback UDP port.

Each `NAME.snmprec` is served under community NAME. The Ward 3 printer's black toner level is
a `numeric` variation (snmpsim's own module): it drains from 12 % to 3 % in a minute.

As root, snmpsim refuses to run unless it drops to another user; it then runs as nobody/nogroup,
so its data goes to a world-readable temp dir and it gets a cache dir that nobody may write. When
nobody can't read this Python (a venv under /root), it stays root (SNMPSIM_ALLOW_ROOT), on loopback.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agent.demo.processes import Child, start_child

log = logging.getLogger(__name__)

RECORDINGS = ("printer-front-desk", "printer-ward-3", "ups-server-room")
START_TIMEOUT_S = 30.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def snmpsim_command(workdir: Path) -> list[str]:
    """snmpsim's responder run by this very Python, so it has the packages the agent has,
    behind a guard that stops it (and removes workdir) if the demo dies without cleaning up."""
    if importlib.util.find_spec("snmpsim") is None:
        raise DemoSnmpError("snmpsim is not installed in this Python environment (pip install snmpsim)")
    guard = []
    if sys.platform.startswith("linux"):
        guard = [sys.executable, "-m", "agent.demo.guard", "--remove", str(workdir)]
    return [*guard, sys.executable, "-m", "snmpsim.commands.responder"]


class DemoSnmpError(RuntimeError):
    pass


@dataclass
class SnmpSimulator:
    port: int
    child: Child
    workdir: Path

    def stop(self) -> None:
        self.child.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _others_can_reach(path: Path) -> bool:
    """Every folder on the way is searchable, and the thing itself readable, by any user."""
    path = path.resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def nobody_can_run_this_python() -> bool:
    """Whether snmpsim, dropped to user nobody, can still load this Python and its packages."""
    spec = importlib.util.find_spec("snmpsim")
    paths = [Path(sys.executable), Path(sys.prefix) / "pyvenv.cfg"]
    if spec is not None and spec.origin:
        paths.append(Path(spec.origin))
    try:
        return all(_others_can_reach(p) for p in paths if p.exists())
    except OSError:
        return False


def _copy_recordings(data: Path) -> None:
    folder = resources.files("agent.demo") / "recordings"
    for name in RECORDINGS:
        (data / f"{name}.snmprec").write_bytes((folder / f"{name}.snmprec").read_bytes())


def _answers(port: int, community: str) -> bool:
    """One SNMP GET of sysUpTime, hand-encoded so this needs neither pysnmp's engine nor net-snmp."""
    from pysnmp.proto import api

    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = proto.GetRequestPDU()
    proto.apiPDU.set_defaults(pdu)
    proto.apiPDU.set_varbinds(pdu, [("1.3.6.1.2.1.1.3.0", proto.Null(""))])
    msg = proto.Message()
    proto.apiMessage.set_defaults(msg)
    proto.apiMessage.set_community(msg, community)
    proto.apiMessage.set_pdu(msg, pdu)
    from pyasn1.codec.ber import encoder

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        try:
            sock.sendto(encoder.encode(msg), ("127.0.0.1", port))
            return len(sock.recv(65535)) > 0
        except OSError:
            return False


def start_snmpsim(*, log_path: Path, registry: list[Child] | None = None) -> SnmpSimulator:
    """Start snmpsim on a free port and wait until it answers; raise DemoSnmpError with its log if not."""
    # Not under the data dir: that may sit in a folder nobody can't enter (a home directory).
    workdir = Path(tempfile.mkdtemp(prefix="facility-demo-snmpsim-"))
    child: Child | None = None
    try:
        child = _launch(workdir, log_path, registry)
        port = child.port
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and child.running:
            if _answers(port, RECORDINGS[0]):
                return SnmpSimulator(port=port, child=child, workdir=workdir)
            time.sleep(0.2)
    except BaseException:  # Ctrl-C while starting: nothing may outlive the demo
        if child is not None:
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    child.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    raise DemoSnmpError(f"snmpsim did not answer on UDP port {child.port}:\n{child.log_tail()}")


def _launch(workdir: Path, log_path: Path, registry: list[Child] | None) -> Child:
    data = workdir / "data"
    cache = workdir / "cache"
    data.mkdir()
    cache.mkdir()
    _copy_recordings(data)
    for path in (workdir, data, cache):
        os.chmod(path, 0o755)
    for file in data.iterdir():
        os.chmod(file, 0o644)
    args = [
        *snmpsim_command(workdir),
        f"--data-dir={data}",
        f"--cache-dir={cache}",
        "--log-level=error",  # info logs every request
    ]
    env = None
    if os.geteuid() == 0:
        if nobody_can_run_this_python():
            shutil.chown(cache, "nobody", "nogroup")
            args += ["--process-user", "nobody", "--process-group", "nogroup"]
        else:
            # e.g. a clone under /root (mode 0700): nobody can't read the venv; stay root, loopback only.
            log.info("snmpsim stays root: user nobody cannot read %s", sys.prefix)
            env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    port = free_udp_port()
    child = start_child(
        "snmpsim",
        [*args, f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
        log_path=log_path,
        registry=registry,
        env=env,
    )
    child.port = port
    return child
