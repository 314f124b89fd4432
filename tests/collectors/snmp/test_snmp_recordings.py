"""The built-in profiles against real device recordings served by snmpsim."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from collectors.snmp.poller import PollResult, SnmpPoller
from tests.support.snmp import (
    FIXTURES,
    GEIST_SPEC,
    NOW,
    SnmpSim,
    free_udp_port,
    poll_once,
    start_snmpsim,
    target,
    values,
)


def test_brother_toner_is_some_remaining_and_drum_is_95_8(sim: SnmpSim) -> None:
    (result,) = poll_once(target("brother-mfc-l2710dw", sim.port))
    got = values(result)
    assert result.error is None
    assert got["toner.black.pct"] == "some_remaining"  # level -3 with max capacity -2: a state, not -300 %
    assert got["drum.pct"] == 95.8  # 11501 / 12000
    assert got["tray.1.pct"] == "some_remaining"
    assert "tray.2.pct" not in got  # "MANUAL TRAY" is left out by default
    assert got["printer.no_toner"] == 0.0 and got["printer.jammed"] == 0.0
    assert got["reachable"] == 1.0
    assert all(r.ts == NOW and r.subject == "brother-mfc-l2710dw" for r in result.readings)
    assert next(r for r in result.readings if r.metric == "drum.pct").unit == "%"


def test_manual_tray_is_read_when_asked_for(sim: SnmpSim) -> None:
    (result,) = poll_once(target("brother-mfc-l2710dw", sim.port, include_manual_trays=True))
    assert values(result)["tray.2.pct"] == "some_remaining"


def test_xerox_black_toner_20_percent_and_waste_5_percent_full(sim: SnmpSim) -> None:
    (result,) = poll_once(target("xerox-altalink-c8045", sim.port))
    got = values(result)
    assert result.error is None
    assert got["toner.black.pct"] == 20.0  # 1060 / 5300
    assert got["toner.black.part"] == "006R01509"
    assert got["toner.cyan.pct"] == 66.0
    assert got["waste_toner.full_pct"] == 5.0  # a receptacle: how full, not how empty
    assert "waste_toner.pct" not in got
    assert {"drum.r1.pct", "drum.r2.pct", "drum.r3.pct", "drum.r4.pct", "fuser.pct"} <= got.keys()
    assert "fuser.part" not in got  # "PN unknown" is not a part number


def test_xerox_variant_waste_at_95_percent(sim: SnmpSim) -> None:
    (result,) = poll_once(target("xerox-altalink-c8045-waste-95", sim.port))
    assert values(result)["waste_toner.full_pct"] == 95.0


def test_receptacle_level_as_space_left_is_inverted(sim: SnmpSim) -> None:
    (result,) = poll_once(target("xerox-altalink-c8045", sim.port, receptacle_level="space_left"))
    assert values(result)["waste_toner.full_pct"] == 95.0


def test_eaton_battery_normal_and_charge_100(sim: SnmpSim) -> None:
    (result,) = poll_once(target("eaton-93e-ups", sim.port, profile="ups"))
    got = values(result)
    assert result.error is None
    assert got["ups.battery.status"] == "normal"
    assert got["ups.battery.charge_pct"] == 100.0
    assert got["ups.battery.minutes_remaining"] == 1092.0
    assert got["ups.battery.temperature_c"] == 25.0
    assert got["ups.output.source"] == "normal"
    assert got["ups.alarms.present"] == 0.0


def test_santak_timeticks_where_the_mib_says_integer(sim: SnmpSim) -> None:
    recording = (FIXTURES / "santak-array-3a3-ups.snmprec").read_text()
    assert "1.3.6.1.2.1.33.1.2.3.0|67|0" in recording  # upsEstimatedMinutesRemaining sent as TimeTicks
    (result,) = poll_once(target("santak-array-3a3-ups", sim.port, profile="ups"))
    got = values(result)
    assert result.error is None
    assert got["ups.battery.minutes_remaining"] == 0.0
    assert got["ups.battery.seconds_on_battery"] == 0.0
    assert got["ups.battery.charge_pct"] == 100.0
    assert got["ups.battery.status"] == "normal"


def test_geist_temperature_in_celsius_from_tenths(sim: SnmpSim) -> None:
    (result,) = poll_once(target("geist-temperature-sensor", sim.port, profile="generic", generic=GEIST_SPEC))
    got = values(result)
    assert result.error is None
    temperature = got["temperature_c"]
    assert isinstance(temperature, float)
    # The recording moves between 100 and 300 tenths: degrees, not tenths, and a tenth's resolution.
    assert 10.0 <= temperature <= 30.0
    assert round(temperature * 10) == temperature * 10
    assert 0.0 <= float(got["humidity_pct"]) <= 100.0  # a percentage, not scaled
    assert {"probe.above_rack_02.temperature_c", "probe.above_rack_03.temperature_c"} <= got.keys()
    assert next(r for r in result.readings if r.metric == "temperature_c").unit == "°C"


def test_second_poll_uses_the_table_map_and_reads_the_same(sim: SnmpSim) -> None:
    xerox = target("xerox-altalink-c8045", sim.port)

    async def run() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        poller = SnmpPoller()
        try:
            first = await poller.poll(xerox, now=NOW)
            second = await poller.poll(xerox, now=NOW + timedelta(minutes=1))
            rewalked = await poller.poll(xerox, now=NOW + timedelta(hours=2))
        finally:
            poller.close()
        strip = {"poll.duration_s"}
        return tuple(  # type: ignore[return-value]
            {r.metric: r.value for r in res.readings if r.metric not in strip}
            for res in (first, second, rewalked)
        )

    first, second, rewalked = asyncio.run(run())
    assert first == second == rewalked
    assert first["toner.black.pct"] == 20.0


def test_v1_walks_with_getnext(sim: SnmpSim) -> None:
    (result,) = poll_once(target("xerox-altalink-c8045", sim.port, version=1))
    assert result.error is None
    assert values(result)["toner.black.pct"] == 20.0
    (ups,) = poll_once(target("eaton-93e-ups", sim.port, profile="ups", version="1"))
    assert values(ups)["ups.battery.charge_pct"] == 100.0


def test_a_removed_supply_sends_the_table_back_to_a_walk(tmp_path: Path) -> None:
    """The table map is only a cache: when the device changes under it, readings follow the device."""
    original = (FIXTURES / "xerox-altalink-c8045.snmprec").read_text()
    fewer = (
        "\n".join(line for line in original.splitlines() if not line.split("|")[0].endswith(".1.12")) + "\n"
    )
    recording = tmp_path / "printer-x.snmprec"
    recording.write_text(original)
    port = free_udp_port()
    device = target("printer-x", port)

    async def poll(poller: SnmpPoller, minute: int) -> PollResult:
        return await poller.poll(device, now=NOW + timedelta(minutes=minute))

    async def run() -> tuple[PollResult, PollResult, PollResult]:
        poller = SnmpPoller()
        sim = start_snmpsim([recording], port=port)
        try:
            before = await poll(poller, 0)
            sim.stop()
            recording.write_text(fewer)  # the second bias transfer roll is gone
            sim = start_snmpsim([recording], port=port)
            changed = await poll(poller, 1)  # cached GET finds a missing row → walks again
            after = await poll(poller, 2)
            return before, changed, after
        finally:
            poller.close()
            sim.stop()

    before, changed, after = asyncio.run(run())
    assert values(before)["second_bias_transfer_roll.pct"] == 86.0
    for result in (changed, after):
        assert result.error is None
        assert "second_bias_transfer_roll.pct" not in values(result)
        assert values(result)["toner.black.pct"] == 20.0
