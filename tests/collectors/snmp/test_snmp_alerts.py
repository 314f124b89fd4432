"""Readings from real recordings through the rules engine and the agent's built-in rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from agent.catalog import build_rules, build_subjects
from agent.config import load_config_text
from agent.snmp_jobs import build_snmp_targets
from collectors.snmp.poller import PollResult, SnmpPoller
from rules.alerts import Transition, TransitionKind
from rules.engine import Engine
from rules.reading import make_reading
from tests.support.snmp import FIXTURES, NOW, SnmpSim, free_udp_port, start_snmpsim

STARTED = (TransitionKind.PENDING, TransitionKind.OPENED)


def _config(port: int, *devices: tuple[str, str, str]) -> str:
    lines = ["snmp:", "  community: public", "  interval: 60s", "  offline_after_misses: 3", "equipment:"]
    for equipment_id, kind, community in devices:
        lines += [
            f"  - id: {equipment_id}",
            f"    kind: {kind}",
            "    location: Ward 3",
            "    snmp:",
            "      host: 127.0.0.1",
            f"      port: {port}",
            f"      community: {community}",
            "      timeout: 0.5s",
            "      retries: 0",
            f"      profile: {'ups' if kind == 'ups' else 'printer'}",
        ]
    return "\n".join(lines) + "\n"


def _engine_and_poll(config_text: str) -> tuple[Engine, dict[str, PollResult]]:
    config = load_config_text(config_text)
    targets, problems = build_snmp_targets(config)
    assert problems == []
    engine = Engine(build_rules(config), build_subjects(config))

    async def run() -> list[PollResult]:
        poller = SnmpPoller()
        try:
            return list(await asyncio.gather(*(poller.poll(t, now=NOW) for t in targets)))
        finally:
            poller.close()

    return engine, {r.equipment_id: r for r in asyncio.run(run())}


def _started(transitions: list[Transition], rule_id: str) -> list[Transition]:
    # Pattern rules (toner.*.pct) keep one alert per metric: "printer-toner-low[toner.black.pct]".
    return [t for t in transitions if t.alert.rule_id.split("[")[0] == rule_id and t.kind in STARTED]


def test_brother_some_remaining_toner_raises_no_low_alert(sim: SnmpSim) -> None:
    engine, results = _engine_and_poll(_config(sim.port, ("printer-2west", "printer", "brother-mfc-l2710dw")))
    transitions = engine.evaluate_many(results["printer-2west"].readings)
    assert [r.value for r in results["printer-2west"].readings if r.metric == "toner.black.pct"] == [
        "some_remaining"
    ]
    assert [t for t in transitions if t.kind in STARTED] == []
    # The same rule does fire for a toner that is really low: this test can fail.
    low = make_reading(
        subject="printer-2west", metric="toner.black.pct", value=4.0, ts=NOW + timedelta(minutes=1)
    )
    assert _started(list(engine.evaluate(low)), "printer-toner-low")


def test_xerox_waste_5_percent_no_alert_and_95_percent_alert(sim: SnmpSim) -> None:
    engine, results = _engine_and_poll(
        _config(
            sim.port,
            ("xerox-lab", "printer", "xerox-altalink-c8045"),
            ("xerox-full", "printer", "xerox-altalink-c8045-waste-95"),
        )
    )
    quiet = engine.evaluate_many(results["xerox-lab"].readings)
    full = engine.evaluate_many(results["xerox-full"].readings)
    assert _started(quiet, "printer-waste-toner-full") == []
    opened = _started(full, "printer-waste-toner-full")
    assert [t.kind for t in opened] == [TransitionKind.OPENED]
    assert opened[0].alert.subject == "xerox-full"
    assert opened[0].alert.last_value == 95.0


def test_offline_after_three_missed_polls_and_recovery() -> None:
    port = free_udp_port()
    recording = FIXTURES / "brother-mfc-l2710dw.snmprec"
    config = load_config_text(_config(port, ("printer-er", "printer", "brother-mfc-l2710dw")))
    (target,), _ = build_snmp_targets(config)
    engine = Engine(build_rules(config), build_subjects(config))
    sim = start_snmpsim([recording], port=port)
    log: list[tuple[int, str, float | str, list[TransitionKind]]] = []

    async def poll_at(poller: SnmpPoller, minute: int) -> None:
        now = NOW + timedelta(minutes=minute)
        result = await poller.poll(target, now=now)
        transitions = engine.evaluate_many(result.readings) + engine.tick(now)
        values = {r.metric: r.value for r in result.readings}
        kinds = [t.kind for t in transitions if t.alert.rule_id == "equipment-offline.printer-er"]
        log.append((minute, str(values["poll.status"]), values["reachable"], kinds))

    async def run() -> None:
        nonlocal sim
        poller = SnmpPoller()
        try:
            await poll_at(poller, 0)
            sim.stop()  # the printer stops answering mid-run
            for minute in (1, 2, 3):
                await poll_at(poller, minute)
            sim = start_snmpsim([recording], port=port)
            await poll_at(poller, 4)
        finally:
            poller.close()
            sim.stop()

    asyncio.run(run())
    assert log[0] == (0, "ok", 1.0, [])
    assert log[1] == (1, "missed", 0.0, [TransitionKind.PENDING])
    assert log[2] == (2, "missed", 0.0, [])  # two misses: not yet offline
    assert log[3] == (3, "offline", 0.0, [TransitionKind.OPENED])  # the third miss opens the alert
    assert log[4] == (4, "ok", 1.0, [TransitionKind.RESOLVED])  # answering again resolves it by itself
    assert engine.state_of("equipment-offline.printer-er", "printer-er") is None
