"""SNMPv3 against net-snmp's snmpd, started here with its own config on a free port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings, resolve_target
from tests.support.snmp import Snmpd, SnmpSim, poll_once, snmpd, target, values

AUTH = "auth-pass-123"
PRIV = "priv-pass-456"
UPTIME = {"oid": "1.3.6.1.2.1.1.3.0", "metric": "uptime_s", "scale": "hundredths", "unit": "s"}
LOCATION = {"oid": "1.3.6.1.2.1.1.6.0", "metric": "location", "type": "string"}


def _answers_v3(port: int) -> bool:
    result = subprocess.run(
        ["snmpget", "-v3", "-l", "authPriv", "-u", "monitor", "-a", "SHA-256", "-A", AUTH, "-x", "AES", "-X", PRIV,
         "-t", "0.3", "-r", "0", "-On", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    return result.returncode == 0


@pytest.fixture(scope="module")
def agent() -> Iterator[Snmpd]:
    config = [
        f"createUser monitor SHA-256 {AUTH} AES {PRIV}",
        "rouser monitor priv",
        f"createUser strong SHA-512 {AUTH} AES-256 {PRIV}",
        "rouser strong priv",
        f"createUser signer SHA {AUTH}",
        "rouser signer auth",
        "sysLocation Ward 3 comms room",
    ]
    with snmpd(config, ready=_answers_v3) as daemon:
        yield daemon


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SNMP_AUTH", AUTH)
    monkeypatch.setenv("SNMP_AUTH_WRONG", "not-the-password")
    priv_file = tmp_path / "priv"
    priv_file.write_text(PRIV + "\n")
    return priv_file


def v3_target(equipment_id: str, port: int, priv_file: Path, **overrides: object):  # type: ignore[no-untyped-def]
    defaults = SnmpDefaults(
        version="3",
        user="monitor",
        auth_protocol="SHA-256",
        auth_password_env="SNMP_AUTH",
        priv_protocol="AES-128",
        priv_password_file=priv_file,
        timeout="1s",
        retries=1,
    )
    settings = SnmpEquipmentSettings.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "profile": "generic",
            "generic": {"scalars": [UPTIME, LOCATION]},
            **overrides,
        }
    )
    return resolve_target(equipment_id, settings, defaults)


def test_auth_priv_sha256_aes128(agent: Snmpd, secrets: Path) -> None:
    (result,) = poll_once(v3_target("comms-ups", agent.port, secrets))
    got = values(result)
    assert result.error is None, result.error
    assert got["location"] == "Ward 3 comms room"
    assert isinstance(got["uptime_s"], float) and got["uptime_s"] >= 0
    assert got["reachable"] == 1.0


def test_sha512_aes256_and_auth_no_priv(agent: Snmpd, secrets: Path) -> None:
    strong = v3_target(
        "strong", agent.port, secrets, user="strong", auth_protocol="SHA-512", priv_protocol="AES-256"
    )
    signer = v3_target(
        "signer",
        agent.port,
        secrets,
        user="signer",
        auth_protocol="SHA",
        priv_protocol=None,
        priv_password_file=None,
    )
    assert signer.security_level == "authNoPriv"
    results = poll_once(strong, signer)
    for result in results:
        assert result.error is None, result.error
        assert values(result)["location"] == "Ward 3 comms room"


def test_wrong_password_is_an_authentication_error_and_others_keep_polling(
    agent: Snmpd, secrets: Path, sim: SnmpSim
) -> None:
    good = v3_target("good", agent.port, secrets)
    wrong = v3_target("wrong", agent.port, secrets, auth_password_env="SNMP_AUTH_WRONG")
    printer = target("brother-mfc-l2710dw", sim.port)
    for _round in range(2):  # a second round: the wrong password must not spoil the good one's keys
        by_id = {r.equipment_id: r for r in poll_once(wrong, good, printer)}
        assert by_id["wrong"].error is not None
        assert "authentication failed (wrong password or user?)" in by_id["wrong"].error
        assert "timed out" not in by_id["wrong"].error
        assert values(by_id["wrong"])["reachable"] == 0.0
        assert by_id["good"].error is None
        assert values(by_id["good"])["location"] == "Ward 3 comms room"
        assert by_id["brother-mfc-l2710dw"].error is None
        assert values(by_id["brother-mfc-l2710dw"])["drum.pct"] == 95.8


def test_unknown_user_is_named(agent: Snmpd, secrets: Path) -> None:
    (result,) = poll_once(v3_target("stranger", agent.port, secrets, user="nobody-here"))
    assert result.error is not None
    assert "does not know SNMPv3 user 'nobody-here'" in result.error


def test_no_such_object_from_net_snmp(agent: Snmpd, secrets: Path) -> None:
    missing = {"oid": "1.3.6.1.4.1.99999.1.0", "metric": "vendor.thing"}
    (result,) = poll_once(
        v3_target("partial", agent.port, secrets, generic={"scalars": [LOCATION, missing]}),
    )
    assert result.error == "noSuchObject at 1.3.6.1.4.1.99999.1.0 (vendor.thing)"
    assert values(result)["location"] == "Ward 3 comms room"  # the good value next to it still arrives
    assert values(result)["reachable"] == 1.0
