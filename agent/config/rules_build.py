"""Turn rule config into rules.model.Rule values."""

from __future__ import annotations

from datetime import timedelta

from agent.config.model import RuleConfig
from rules.cold_chain import ColdChainSpec, engine_rules
from rules.model import INF, ConditionKind, Match, Rule
from rules.severity import Severity


def _match(config: RuleConfig) -> Match:
    return Match(
        kinds=frozenset(config.match.kinds),
        tags=frozenset(config.match.tags),
        ids=frozenset(config.match.equipment or config.match.skus),
        subject_kind="supply" if config.match.skus or "supply" in config.match.kinds else "equipment",
    )


def build_rule(config: RuleConfig) -> Rule:
    """Raises ValueError (in words a person can act on) when the keys don't make one rule."""
    threshold_keys = [
        k
        for k in ("above", "at_or_above", "below", "at_or_below", "outside")
        if getattr(config, k) is not None
    ]
    kinds = []
    if threshold_keys:
        kinds.append(ConditionKind.THRESHOLD)
    if config.equals is not None:
        kinds.append(ConditionKind.EQUALS)
    if config.rate_above is not None or config.rate_below is not None:
        kinds.append(ConditionKind.RATE)
    if config.absent_for is not None:
        kinds.append(ConditionKind.ABSENT)
    if config.cold_chain is not None:
        if kinds:
            raise ValueError(
                "has both 'cold_chain' and " + ", ".join(k.value for k in kinds) + ": a cold-chain rule sets its "
                "limits with hot_above/cold_below inside 'cold_chain'; remove the other condition"
            )
        kinds.append(ConditionKind.THRESHOLD)  # the consecutive condition; see build_cold_chain
    if len(kinds) != 1:
        raise ValueError(
            "needs exactly one condition: above/below/outside, equals, rate_above/rate_below, or absent_for"
            + (f" (found {', '.join(k.value for k in kinds)})" if kinds else "")
        )
    kind = kinds[0]
    match = _match(config)
    fields: dict[str, object] = {"require_comment": frozenset(config.require_comment)}
    if config.cold_chain is not None:
        spec = build_cold_chain(config)
        fields.update(fire_low=spec.cold_below, fire_high=spec.hot_above, clear_low=spec.cold_below,
                      clear_high=spec.hot_above)
    elif kind is ConditionKind.THRESHOLD:
        fire_low, fire_high = -INF, INF
        if config.outside is not None:
            fire_low, fire_high = config.outside
        if config.above is not None:
            fire_high = config.above
        if config.at_or_above is not None:
            fire_high = config.at_or_above
            fields["high_inclusive"] = True
        if config.below is not None:
            fire_low = config.below
        if config.at_or_below is not None:
            fire_low = config.at_or_below
            fields["low_inclusive"] = True
        clear_low, clear_high = fire_low, fire_high
        if config.clear_inside is not None:
            clear_low, clear_high = config.clear_inside
        if config.clear_below is not None:
            clear_high = config.clear_below
        if config.clear_above is not None:
            clear_low = config.clear_above
        fields.update(fire_low=fire_low, fire_high=fire_high, clear_low=clear_low, clear_high=clear_high)
        if config.critical_outside is not None:
            fields["critical_low"], fields["critical_high"] = config.critical_outside
        if config.critical_above is not None:
            fields["critical_high"] = config.critical_above
        if config.critical_below is not None:
            fields["critical_low"] = config.critical_below
    elif kind is ConditionKind.EQUALS:
        states = [config.equals] if isinstance(config.equals, str) else list(config.equals or [])
        fields["states"] = frozenset(states)
    elif kind is ConditionKind.RATE:
        fields["rate_per_minute_above"] = config.rate_above if config.rate_above is not None else INF
        fields["rate_per_minute_below"] = config.rate_below if config.rate_below is not None else -INF
        fields["window"] = config.window
    else:
        fields["absent_after"] = config.absent_for
    return Rule(
        id=config.id,
        metric=config.metric,
        kind=kind,
        severity=Severity.parse(config.severity),
        hold=config.hold,
        team=config.team,
        message=config.message,
        match=match,
        description=config.description,
        **fields,  # type: ignore[arg-type]
    )


def build_cold_chain(config: RuleConfig) -> ColdChainSpec:
    """The cold-chain part of a rule (config.cold_chain must be set)."""
    cc = config.cold_chain
    assert cc is not None
    return ColdChainSpec(
        rule_id=config.id,
        metric=config.metric,
        match=_match(config),
        hot_above=cc.hot_above if cc.hot_above is not None else INF,
        cold_below=cc.cold_below if cc.cold_below is not None else -INF,
        consecutive=cc.consecutive,
        cumulative_limit=cc.cumulative.limit if cc.cumulative else None,
        cumulative_window=cc.cumulative.window if cc.cumulative else timedelta(hours=24),
    )


def build_rules_of(config: RuleConfig) -> list[Rule]:
    """The engine rules one configured rule stands for: one, or for a cold-chain rule up to two."""
    rule = build_rule(config)
    if config.cold_chain is None:
        return [rule]
    return engine_rules(build_cold_chain(config), rule)
