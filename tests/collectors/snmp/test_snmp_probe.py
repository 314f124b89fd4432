"""`facility-agent probe`: one poll per device, printed as a table or as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from tests.support.snmp import SnmpSim, free_udp_port

DEVICES = (
    ("brother", "printer", "brother-mfc-l2710dw", "printer"),
    ("xerox", "printer", "xerox-altalink-c8045", "printer"),
    ("xerox-full", "printer", "xerox-altalink-c8045-waste-95", "printer"),
    ("eaton", "ups", "eaton-93e-ups", "ups"),
    ("santak", "ups", "santak-array-3a3-ups", "ups"),
)
GEIST = """\
  - id: geist
    kind: sensor
    snmp:
      host: 127.0.0.1
      port: {port}
      community: geist-temperature-sensor
      profile: generic
      generic:
        columns:
          - oid: 1.3.6.1.4.1.21239.5.1.2.1.5
            metric: temperature_c
            scale: tenths
            unit: °C
"""


def _write_config(tmp_path: Path, port: int) -> Path:
    lines = ["snmp:", "  timeout: 1s", "  retries: 1", "equipment:"]
    for equipment_id, kind, community, profile in DEVICES:
        lines += [
            f"  - id: {equipment_id}",
            f"    kind: {kind}",
            "    snmp:",
            "      host: 127.0.0.1",
            f"      port: {port}",
            f"      community: {community}",
            f"      profile: {profile}",
        ]
    path = tmp_path / "facility.yaml"
    path.write_text("\n".join(lines) + "\n" + GEIST.format(port=port), encoding="utf-8")
    return path


def _json_lines(text: str) -> dict[tuple[str, str], dict[str, object]]:
    records = [json.loads(line) for line in text.splitlines()]
    return {(r["equipment"], r.get("metric", "error")): r for r in records}


def test_probe_json_prints_the_readings_of_every_recording(
    sim: SnmpSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, sim.port)
    assert main(["--config", str(config), "probe", "--json"]) == 0
    got = _json_lines(capsys.readouterr().out)
    assert got[("brother", "toner.black.pct")] == {
        "equipment": "brother",
        "metric": "toner.black.pct",
        "state": "some_remaining",
        "unit": "%",
        "ts": got[("brother", "toner.black.pct")]["ts"],
    }
    assert got[("brother", "drum.pct")]["value"] == 95.8
    assert got[("xerox", "toner.black.pct")]["value"] == 20.0
    assert got[("xerox", "waste_toner.full_pct")]["value"] == 5.0
    assert got[("xerox-full", "waste_toner.full_pct")]["value"] == 95.0
    assert got[("eaton", "ups.battery.status")]["state"] == "normal"
    assert got[("eaton", "ups.battery.charge_pct")]["value"] == 100.0
    assert got[("santak", "ups.battery.minutes_remaining")]["value"] == 0.0
    temperature = got[("geist", "temperature_c")]
    assert temperature["unit"] == "°C" and 10.0 <= float(temperature["value"]) <= 30.0  # type: ignore[arg-type]
    for equipment_id in ("brother", "xerox", "xerox-full", "eaton", "santak", "geist"):
        assert got[(equipment_id, "reachable")]["value"] == 1.0
        assert (equipment_id, "error") not in got


def test_probe_one_configured_device_as_a_table(
    sim: SnmpSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, sim.port)
    assert main(["--config", str(config), "probe", "xerox"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["EQUIPMENT", "METRIC", "VALUE", "UNIT"]
    assert ["xerox", "toner.black.pct", "20", "%"] in [line.split() for line in out]
    assert all(line.startswith(("EQUIPMENT", "xerox ")) for line in out)


def test_probe_host_mode_without_a_config(sim: SnmpSim, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "probe",
            "--host",
            f"127.0.0.1:{sim.port}",
            "--profile",
            "ups",
            "--community",
            "eaton-93e-ups",
            "--json",
        ]
    )
    assert code == 0
    got = _json_lines(capsys.readouterr().out)
    assert got[("127.0.0.1", "ups.battery.charge_pct")]["value"] == 100.0


def test_probe_reports_an_unreachable_host_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_udp_port()  # nothing listens here
    code = main(["probe", "--host", f"127.0.0.1:{port}", "--timeout", "0.2s", "--retries", "0", "--json"])
    assert code == 1
    got = _json_lines(capsys.readouterr().out)
    assert got[("127.0.0.1", "reachable")]["value"] == 0.0
    assert "timed out after 0 retries" in str(got[("127.0.0.1", "error")]["error"])


def test_probe_unknown_equipment_and_missing_secret(
    sim: SnmpSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write_config(tmp_path, sim.port)
    assert main(["--config", str(config), "probe", "no-such-printer"]) == 2
    assert "no equipment with id 'no-such-printer'" in capsys.readouterr().err
    monkeypatch.delenv("PROBE_AUTH", raising=False)
    code = main(
        ["probe", "--host", "127.0.0.1", "--version", "3", "--user", "monitor", "--auth-protocol", "SHA-256",
         "--auth-password-env", "PROBE_AUTH"]
    )  # fmt: skip
    assert code == 2
    assert "environment variable PROBE_AUTH, which is not set" in capsys.readouterr().err
