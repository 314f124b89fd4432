"""Checks that span keys: duplicates, rule thresholds, references between sections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.config.model import AgentConfig
from agent.config.rules_build import build_cold_chain, build_rule
from rules.cold_chain import validate_spec
from rules.model import validate_rule

Problem = tuple[tuple[Any, ...], str, str]


def check_semantics(config: AgentConfig) -> list[Problem]:
    problems: list[Problem] = []
    problems += _duplicates(config.equipment, "equipment", "id")
    problems += _duplicates(config.supplies, "supplies", "sku")
    problems += _duplicates(config.rules, "rules", "id")
    equipment_ids = {e.id for e in config.equipment}
    skus = {s.sku for s in config.supplies}
    for index, rule_config in enumerate(config.rules):
        try:
            rule = build_rule(rule_config)
        except ValueError as exc:
            problems.append((("rules", index), f"rule '{rule_config.id}' {exc}", ""))
            continue
        if rule_config.cold_chain is not None:
            for problem, fix in validate_spec(build_cold_chain(rule_config)):
                problems.append((("rules", index, "cold_chain"), f"cold-chain rule '{rule_config.id}' {problem}", fix))
        else:
            for problem in validate_rule(rule):
                problems.append((("rules", index), f"rule '{rule_config.id}' {problem}", ""))
        for ref in rule_config.match.equipment:
            if ref not in equipment_ids:
                problems.append(
                    (
                        ("rules", index, "match", "equipment"),
                        f"names equipment '{ref}' that isn't configured",
                        "add it under 'equipment' or fix the id",
                    )
                )
        for ref in rule_config.match.skus:
            if ref not in skus:
                problems.append(
                    (
                        ("rules", index, "match", "skus"),
                        f"names supply '{ref}' that isn't configured",
                        "add it under 'supplies' or fix the sku",
                    )
                )
    problems += list(_collector_settings(config))
    from agent.config.notify_checks import check_notifications

    problems += list(check_notifications(config))
    return problems


def _duplicates(items: list[Any], section: str, key: str) -> list[Problem]:
    seen: dict[str, int] = {}
    out: list[Problem] = []
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            out.append(
                (
                    (section, index, key),
                    f"duplicate {key} '{value}' (first used at {section}[{seen[value]}])",
                    f"give each entry in '{section}' its own {key}",
                )
            )
        else:
            seen[value] = index
    return out


def _collector_settings(config: AgentConfig) -> Iterator[Problem]:
    """Validate collector sections with the collectors' own config models."""
    from agent.config.collectors import validate_collector_sections

    yield from validate_collector_sections(config)
