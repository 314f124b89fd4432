"""UPSes: UPS-MIB (RFC 1628) battery and output. −1 means "not reported" and gives no number."""

from __future__ import annotations

from collectors.snmp.config import SnmpTarget
from collectors.snmp.fetch import FetchedData, FetchPlan
from collectors.snmp.profiles.base import BadValue, ProfileOutput, as_int
from collectors.snmp.wire import Oid, oid_text

UPS = (1, 3, 6, 1, 2, 1, 33, 1)
BATTERY_STATUS = UPS + (2, 1, 0)
SECONDS_ON_BATTERY = UPS + (2, 2, 0)
MINUTES_REMAINING = UPS + (2, 3, 0)
CHARGE_REMAINING = UPS + (2, 4, 0)
BATTERY_TEMPERATURE = UPS + (2, 7, 0)
OUTPUT_SOURCE = UPS + (4, 1, 0)
ALARMS_PRESENT = UPS + (6, 1, 0)

BATTERY_STATES = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
OUTPUT_SOURCES = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer"}
# (oid, MIB name, metric, unit); TimeTicks are accepted wherever the MIB says INTEGER, by value.
NUMBERS: tuple[tuple[Oid, str, str, str], ...] = (
    (CHARGE_REMAINING, "upsEstimatedChargeRemaining", "ups.battery.charge_pct", "%"),
    (MINUTES_REMAINING, "upsEstimatedMinutesRemaining", "ups.battery.minutes_remaining", "min"),
    (SECONDS_ON_BATTERY, "upsSecondsOnBattery", "ups.battery.seconds_on_battery", "s"),
    (BATTERY_TEMPERATURE, "upsBatteryTemperature", "ups.battery.temperature_c", "°C"),
    (ALARMS_PRESENT, "upsAlarmsPresent", "ups.alarms.present", ""),
)
STATES: tuple[tuple[Oid, str, str, dict[int, str]], ...] = (
    (BATTERY_STATUS, "upsBatteryStatus", "ups.battery.status", BATTERY_STATES),
    (OUTPUT_SOURCE, "upsOutputSource", "ups.output.source", OUTPUT_SOURCES),
)
NOT_REPORTED = -1


class UpsProfile:
    name = "ups"

    def plan(self, target: SnmpTarget) -> FetchPlan:
        return FetchPlan(scalars=tuple(oid for oid, *_ in STATES) + tuple(oid for oid, *_ in NUMBERS))

    def parse(self, target: SnmpTarget, data: FetchedData) -> ProfileOutput:
        out = ProfileOutput()
        if all(raw.missing for raw in data.scalars.values()):
            out.problems.append(
                f"no UPS-MIB data ({data.scalars[BATTERY_STATUS].type_name} at {oid_text(BATTERY_STATUS)}, "
                "upsBatteryStatus): does this UPS (or its network card) support RFC 1628?"
            )
            return out
        for oid, name, metric, states in STATES:
            raw = data.scalars[oid]
            if raw.missing:
                continue
            try:
                code = as_int(raw, name, oid)
            except BadValue as exc:
                out.problems.append(str(exc))
                continue
            if code == NOT_REPORTED:
                out.state(metric, "not_reported")
            elif code in states:
                out.state(metric, states[code])
            else:
                out.problems.append(f"{name} at {oid_text(oid)} is {code}, not one of {sorted(states)}")
        for oid, name, metric, unit in NUMBERS:
            raw = data.scalars[oid]
            if raw.missing:  # optional objects: many UPSes leave some out
                continue
            try:
                value = as_int(raw, name, oid)
            except BadValue as exc:
                out.problems.append(str(exc))
                continue
            if value == NOT_REPORTED:
                out.state(metric, "not_reported", unit)
            else:
                out.number(metric, value, unit)
        return out
