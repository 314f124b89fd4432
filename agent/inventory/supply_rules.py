"""The rules that watch supplies, built from each item's own settings (reorder point, lead time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from rules.engine import Engine
from rules.model import ConditionKind, Match, Rule
from rules.severity import Severity
from rules.units import quantity

LOW_PREFIX = "supply-low."
OUT_PREFIX = "supply-out."
DAYS_PREFIX = "supply-days-short."
DROP_PREFIX = "supply-unexpected-drop."
TONER_PREFIX = "toner-no-cartridge."
REPORT_FAILED_RULE = "restock-report-failed"
REPORT_SUBJECT = "restock-report"

COUNT_METRIC = "count"
DAYS_METRIC = "days_of_supply"
DROP_METRIC = "unexpected_drop.count"
REPORT_METRIC = "report.failed_attempts"

BUILTIN_TONER_LOW = "printer-toner-low"  # agent.catalog.builtin_rules
TONER_FIRE_PCT = 10.0  # same thresholds as the built-in printer-toner-low rule
TONER_CLEAR_PCT = 15.0

SUPPLY_PREFIXES = (LOW_PREFIX, OUT_PREFIX, DAYS_PREFIX, DROP_PREFIX)


class SupplySettings(Protocol):
    """What the rules need of an item: a SupplyConfig or a supply_items row both have it."""

    sku: str
    name: str
    location: str
    unit: str
    reorder_point: float
    lead_time_days: float


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _where(item: SupplySettings) -> str:
    return f"{_literal(item.name)} in {_literal(item.location)}" if item.location else _literal(item.name)


def _unit_spec(unit: str) -> str:
    """The item's unit as a {qty:...} format spec (braces can't appear in one)."""
    return unit.replace("{", "").replace("}", "").strip()


def rules_for_item(item: SupplySettings) -> list[Rule]:
    only = Match(ids=frozenset({item.sku}), subject_kind="supply")
    where = _where(item)
    unit = _unit_spec(item.unit)
    reorder_at = _literal(quantity(item.reorder_point, unit))
    rules = [
        Rule(
            id=f"{LOW_PREFIX}{item.sku}",
            metric=COUNT_METRIC,
            kind=ConditionKind.THRESHOLD,
            fire_low=item.reorder_point,
            low_inclusive=True,
            clear_low=item.reorder_point,
            severity=Severity.WARNING,
            match=only,
            message=f"{where}: {{qty:{unit}}} left, at or below the reorder point of {reorder_at}",
            description="Low supply: on hand at or below the reorder point.",
        ),
        Rule(
            id=f"{OUT_PREFIX}{item.sku}",
            metric=COUNT_METRIC,
            kind=ConditionKind.THRESHOLD,
            fire_low=0.0,
            low_inclusive=True,
            clear_low=0.0,
            severity=Severity.CRITICAL,
            match=only,
            supersedes=frozenset({f"{LOW_PREFIX}{item.sku}"}),
            message=f"{where} is out of stock",
            description="Out of stock: nothing on hand.",
        ),
        Rule(
            id=f"{DROP_PREFIX}{item.sku}",
            metric=DROP_METRIC,
            kind=ConditionKind.THRESHOLD,
            fire_high=0.0,
            clear_high=0.0,
            severity=Severity.WARNING,
            match=only,
            message=f"{where}: {{qty:{unit}}} went at once, far more than normal use explains (misplaced or removed?)",
            description="Unexpected drop: a fall in count several days of normal use beyond what time explains.",
        ),
    ]
    if item.lead_time_days > 0:
        rules.append(
            Rule(
                id=f"{DAYS_PREFIX}{item.sku}",
                metric=DAYS_METRIC,
                kind=ConditionKind.THRESHOLD,
                fire_low=item.lead_time_days,
                clear_low=item.lead_time_days,
                severity=Severity.WARNING,
                match=only,
                message=(
                    f"{where} will run out before an order can arrive: {{value}} of supply left, "
                    f"lead time {{low}}"
                ),
                description="Days of supply under the lead time.",
            )
        )
    return rules


def report_failed_rule(team: str = "coordinator") -> Rule:
    return Rule(
        id=REPORT_FAILED_RULE,
        metric=REPORT_METRIC,
        kind=ConditionKind.THRESHOLD,
        fire_high=0.5,
        clear_high=0.5,
        severity=Severity.WARNING,
        team=team,
        match=Match(ids=frozenset({REPORT_SUBJECT})),
        message=(
            "The nightly restock report could not be emailed after {value} attempts: purchasing has not "
            "received it. Check SMTP, then send it with 'facility-agent restock-report --send'."
        ),
        description="The restock email failed for good.",
    )


def toner_rule(
    *, printer_id: str, colour: str, cartridges: Sequence[tuple[str, str, str]], team: str
) -> Rule:
    """One alert for "toner low AND no cartridge for it on hand", naming the cartridge SKU(s).

    cartridges: (sku, name, storeroom) of the items that fit this printer's colour.
    """
    skus = " or ".join(_literal(sku) for sku, _, _ in cartridges)
    names = ", ".join(_literal(name) for _, name, _ in cartridges if name)
    rooms = sorted({room for _, _, room in cartridges if room})
    where = f" in {_literal(', '.join(rooms))}" if rooms else ""
    colour_words = _literal(colour.replace("_", " "))
    return Rule(
        id=f"{TONER_PREFIX}{printer_id}.{colour}",
        metric=f"toner.{colour}.pct_without_spare",
        kind=ConditionKind.THRESHOLD,
        fire_low=TONER_FIRE_PCT,
        low_inclusive=True,
        clear_low=TONER_CLEAR_PCT,
        severity=Severity.WARNING,
        team=team,
        match=Match(ids=frozenset({printer_id})),
        # The built-in "toner low" alert for this colour says less: show one alert, not two.
        supersedes=frozenset({f"{BUILTIN_TONER_LOW}[toner.{colour}.pct]"}),
        message=(
            f"{{name}} in {{location}}: {colour_words} toner is at {{value}} and no cartridge {skus}"
            + (f" ({names})" if names else "")
            + f" is on hand{where}: order one now"
        ),
        description="Toner low on a printer with no cartridge of its model on hand.",
    )


def supply_rules_for(items: Iterable[SupplySettings]) -> list[Rule]:
    rules: list[Rule] = []
    for item in items:
        rules.extend(rules_for_item(item))
    return rules


def _is_supply_rule(rule_id: str) -> bool:
    return rule_id.startswith(SUPPLY_PREFIXES)


def replace_supply_rules(engine: Engine, items: Iterable[SupplySettings]) -> None:
    """Swap the per-item supply rules in the engine for ones built from these settings.

    Must run where the engine is owned (the pipeline's writer thread, or before it starts).
    """
    kept = [rule for rule in engine.rules.values() if not _is_supply_rule(rule.id)]
    engine.replace_rules(kept + supply_rules_for(items))


def put_rule(engine: Engine, rule: Rule) -> None:
    """Add or replace one rule by id (writer thread only)."""
    if engine.rules.get(rule.id) == rule:
        return
    kept = [existing for existing in engine.rules.values() if existing.id != rule.id]
    engine.replace_rules([*kept, rule])
