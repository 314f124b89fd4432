"""deploy/facility-agent.service: a non-root, hardened service that restarts on failure.

Where systemd's tools exist, `systemd-analyze verify` checks the unit; everywhere, a parse of
the file checks the options that matter.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "facility-agent.service"
INSTALLED_COMMAND = "/opt/facility-agent/venv/bin/facility-agent"


def _unit() -> configparser.ConfigParser:
    # systemd allows a key more than once (SystemCallFilter=); the last one is enough here.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"), source=str(UNIT))
    return parser


def test_runs_as_a_dedicated_user() -> None:
    service = _unit()["Service"]
    assert service.get("User") not in (None, "", "root", "0"), "the agent must not run as root"
    assert service.get("Group") not in (None, "", "root", "0")


@pytest.mark.parametrize(
    ("option", "allowed"),
    [
        ("NoNewPrivileges", {"yes", "true"}),
        ("ProtectSystem", {"strict", "full"}),
        ("ProtectHome", {"yes", "read-only", "tmpfs"}),
        ("PrivateTmp", {"yes", "true"}),
        ("PrivateDevices", {"yes", "true"}),
        ("RestrictSUIDSGID", {"yes", "true"}),
        ("CapabilityBoundingSet", {""}),
    ],
)
def test_is_hardened(option: str, allowed: set[str]) -> None:
    service = _unit()["Service"]
    assert option in service, f"{UNIT.name} should set {option}="
    assert service[option].strip() in allowed, f"{option}={service[option]} (want one of {sorted(allowed)})"


def test_restarts_on_failure_and_stops_gracefully() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service.get("KillSignal", "SIGTERM") == "SIGTERM"
    assert service["ExecStart"].endswith("facility-agent run")
    assert service["ExecStartPre"].endswith("facility-agent db upgrade")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_state_lives_where_the_example_config_puts_it() -> None:
    service = _unit()["Service"]
    example = (REPO / "deploy" / "facility.example.yaml").read_text(encoding="utf-8")
    assert f"data_dir: /var/lib/{service['StateDirectory']}" in example
    assert service["Environment"] == "FACILITY_CONFIG=/etc/facility-agent/facility.yaml"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    # verify insists that ExecStart= exists; point it at the command this checkout installed.
    command = Path(sys.executable).with_name("facility-agent")
    assert command.exists(), f"{command} is missing; pip install -e ."
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_COMMAND in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace(INSTALLED_COMMAND, str(command)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not complaints, (
        "systemd-analyze verify:\n" + result.stdout + result.stderr
    )
