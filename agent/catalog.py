"""What the engine knows: subjects (equipment and supplies) and rules, built from the config."""

from __future__ import annotations

from datetime import timedelta

from agent.config.model import AgentConfig
from agent.config.rules_build import build_rules_of
from rules.model import INF, ConditionKind, Match, Rule, Subject
from rules.severity import Severity


def build_subjects(config: AgentConfig) -> dict[str, Subject]:
    subjects: dict[str, Subject] = {}
    for item in config.equipment:
        subjects[item.id] = Subject(
            id=item.id,
            name=item.name or item.id,
            kind=item.kind,
            location=item.location,
            team=item.team,
            tags=frozenset(item.tags),
        )
    for supply in config.supplies:
        subjects[supply.sku] = Subject(
            id=supply.sku,
            name=supply.name,
            kind="supply",
            location=supply.location,
            team=supply.team,
            subject_kind="supply",
        )
    return subjects


def builtin_rules() -> list[Rule]:
    """Sensible defaults for printers and UPSes; a site can turn them off (alerting.builtin_rules)."""
    printers = Match(kinds=frozenset({"printer"}))
    ups = Match(kinds=frozenset({"ups"}))
    where = "{name} in {location}"
    return [
        Rule(
            id="printer-toner-low",
            metric="toner.*.pct",
            kind=ConditionKind.THRESHOLD,
            fire_low=10.0,
            low_inclusive=True,
            clear_low=15.0,
            critical_low=2.0,
            match=printers,
            team="facilities",
            message=where + ": {what} is at {value}",
            description="Toner at or below 10 %; clears above 15 %.",
        ),
        Rule(
            id="printer-waste-toner-full",
            metric="waste_toner.full_pct",
            kind=ConditionKind.THRESHOLD,
            fire_high=90.0,
            high_inclusive=True,
            clear_high=80.0,
            match=printers,
            team="facilities",
            message=where + ": waste toner container is {value} full",
        ),
        Rule(
            id="printer-drum-low",
            metric="drum*.pct",
            kind=ConditionKind.THRESHOLD,
            fire_low=5.0,
            low_inclusive=True,
            clear_low=10.0,
            severity=Severity.INFO,
            match=printers,
            team="facilities",
            message=where + ": {what} is at {value}",
        ),
        *(
            Rule(
                id=f"printer-{flag.replace('_', '-')}",
                metric=f"printer.{flag}",
                kind=ConditionKind.THRESHOLD,
                fire_high=0.5,
                clear_high=0.5,
                hold=hold,
                severity=severity,
                match=printers,
                team="facilities",
                message=where + ": " + words,
            )
            for flag, words, hold, severity in (
                ("jammed", "paper jam", timedelta(minutes=2), Severity.WARNING),
                ("no_paper", "out of paper", timedelta(minutes=2), Severity.WARNING),
                ("door_open", "a door is open", timedelta(minutes=5), Severity.INFO),
                ("service_requested", "service requested", timedelta(minutes=5), Severity.WARNING),
            )
        ),
        Rule(
            id="ups-on-battery",
            metric="ups.output.source",
            kind=ConditionKind.EQUALS,
            states=frozenset({"battery"}),
            severity=Severity.CRITICAL,
            hold=timedelta(seconds=30),
            match=ups,
            team="facilities",
            message=where + " is running on battery",
        ),
        Rule(
            id="ups-battery-low",
            metric="ups.battery.status",
            kind=ConditionKind.EQUALS,
            states=frozenset({"low", "depleted"}),
            severity=Severity.CRITICAL,
            match=ups,
            team="facilities",
            message=where + ": battery {value}",
        ),
        Rule(
            id="ups-charge-low",
            metric="ups.battery.charge_pct",
            kind=ConditionKind.THRESHOLD,
            fire_low=50.0,
            clear_low=60.0,
            match=ups,
            team="facilities",
            message=where + ": battery charge is {value}",
        ),
    ]


def offline_rules(config: AgentConfig) -> list[Rule]:
    """An SNMP device that misses N polls in a row is offline; an MQTT sensor silent too long too."""
    rules: list[Rule] = []
    snmp_defaults = config.snmp or {}
    for item in config.equipment:
        if item.snmp is not None:
            misses = int(item.snmp.get("offline_after_misses") or snmp_defaults.get("offline_after_misses") or 3)
            interval = _seconds(item.snmp.get("interval") or snmp_defaults.get("interval") or 60)
            # Opens on the Nth missed poll: N-1 intervals after the first, less half an interval of jitter.
            hold = timedelta(seconds=max(0.0, (misses - 1) * interval - interval / 2))
            rules.append(
                Rule(
                    id=f"equipment-offline.{item.id}",
                    metric="reachable",
                    kind=ConditionKind.THRESHOLD,
                    fire_low=0.5,
                    clear_low=0.5,
                    hold=hold,
                    match=Match(ids=frozenset({item.id})),
                    team=item.team or "facilities",
                    message="{name} in {location} is not answering (offline)",
                )
            )
        if item.silent_after is not None:
            rules.append(
                Rule(
                    id=f"equipment-silent.{item.id}",
                    metric="*",
                    kind=ConditionKind.ABSENT,
                    absent_after=item.silent_after,
                    match=Match(ids=frozenset({item.id})),
                    team=item.team or "facilities",
                    message="{name} in {location} has sent nothing for {absent_for} (offline?)",
                )
            )
    return rules


def _seconds(value: object) -> float:
    from rules.durations import parse_duration

    return parse_duration(value).total_seconds()


def build_rules(config: AgentConfig, extra: list[Rule] | None = None) -> list[Rule]:
    rules = [rule for r in config.rules for rule in build_rules_of(r)]
    configured = {r.id for r in rules}
    if config.alerting.builtin_rules:
        rules += [r for r in builtin_rules() if r.id not in configured]
    rules += offline_rules(config)
    rules += extra or []
    return rules


__all__ = ["INF", "build_rules", "build_subjects", "builtin_rules", "offline_rules"]
