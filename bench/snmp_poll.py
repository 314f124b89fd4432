"""Bench: poll 1,000 simulated printers with the printer profile; compare with a bare pysnmp loop.

    .venv/bin/python bench/snmp_poll.py [--devices 1000] [--processes 4] [--concurrency 32] [--rounds 3]

Half the printers are the Brother recording, half the Xerox one, served by several snmpsim
processes (snmpsim itself manages about 1,000 requests per second per process). The baseline is
a bare pysnmp `get_cmd` loop with the same concurrency that fetches exactly the OIDs a warm poll
reads from each recording (levels, capacities, status), in one GET per device, without parsing. The poller is
measured cold (first sweep: tables walked) and warm (later sweeps: the table maps are known).
Both run on one event loop, each on its own engine, never at the same time: after a first sweep
of each (the poller's walks the tables), `rounds` rounds alternate them and the fastest sweep of
each is kept. CPU time per sweep, of this process and of the snmpsim processes, is printed too: it is what the
machine's load from other programs doesn't change, and it shows whether 2 cores can do a sweep
in 10 s when nothing else runs. The ratio (poller's
devices per second over the baseline's, warm) is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pysnmp.hlapi.v3arch.asyncio import (  # noqa: E402
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD  # noqa: E402

from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings, SnmpTarget, resolve_target  # noqa: E402
from collectors.snmp.poller import SnmpPoller  # noqa: E402
from collectors.snmp.profiles.printer import PrinterProfile  # noqa: E402
from tests.support.snmp import FIXTURES, SnmpSim, start_snmpsim  # noqa: E402

RECORDINGS = (FIXTURES / "brother-mfc-l2710dw.snmprec", FIXTURES / "xerox-altalink-c8045.snmprec")
TARGETS_SWEEP_S = 10.0
TARGET_RATIO = 0.7


@dataclass
class Device:
    target: SnmpTarget
    oids: list[str]


def profile_oids(recording: Path, sample: SnmpTarget) -> list[str]:
    """The instance OIDs in a recording that a warm poll reads: the measuring columns of the printer
    profile's tables (descriptions and names are kept from the walk). A bare GET asks for these."""
    columns = [
        column
        for table in PrinterProfile().plan(sample).tables
        for column in table.columns
        if column not in table.static
    ]
    wanted = []
    for line in recording.read_text().splitlines():
        oid = tuple(int(part) for part in line.split("|", 1)[0].split("."))
        if any(oid[: len(column)] == column and len(oid) > len(column) for column in columns):
            wanted.append(".".join(map(str, oid)))
    return wanted


def stage(devices: int, processes: int, workdir: Path) -> list[tuple[list[Path], str]]:
    """Copy recordings under per-printer names (the community), split over the processes."""
    groups: list[list[Path]] = [[] for _ in range(processes)]
    staging = workdir / "staging"
    staging.mkdir()
    for number in range(devices):
        name = f"printer-{number:04d}"
        path = staging / f"{name}.snmprec"
        shutil.copy(RECORDINGS[number % 2], path)
        groups[number % processes].append(path)
    return [(group, group[0].stem) for group in groups if group]


class Baseline:
    """The bare loop: pysnmp's hlapi get_cmd on its own engine, one GET of the device's OIDs each."""

    def __init__(self, devices: list[Device], concurrency: int) -> None:
        self.engine = SnmpEngine()
        self.devices = devices
        self.semaphore = asyncio.Semaphore(concurrency)
        self.context = ContextData()
        self.requests: list[tuple[CommunityData, UdpTransportTarget, list[ObjectType]]] = []

    async def setup(self) -> None:
        transports: dict[tuple[str, int], UdpTransportTarget] = {}
        for device in self.devices:
            key = (device.target.host, device.target.port)
            if key not in transports:
                transports[key] = await UdpTransportTarget.create(key, timeout=3, retries=2)
            auth = CommunityData(device.target.community)
            # Register every community before the first message, as the poller's prepare() does:
            # pysnmp rebuilds its community map after each change, on the next message.
            LCD.configure(self.engine, auth, transports[key], b"")
            self.requests.append(
                (auth, transports[key], [ObjectType(ObjectIdentity(oid)) for oid in device.oids])
            )

    async def sweep(self) -> int:
        failures = 0

        async def one(
            auth: CommunityData, transport: UdpTransportTarget, var_binds: list[ObjectType]
        ) -> None:
            nonlocal failures
            async with self.semaphore:
                indication, status, _index, answer = await get_cmd(
                    self.engine, auth, transport, self.context, *var_binds, lookupMib=False
                )
                if indication or status or len(answer) != len(var_binds):
                    failures += 1

        await asyncio.gather(*(one(*request) for request in self.requests))
        return failures

    def close(self) -> None:
        self.engine.close_dispatcher()


async def poller_sweep(poller: SnmpPoller, devices: list[Device]) -> int:
    now = datetime.now(UTC)
    results = await asyncio.gather(*(poller.poll(device.target, now=now) for device in devices))
    return sum(1 for result in results if result.error)


SIMULATOR_PIDS: list[int] = []


def simulators_cpu() -> float:
    """CPU seconds the snmpsim processes have used so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in SIMULATOR_PIDS:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


async def timed(label: str, sweep: Awaitable[int]) -> tuple[float, float, int]:
    started, cpu, sim_cpu = time.perf_counter(), time.process_time(), simulators_cpu()
    failures = await sweep
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    _progress(
        f"{label}: {elapsed:.2f} s, {used:.2f} s of CPU in this process, "
        f"{simulators_cpu() - sim_cpu:.2f} s in snmpsim, {failures} failed"
    )
    return elapsed, used, failures


async def measure(devices: list[Device], concurrency: int, rounds: int) -> dict[str, float]:
    """Cold poller sweep, the baseline's first-contact sweep, then rounds alternating the two."""
    poller = SnmpPoller(max_concurrency=concurrency)
    poller.prepare([device.target for device in devices])
    baseline = Baseline(devices, concurrency)
    await baseline.setup()
    figures = {"failures": 0.0}
    try:
        cold, cold_cpu, failures = await timed(
            "poller sweep 0 (cold: tables walked)", poller_sweep(poller, devices)
        )
        figures.update(cold=cold, cold_cpu=cold_cpu, failures=failures)
        _, _, failures = await timed("bare get_cmd sweep 0 (first contact)", baseline.sweep())
        figures["failures"] += failures
        best: dict[str, tuple[float, float]] = {}
        for number in range(1, rounds + 1):
            for name, sweep in (
                ("bare get_cmd", baseline.sweep()),
                ("poller", poller_sweep(poller, devices)),
            ):
                elapsed, used, failures = await timed(f"{name} sweep {number}", sweep)
                figures["failures"] += failures
                if name not in best or elapsed < best[name][0]:
                    best[name] = (elapsed, used)
        figures.update(
            poller=best["poller"][0], poller_cpu=best["poller"][1],
            baseline=best["bare get_cmd"][0], baseline_cpu=best["bare get_cmd"][1],
        )  # fmt: skip
    finally:
        poller.close()
        baseline.close()
    return figures


def _progress(message: str) -> None:
    print(f"  {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4, help="snmpsim processes")
    parser.add_argument("--concurrency", type=int, default=16, help="devices in flight (both sides)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sims: list[SnmpSim] = []
    workdir = Path(tempfile.mkdtemp(prefix="snmp-bench-"))
    try:
        started = time.perf_counter()
        for files, community in stage(args.devices, args.processes, workdir):
            sims.append(start_snmpsim(files, ready_community=community, timeout=300))
            SIMULATOR_PIDS.append(sims[-1].process.pid)
        print(
            f"setup: {args.devices} printers on {len(sims)} snmpsim processes in {time.perf_counter() - started:.1f} s"
        )
        defaults = SnmpDefaults(timeout="3s", retries=2)
        devices = []
        oids_by_recording: dict[Path, list[str]] = {}
        for number in range(args.devices):
            sim = sims[number % len(sims)]
            name = f"printer-{number:04d}"
            settings = SnmpEquipmentSettings(
                host="127.0.0.1", port=sim.port, community=name, profile="printer"
            )
            target = resolve_target(name, settings, defaults)
            recording = RECORDINGS[number % 2]
            if recording not in oids_by_recording:
                oids_by_recording[recording] = profile_oids(recording, target)
            devices.append(Device(target, oids_by_recording[recording]))
        print("OIDs per device: " + ", ".join(f"{r.stem} {len(o)}" for r, o in oids_by_recording.items()))
        figures = asyncio.run(measure(devices, args.concurrency, args.rounds))
    finally:
        for sim in sims:
            sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    n = args.devices
    print(f"concurrency: {args.concurrency}, rounds: {args.rounds} (fastest warm sweep of each kept)")
    print(f"failed polls: {int(figures['failures'])}")
    print(
        f"poller cold sweep (tables walked): {figures['cold']:.2f} s  ({n / figures['cold']:.0f} devices/s), "
        f"{figures['cold_cpu']:.2f} s CPU"
    )
    print(
        f"poller warm sweep: {figures['poller']:.2f} s  ({n / figures['poller']:.0f} devices/s), "
        f"{figures['poller_cpu']:.2f} s CPU;  target < {TARGETS_SWEEP_S:g} s for 1,000"
    )
    print(
        f"bare get_cmd sweep: {figures['baseline']:.2f} s  ({n / figures['baseline']:.0f} devices/s), "
        f"{figures['baseline_cpu']:.2f} s CPU"
    )
    print(
        f"CPU ratio (bare loop CPU / poller CPU per sweep): {figures['baseline_cpu'] / figures['poller_cpu']:.2f}"
    )
    ratio = figures["baseline"] / figures["poller"]
    print(f"ratio (poller devices/s / bare get_cmd devices/s): {ratio:.2f}  target >= {TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
