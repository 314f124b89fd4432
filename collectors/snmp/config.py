"""SNMP settings as written in the config file, and the resolved target the poller uses.

Secrets (community, v3 passwords) may come from an environment variable (``*_env``) or a
file (``*_file``); v3 passwords can't be written inline at all. Misspelt keys are errors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rules.durations import parse_duration

Version = Literal["1", "2c", "3"]
AuthProtocol = Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
# AES-192/256 as net-snmp names them: the Blumenthal key extension; "-C" the Cisco (Reeder) one.
PrivProtocol = Literal["DES", "AES-128", "AES-192", "AES-256", "AES-192-C", "AES-256-C"]
ProfileName = Literal["printer", "ups", "generic"]
SecurityLevel = Literal["noAuthNoPriv", "authNoPriv", "authPriv"]


def _version(value: object) -> object:
    # YAML reads `version: 1` as an int and `2c` as a string; accept both spellings.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip().lower().removeprefix("v")
    return value


def _upper(value: object) -> object:
    """'sha256' → 'SHA-256', 'aes' → 'AES-128', 'aes256c' → 'AES-256-C': net-snmp's spellings and friends."""
    if isinstance(value, str):
        text = value.strip().upper().replace("_", "-")
        if text in ("AES", "SHA1", "SHA-1"):
            return {"AES": "AES-128"}.get(text, "SHA")
        match = re.fullmatch(r"(SHA|AES)-?(\d{3})(-?C)?", text)
        if match:
            return f"{match.group(1)}-{match.group(2)}{'-C' if match.group(3) else ''}"
        return text
    return value


def _duration(value: object) -> timedelta:
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
VersionField = Annotated[Version, BeforeValidator(_version)]
AuthField = Annotated[AuthProtocol, BeforeValidator(_upper)]
PrivField = Annotated[PrivProtocol, BeforeValidator(_upper)]

Scale = Literal["one", "tenths", "hundredths", "thousandths"]
SCALE_FACTORS: dict[str, float] = {"one": 1.0, "tenths": 0.1, "hundredths": 0.01, "thousandths": 0.001}


class GenericObject(BaseModel):
    """One OID (a scalar, ending in .0) or one table column to read with the generic profile.

    metric: the reading's name; for a column it may contain ``{label}`` or ``{index}``,
    and when it has neither and the table has several rows, the row label is put in front.
    label_oid: a column of the same table whose value names each row (e.g. a sensor name).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    oid: str
    metric: str = Field(pattern=r"^[a-z0-9_{}]+(\.[a-z0-9_{}]+)*$")
    type: Literal["number", "state", "string"] = "number"
    scale: Scale | float = "one"
    unit: str = ""
    label_oid: str | None = None
    states: dict[int, str] | None = None

    @property
    def factor(self) -> float:
        return SCALE_FACTORS[self.scale] if isinstance(self.scale, str) else float(self.scale)


class GenericSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scalars: list[GenericObject] = []
    columns: list[GenericObject] = []

    @model_validator(mode="after")
    def _not_empty(self) -> GenericSpec:
        if not self.scalars and not self.columns:
            raise ValueError("the generic profile needs at least one entry under 'scalars' or 'columns'")
        return self


class _SnmpOptions(BaseModel):
    """Keys that both the defaults and a single device may set."""

    model_config = ConfigDict(extra="forbid")

    version: VersionField | None = None
    community: str | None = None
    community_env: str | None = None
    community_file: Path | None = None
    user: str | None = None
    auth_protocol: AuthField | None = None
    auth_password_env: str | None = None
    auth_password_file: Path | None = None
    priv_protocol: PrivField | None = None
    priv_password_env: str | None = None
    priv_password_file: Path | None = None
    timeout: Duration | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    interval: Duration | None = None
    offline_after_misses: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> _SnmpOptions:
        for name, keys in _SECRET_GROUPS.items():
            given = [key for key in keys if getattr(self, key) is not None]
            if len(given) > 1:
                raise ValueError(f"{name}: give only one of {', '.join(given)}")
        return self


_SECRET_GROUPS = {
    "community": ("community", "community_env", "community_file"),
    "auth password": ("auth_password_env", "auth_password_file"),
    "privacy password": ("priv_password_env", "priv_password_file"),
}


class SnmpDefaults(_SnmpOptions):
    """The `snmp:` section: what every device uses unless it says otherwise."""

    version: VersionField | None = "2c"
    timeout: Duration | None = timedelta(seconds=2)
    retries: int | None = Field(default=2, ge=0, le=10)
    interval: Duration | None = timedelta(seconds=60)
    offline_after_misses: int | None = Field(default=3, ge=1)
    max_concurrency: int = Field(default=32, ge=1, le=1000)


class SnmpEquipmentSettings(_SnmpOptions):
    """An equipment item's `snmp:` block."""

    host: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    profile: ProfileName = "printer"
    generic: GenericSpec | None = None
    include_manual_trays: bool = False
    # RFC 3805 says a receptacle's level is the space left; most printers (Xerox among them)
    # report how full it is instead. "fill" follows the printers.
    receptacle_level: Literal["fill", "space_left"] = "fill"

    @model_validator(mode="after")
    def _generic_needs_spec(self) -> SnmpEquipmentSettings:
        if self.profile == "generic" and self.generic is None:
            raise ValueError("profile 'generic' needs a 'generic:' block listing the OIDs to read")
        if self.profile != "generic" and self.generic is not None:
            raise ValueError(f"a 'generic:' block only applies to profile 'generic', not {self.profile!r}")
        return self


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Everything the poller needs for one device, with secrets already read."""

    equipment_id: str
    host: str
    port: int
    profile: ProfileName
    version: Version
    timeout_s: float
    retries: int
    interval_s: float
    offline_after_misses: int
    community: str | None = field(default=None, repr=False)
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = field(default=None, repr=False)
    include_manual_trays: bool = False
    receptacle_level: Literal["fill", "space_left"] = "fill"
    generic: GenericSpec | None = None

    @property
    def security_level(self) -> SecurityLevel:
        if self.version != "3" or not self.auth_protocol:
            return "noAuthNoPriv"
        return "authPriv" if self.priv_protocol else "authNoPriv"


def _merged(settings: SnmpEquipmentSettings, defaults: SnmpDefaults) -> dict[str, Any]:
    """Defaults overlaid by what the device sets; a secret given on the device replaces all its sources."""
    merged = {name: getattr(defaults, name) for name in _SnmpOptions.model_fields}
    given = settings.model_fields_set
    for keys in _SECRET_GROUPS.values():
        if given & set(keys):
            for key in keys:
                merged[key] = getattr(settings, key)
    secret_keys = {key for keys in _SECRET_GROUPS.values() for key in keys}
    for name in _SnmpOptions.model_fields:
        if name in given and name not in secret_keys:
            merged[name] = getattr(settings, name)
    return merged


def _read_secret(equipment_id: str, what: str, env: str | None, file: Path | None, fix: str) -> str | None:
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise ValueError(
                f"equipment {equipment_id!r}: the SNMP {what} comes from environment variable {env}, "
                f"which is not set; export {env}=... before starting the agent, or {fix}"
            )
        return value
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"equipment {equipment_id!r}: can't read the SNMP {what} from file {file}: "
                f"{exc.strerror or exc}; create it (readable by the agent) or {fix}"
            ) from None
    return None


def resolve_target(equipment_id: str, settings: SnmpEquipmentSettings, defaults: SnmpDefaults) -> SnmpTarget:
    """Merge device settings over the defaults and read secrets; ValueError names what to fix."""
    m = _merged(settings, defaults)
    version: Version = m["version"] or "2c"
    community = m["community"]
    user = m["user"]
    auth_protocol = m["auth_protocol"]
    priv_protocol = m["priv_protocol"]
    auth_key = priv_key = None
    if version in ("1", "2c"):
        from_source = _read_secret(
            equipment_id, "community", m["community_env"], m["community_file"], "set 'community' instead"
        )
        community = from_source if from_source is not None else community
        if not community:
            raise ValueError(
                f"equipment {equipment_id!r}: SNMP v{version} needs a community; set 'community', "
                "'community_env' or 'community_file' under snmp (defaults or this equipment)"
            )
    else:
        if not user:
            raise ValueError(
                f"equipment {equipment_id!r}: SNMPv3 needs 'user' (in snmp defaults or on the equipment)"
            )
        auth_key = _read_secret(
            equipment_id,
            "v3 auth password",
            m["auth_password_env"],
            m["auth_password_file"],
            "point auth_password_file at a file holding it",
        )
        priv_key = _read_secret(
            equipment_id,
            "v3 privacy password",
            m["priv_password_env"],
            m["priv_password_file"],
            "point priv_password_file at a file holding it",
        )
        if auth_protocol and not auth_key:
            raise ValueError(
                f"equipment {equipment_id!r}: auth_protocol {auth_protocol} needs a password; "
                "set auth_password_env (an environment variable name) or auth_password_file"
            )
        if auth_key and not auth_protocol:
            raise ValueError(
                f"equipment {equipment_id!r}: an auth password is set but no auth_protocol (e.g. SHA-256)"
            )
        if priv_protocol and not auth_protocol:
            raise ValueError(
                f"equipment {equipment_id!r}: privacy (priv_protocol) needs authentication too; set auth_protocol"
            )
        if priv_protocol and not priv_key:
            raise ValueError(
                f"equipment {equipment_id!r}: priv_protocol {priv_protocol} needs a password; "
                "set priv_password_env (an environment variable name) or priv_password_file"
            )
        if priv_key and not priv_protocol:
            raise ValueError(
                f"equipment {equipment_id!r}: a privacy password is set but no priv_protocol (e.g. AES-128)"
            )
        for what, key in (("auth", auth_key), ("privacy", priv_key)):
            if key is not None and len(key) < 8:
                raise ValueError(
                    f"equipment {equipment_id!r}: the SNMPv3 {what} password must be at least 8 characters"
                )
    timeout: timedelta = m["timeout"]
    interval: timedelta = m["interval"]
    if timeout.total_seconds() <= 0:
        raise ValueError(f"equipment {equipment_id!r}: snmp timeout must be longer than zero")
    if interval.total_seconds() < 1:
        raise ValueError(f"equipment {equipment_id!r}: snmp interval must be at least 1 second")
    return SnmpTarget(
        equipment_id=equipment_id,
        host=settings.host,
        port=settings.port,
        profile=settings.profile,
        version=version,
        timeout_s=timeout.total_seconds(),
        retries=m["retries"],
        interval_s=interval.total_seconds(),
        offline_after_misses=m["offline_after_misses"],
        community=community if version != "3" else None,
        user=user if version == "3" else None,
        auth_protocol=auth_protocol if version == "3" else None,
        auth_key=auth_key,
        priv_protocol=priv_protocol if version == "3" else None,
        priv_key=priv_key,
        include_manual_trays=settings.include_manual_trays,
        receptacle_level=settings.receptacle_level,
        generic=settings.generic,
    )
