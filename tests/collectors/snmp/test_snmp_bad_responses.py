"""Garbage, wrong types and missing objects: a clear error for that device, and polling goes on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.snmp import SnmpSim, poll_once, target, values


@pytest.fixture
def garbage_peer() -> Iterator[int]:
    """A UDP peer that answers every datagram with bytes that are not SNMP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()
    answers = [b"\x30\x82\xff\xff\x02\x01", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x00" * 64]

    def serve() -> None:
        count = 0
        while not stop.is_set():
            try:
                _data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(answers[count % len(answers)], peer)
            count += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def test_garbage_answers_are_a_clear_error_and_others_keep_polling(sim: SnmpSim, garbage_peer: int) -> None:
    junk = target("public", garbage_peer, equipment_id="junk-printer", timeout="0.3s", retries=1)
    good = target("xerox-altalink-c8045", sim.port)
    for _round in range(2):
        by_id = {r.equipment_id: r for r in poll_once(junk, good)}
        assert by_id["junk-printer"].error is not None
        assert "no valid SNMP answer" in by_id["junk-printer"].error
        assert values(by_id["junk-printer"])["reachable"] == 0.0
        assert by_id["xerox-altalink-c8045"].error is None
        assert values(by_id["xerox-altalink-c8045"])["toner.black.pct"] == 20.0


def test_printer_with_wrong_types_keeps_its_good_supplies(sim: SnmpSim) -> None:
    (result,) = poll_once(target("bad-printer", sim.port))
    got = values(result)
    error = result.error or ""
    assert (
        "prtMarkerSuppliesLevel at 1.3.6.1.2.1.43.11.1.1.9.1.2 is OctetString 'garbage', expected an integer"
        in error
    )
    assert "prtMarkerSuppliesMaxCapacity at 1.3.6.1.2.1.43.11.1.1.8.1.3 is IpAddress" in error
    assert "level -7 is negative and not a special value" in error
    assert "hrPrinterStatus 9 is not one of 1-5" in error
    assert "hrPrinterDetectedErrorState is Integer 4, expected an OCTET STRING" in error
    assert "input tray 1 (Tray 1): prtInputCurrentLevel" in error
    # Good data next to the bad is kept.
    assert got["toner.black.pct"] == 50.0
    assert got["toner.black.part"] == "TN-760"
    assert got["tray.2.pct"] == 50.0
    assert got["reachable"] == 1.0
    for metric in ("toner.cyan.pct", "toner.magenta.pct", "toner.yellow.pct", "printer.status", "tray.1.pct"):
        assert metric not in got


def test_ups_with_wrong_types_and_unknown_enums(sim: SnmpSim) -> None:
    (result,) = poll_once(target("bad-ups", sim.port, profile="ups"))
    got = values(result)
    error = result.error or ""
    assert "upsBatteryStatus at 1.3.6.1.2.1.33.1.2.1.0 is 7, not one of [1, 2, 3, 4]" in error
    assert "upsEstimatedChargeRemaining at 1.3.6.1.2.1.33.1.2.4.0 is OctetString 'full'" in error
    assert "upsSecondsOnBattery at 1.3.6.1.2.1.33.1.2.2.0 is ObjectIdentifier" in error
    assert got["ups.battery.minutes_remaining"] == "not_reported"  # -1: no number at all
    assert got["ups.output.source"] == "battery"
    assert got["ups.alarms.present"] == 2.0  # Gauge32
    assert "ups.battery.status" not in got and "ups.battery.charge_pct" not in got


def test_generic_errors_land_on_the_right_oid(sim: SnmpSim) -> None:
    spec = {"scalars": [{"oid": f"1.3.6.1.4.1.99999.1.{n}.0", "metric": f"thing.m{n}"} for n in range(1, 7)]}
    (result,) = poll_once(target("bad-generic", sim.port, profile="generic", generic=spec))
    assert result.error is not None
    problems = result.error.split("; ")
    assert problems == [
        "genErr at 1.3.6.1.4.1.99999.1.1.0 (thing.m1)",
        "genErr at 1.3.6.1.4.1.99999.1.2.0 (thing.m2)",
        "value at 1.3.6.1.4.1.99999.1.3.0 is OctetString 'not-a-number', expected a number",
        "genErr at 1.3.6.1.4.1.99999.1.5.0 (thing.m5)",
        "noSuchInstance at 1.3.6.1.4.1.99999.1.6.0 (thing.m6)",
    ]
    assert values(result)["thing.m4"] == 42.0


def test_a_ups_profile_on_a_printer_says_so(sim: SnmpSim) -> None:
    (result,) = poll_once(target("brother-mfc-l2710dw", sim.port, profile="ups"))
    assert result.error is not None
    assert result.error.startswith("no UPS-MIB data (noSuchInstance at 1.3.6.1.2.1.33.1.2.1.0")
    (printer_as_ups,) = poll_once(target("eaton-93e-ups", sim.port, profile="printer"))
    assert printer_as_ups.error is not None and printer_as_ups.error.startswith("no Printer-MIB data")


def test_wrong_community_times_out_with_a_hint(sim: SnmpSim) -> None:
    (result,) = poll_once(target("no-such-community", sim.port, timeout="0.3s", retries=2))
    assert result.error is not None
    assert result.error.startswith("timed out after 2 retries (0.3 s each)")
    assert "community" in result.error
