"""SNMP settings: what the config may say, how secrets are found, and the errors people see."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings, resolve_target
from collectors.snmp.wire import parse_oid

SAMPLE = Path(__file__).resolve().parents[3] / "collectors" / "snmp" / "sample-config.yaml"


def test_sample_config_validates_and_resolves(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    document = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    defaults = SnmpDefaults.model_validate(document["snmp"])
    monkeypatch.setenv("SNMP_COMMUNITY", "hospital-ro")
    monkeypatch.setenv("UPS_SNMP_AUTH", "auth-secret-1")
    priv = tmp_path / "ups-snmp-priv"
    priv.write_text("priv-secret-2\n")
    targets = {}
    for item in document["equipment"]:
        settings = SnmpEquipmentSettings.model_validate(item["snmp"])
        if settings.priv_password_file is not None:
            settings = settings.model_copy(update={"priv_password_file": priv})
        targets[item["id"]] = resolve_target(item["id"], settings, defaults)
    assert targets["printer-2west"].community == "hospital-ro"
    assert targets["printer-radiology"].interval_s == 300
    ups = targets["ups-server-room"]
    assert (ups.security_level, ups.auth_key, ups.priv_key) == ("authPriv", "auth-secret-1", "priv-secret-2")
    assert (ups.timeout_s, ups.interval_s, ups.retries) == (1.0, 30.0, 2)
    assert targets["ups-ward3"].version == "1" and targets["ups-ward3"].community == "public"
    assert targets["climate-dc01-rack1"].generic is not None


def test_sample_config_passes_the_agents_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.config import load_config

    config = load_config(SAMPLE)
    assert len(config.equipment) == 5


def test_misspelt_keys_are_errors() -> None:
    with pytest.raises(ValidationError, match="comunity"):
        SnmpDefaults.model_validate({"comunity": "public"})
    with pytest.raises(ValidationError, match="hots"):
        SnmpEquipmentSettings.model_validate({"hots": "10.0.0.1"})


def test_v3_passwords_cannot_be_written_inline() -> None:
    with pytest.raises(ValidationError, match="auth_password"):
        SnmpEquipmentSettings.model_validate({"host": "h", "auth_password": "secret123"})


def test_spellings_people_use() -> None:
    defaults = SnmpDefaults.model_validate(
        {
            "version": 1,
            "timeout": "500ms",
            "interval": "5m",
            "auth_protocol": "sha256",
            "priv_protocol": "aes",
        }
    )
    assert defaults.version == "1"
    assert defaults.timeout is not None and defaults.timeout.total_seconds() == 0.5
    assert defaults.interval is not None and defaults.interval.total_seconds() == 300
    assert defaults.priv_protocol == "AES-128"
    assert SnmpDefaults.model_validate({"version": "v2c"}).version == "2c"
    with pytest.raises(ValidationError, match="auth_protocol"):
        SnmpDefaults.model_validate({"auth_protocol": "SHA-999"})
    with pytest.raises(ValidationError, match="not a duration"):
        SnmpDefaults.model_validate({"timeout": "soon"})


def test_missing_env_var_names_it_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    settings = SnmpEquipmentSettings(
        host="h", version="3", user="u", auth_protocol="SHA-256", auth_password_env="NOT_SET_ANYWHERE"
    )
    with pytest.raises(ValueError) as caught:
        resolve_target("ups-1", settings, SnmpDefaults())
    message = str(caught.value)
    assert "'ups-1'" in message and "NOT_SET_ANYWHERE" in message and "export NOT_SET_ANYWHERE=" in message


def test_missing_secret_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    settings = SnmpEquipmentSettings(host="h", community_file=missing)
    with pytest.raises(ValueError, match=f"can't read the SNMP community from file {missing}"):
        resolve_target("printer-1", settings, SnmpDefaults())


def test_device_settings_override_defaults_by_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARD_COMMUNITY", "ward-ro")
    defaults = SnmpDefaults(community="public", timeout="3s", retries=4)
    plain = resolve_target("a", SnmpEquipmentSettings(host="h"), defaults)
    assert (plain.community, plain.timeout_s, plain.retries, plain.offline_after_misses) == (
        "public",
        3.0,
        4,
        3,
    )
    # A device that names its own community source replaces the default community entirely.
    own = resolve_target(
        "b", SnmpEquipmentSettings(host="h", community_env="WARD_COMMUNITY", retries=0), defaults
    )
    assert (own.community, own.retries, own.timeout_s) == ("ward-ro", 0, 3.0)
    assert "ward-ro" not in repr(own)  # secrets stay out of logs


def test_inconsistent_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="give only one of community, community_env"):
        SnmpDefaults(community="a", community_env="B")
    with pytest.raises(ValidationError, match="needs a 'generic:' block"):
        SnmpEquipmentSettings(host="h", profile="generic")
    with pytest.raises(ValidationError, match="only applies to profile 'generic'"):
        SnmpEquipmentSettings.model_validate(
            {"host": "h", "generic": {"scalars": [{"oid": "1.3.6.1.2.1.1.3.0", "metric": "up"}]}}
        )
    with pytest.raises(ValidationError, match="at least one entry"):
        SnmpEquipmentSettings.model_validate({"host": "h", "profile": "generic", "generic": {}})
    v3 = SnmpDefaults(version="3", user="u")
    with pytest.raises(ValueError, match="needs authentication too"):
        resolve_target("x", SnmpEquipmentSettings(host="h", priv_protocol="AES-128"), v3)
    with pytest.raises(ValueError, match="SNMPv3 needs 'user'"):
        resolve_target("x", SnmpEquipmentSettings(host="h"), SnmpDefaults(version="3"))


def test_short_v3_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORT", "1234")
    settings = SnmpEquipmentSettings(
        host="h", version="3", user="u", auth_protocol="SHA", auth_password_env="SHORT"
    )
    with pytest.raises(ValueError, match="at least 8 characters"):
        resolve_target("x", settings, SnmpDefaults())


def test_oids_are_checked() -> None:
    assert parse_oid(".1.3.6.1.2.1.1.3.0") == (1, 3, 6, 1, 2, 1, 1, 3, 0)
    with pytest.raises(ValueError, match="not a numeric OID"):
        parse_oid("SNMPv2-MIB::sysUpTime.0")
