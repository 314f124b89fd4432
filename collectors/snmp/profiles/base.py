"""What a profile is: a fetch plan, and a pure function from fetched values to readings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from collectors.snmp.config import SnmpTarget
from collectors.snmp.fetch import FetchedData, FetchPlan
from collectors.snmp.wire import Oid, Raw, oid_text


class BadValue(ValueError):
    """A value of the wrong type or out of range; the message names the object and what came back."""


@dataclass(frozen=True, slots=True)
class Measurement:
    metric: str
    value: float | str
    unit: str = ""
    subject_kind: str = "equipment"


@dataclass(slots=True)
class ProfileOutput:
    measurements: list[Measurement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def number(self, metric: str, value: float, unit: str = "") -> None:
        self.measurements.append(Measurement(metric, float(value), unit))

    def state(self, metric: str, state: str, unit: str = "") -> None:
        self.measurements.append(Measurement(metric, state, unit))

    def text(self, metric: str, text: str) -> None:
        self.measurements.append(Measurement(metric, text, ""))


class Profile(Protocol):
    name: str

    def plan(self, target: SnmpTarget) -> FetchPlan: ...

    def parse(self, target: SnmpTarget, data: FetchedData) -> ProfileOutput: ...


def as_int(raw: Raw, what: str, oid: Oid) -> int:
    """The integer in raw (any INTEGER-like type, TimeTicks included); BadValue otherwise."""
    if raw.kind == "int" and isinstance(raw.value, int):
        return raw.value
    if raw.missing:
        raise BadValue(f"{raw.type_name} at {oid_text(oid)} ({what})")
    raise BadValue(f"{what} at {oid_text(oid)} is {raw.describe()}, expected an integer")


MAX_TEXT = 255  # DisplayString's limit (RFC 2579); a longer reply is cut, not trusted


def as_text(raw: Raw) -> str:
    """Printable text of an OCTET STRING (UTF-8, else Latin-1), stripped of NULs and spaces, and
    at most MAX_TEXT characters: descriptions go through regexes on the event loop."""
    if raw.kind == "octets" and isinstance(raw.value, bytes):
        octets = raw.value[: MAX_TEXT * 4]
        try:
            text = octets.decode("utf-8")
        except UnicodeDecodeError:
            text = octets.decode("latin-1")
        return text.replace("\x00", "").strip()[:MAX_TEXT]
    if raw.kind == "int" and isinstance(raw.value, int):
        return str(raw.value)
    return ""


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """'Drum Cartridge (R1)' → 'drum_cartridge_r1': safe as one part of a dotted metric name."""
    return _SLUG.sub("_", text.lower()).strip("_")
