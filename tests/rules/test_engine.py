from __future__ import annotations

from datetime import timedelta

import pytest

from rules.alerts import ActionRefused, AlertStatus, ResolveReason, TransitionKind
from rules.engine import Engine, EngineSettings
from rules.model import ConditionKind, Match, Rule, Subject, validate_rule
from rules.reading import Reading
from rules.severity import Severity
from tests.rules.helpers import FRIDGE, T0, fridge_rule, reading


def kinds(transitions):
    return [t.kind for t in transitions]


def make_engine(*rules: Rule, **settings: object) -> Engine:
    return Engine(list(rules) or [fridge_rule()], {FRIDGE.id: FRIDGE}, settings=EngineSettings(**settings))  # type: ignore[arg-type]


def test_in_range_readings_cause_nothing() -> None:
    engine = make_engine()
    assert engine.evaluate_many(reading(m, 5.0) for m in range(30)) == []


def test_hold_time_opens_exactly_at_the_mark_and_message_is_plain() -> None:
    engine = make_engine()
    assert kinds(engine.evaluate(reading(0, 9.1))) == [TransitionKind.PENDING]
    assert engine.evaluate(reading(4, 9.1)) == ()
    opened = engine.tick(T0 + timedelta(minutes=5))
    assert kinds(opened) == [TransitionKind.OPENED]
    assert opened[0].at == T0 + timedelta(minutes=5)
    assert opened[0].alert.message == "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C)"
    assert opened[0].notify


def test_excursion_shorter_than_hold_is_cancelled() -> None:
    engine = make_engine()
    engine.evaluate(reading(0, 9.0))
    assert kinds(engine.evaluate(reading(4, 5.0))) == [TransitionKind.CANCELLED]
    assert engine.tick(T0 + timedelta(minutes=10)) == []
    assert engine.active() == []


def test_hysteresis_band_keeps_state() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)))
    assert TransitionKind.OPENED in kinds(engine.evaluate(reading(0, 9.0)))
    # 7.8 is inside the safe range but above the clearing threshold 7.5: still open
    engine.evaluate(reading(1, 7.8))
    assert engine.state_of("fridge-temp", "fridge-2").status is AlertStatus.OPEN  # type: ignore[union-attr]
    assert kinds(engine.evaluate(reading(2, 7.4))) == [TransitionKind.RESOLVED]


def test_string_states_never_trip_numeric_rules() -> None:
    rule = Rule(id="toner-low", metric="toner.*.pct", kind=ConditionKind.THRESHOLD, fire_low=10.0, clear_low=15.0)
    engine = Engine([rule], {})
    for state in ("some_remaining", "unknown", "other", "not_computable"):
        assert engine.evaluate(reading(0, state, subject="printer-1", metric="toner.black.pct")) == ()


def test_ack_survives_brief_recovery_and_resolves_after_window() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)), ack_recovery=timedelta(minutes=10))
    engine.evaluate(reading(0, 9.0))
    engine.acknowledge("fridge-temp", "fridge-2", at=T0 + timedelta(minutes=1), actor="ann")
    assert kinds(engine.evaluate(reading(2, 5.0))) == [TransitionKind.RECOVERING]
    assert kinds(engine.evaluate(reading(3, 9.0))) == [TransitionKind.RELAPSED]
    snap = engine.state_of("fridge-temp", "fridge-2")
    assert snap is not None and snap.status is AlertStatus.ACKNOWLEDGED and snap.occurrences == 2
    engine.evaluate(reading(4, 5.0))
    assert engine.tick(T0 + timedelta(minutes=13)) == []
    resolved = engine.tick(T0 + timedelta(minutes=14))
    assert kinds(resolved) == [TransitionKind.RESOLVED]


def test_severity_rise_notifies_even_when_acknowledged() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)))
    engine.evaluate(reading(0, 9.0))
    engine.acknowledge("fridge-temp", "fridge-2", at=T0, actor="ann")
    raised = engine.evaluate(reading(1, 12.5))
    assert kinds(raised) == [TransitionKind.SEVERITY_RAISED]
    assert raised[0].notify and raised[0].alert.severity is Severity.CRITICAL


def test_people_actions_refused_in_wrong_state() -> None:
    engine = make_engine()
    engine.evaluate(reading(0, 9.0))
    with pytest.raises(ActionRefused):
        engine.acknowledge("fridge-temp", "fridge-2", at=T0, actor="ann")  # still pending
    engine.tick(T0 + timedelta(minutes=5))
    engine.acknowledge("fridge-temp", "fridge-2", at=T0, actor="ann")
    with pytest.raises(ActionRefused):
        engine.acknowledge("fridge-temp", "fridge-2", at=T0, actor="bob")
    t = engine.resolve("fridge-temp", "fridge-2", at=T0, actor="ann", reason=ResolveReason.FIXED)
    assert t.alert.status is AlertStatus.RESOLVED and t.actor == "ann"
    with pytest.raises(ActionRefused):
        engine.resolve("fridge-temp", "fridge-2", at=T0, actor="bob", reason=ResolveReason.FIXED)


def test_escalation_raises_one_step_per_period_when_not_acknowledged() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)), escalation={"pharmacy": timedelta(minutes=15)})
    engine.evaluate(reading(0, 9.0))
    assert engine.tick(T0 + timedelta(minutes=14)) == []
    escalated = engine.tick(T0 + timedelta(minutes=15))
    assert kinds(escalated) == [TransitionKind.ESCALATED]
    assert escalated[0].alert.severity is Severity.CRITICAL and escalated[0].notify
    assert engine.tick(T0 + timedelta(minutes=16)) == []


def test_acknowledged_alert_does_not_escalate() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)), escalation={"pharmacy": timedelta(minutes=15)})
    engine.evaluate(reading(0, 9.0))
    engine.acknowledge("fridge-temp", "fridge-2", at=T0 + timedelta(minutes=1), actor="ann")
    assert engine.tick(T0 + timedelta(hours=2)) == []


def test_flapping_holds_notifications_then_settles_once() -> None:
    engine = make_engine(fridge_rule(hold=timedelta(0)), flap_threshold=2, flap_window=timedelta(hours=1), flap_settle=timedelta(minutes=30))
    notified = []
    for i in range(5):
        for t in [*engine.evaluate(reading(i * 4, 9.0)), *engine.evaluate(reading(i * 4 + 2, 5.0))]:
            notified.append((t.kind, t.notify))
    assert (TransitionKind.FLAPPING, False) in notified
    after_flap = notified[notified.index((TransitionKind.FLAPPING, False)) :]
    assert not any(n for _, n in after_flap)
    settled = engine.tick(T0 + timedelta(minutes=18 + 31))
    assert kinds(settled) == [TransitionKind.SETTLED] and settled[0].notify
    assert engine.tick(T0 + timedelta(hours=3)) == []


def test_equals_rule_fires_on_state_and_clears_on_other_state() -> None:
    rule = Rule(id="ups-on-battery", metric="ups.output.source", kind=ConditionKind.EQUALS, states=frozenset({"battery"}))
    engine = Engine([rule], {})
    assert TransitionKind.OPENED in kinds(engine.evaluate(reading(0, "battery", "ups-1", "ups.output.source")))
    assert kinds(engine.evaluate(reading(1, "normal", "ups-1", "ups.output.source"))) == [TransitionKind.RESOLVED]


def test_absent_rule_opens_on_silence_and_clears_on_data() -> None:
    rule = Rule(
        id="silent", metric="*", kind=ConditionKind.ABSENT, absent_after=timedelta(minutes=10), match=Match(ids=frozenset({"fridge-2"}))
    )
    engine = Engine([rule], {FRIDGE.id: FRIDGE}, started_at=T0)
    engine.evaluate(reading(0, 5.0))
    assert engine.tick(T0 + timedelta(minutes=9)) == []
    opened = engine.tick(T0 + timedelta(minutes=11))
    assert kinds(opened) == [TransitionKind.OPENED]
    assert "has sent nothing for 10 minutes" in opened[0].alert.message
    assert kinds(engine.evaluate(reading(12, 5.0))) == [TransitionKind.RESOLVED]


def test_rate_rule() -> None:
    rule = Rule(id="warming", metric="temperature_c", kind=ConditionKind.RATE, rate_per_minute_above=0.5, window=timedelta(minutes=8))
    engine = Engine([rule], {})
    out = []
    for minute in range(0, 10):
        out += engine.evaluate(reading(minute, 4.0 + minute * 1.0))
    assert TransitionKind.OPENED in kinds(out)


def test_restore_rebuilds_state_without_duplicates() -> None:
    engine = make_engine()
    engine.evaluate(reading(0, 9.0))
    snapshots = engine.active()
    fresh = make_engine()
    assert fresh.restore(snapshots) == 1
    assert all(t.kind is TransitionKind.UPDATED for t in fresh.evaluate(reading(3, 9.2)))
    assert kinds(fresh.tick(T0 + timedelta(minutes=5))) == [TransitionKind.OPENED]


def test_index_only_consults_matching_rules() -> None:
    rules = [
        Rule(id=f"r{i}", metric="temperature_c", kind=ConditionKind.THRESHOLD, fire_high=8.0, match=Match(ids=frozenset({f"s{i}"})))
        for i in range(100)
    ]
    engine = Engine(rules, {})
    out = engine.evaluate(reading(0, 9.0, subject="s42"))
    assert {t.alert.rule_id for t in out} == {"r42"}


def test_validate_rule_catches_clearing_threshold_on_wrong_side() -> None:
    bad = fridge_rule(clear_high=8.5)
    assert any("wrong side" in p and "8.5" in p for p in validate_rule(bad))
    assert validate_rule(fridge_rule()) == []


def test_unknown_subject_still_matched_by_id_free_rules() -> None:
    rule = Rule(id="hot", metric="temperature_c", kind=ConditionKind.THRESHOLD, fire_high=30.0)
    engine = Engine([rule], {"x": Subject(id="x")})
    assert TransitionKind.OPENED in kinds(engine.evaluate(reading(0, 31.0, subject="ghost")))


def test_pattern_rule_keeps_one_alert_per_metric() -> None:
    rule = Rule(
        id="printer-toner-low", metric="toner.*.pct", kind=ConditionKind.THRESHOLD, fire_low=10.0, clear_low=15.0
    )
    engine = Engine([rule], {})
    opened = engine.evaluate(reading(0, 5.0, subject="printer-1", metric="toner.black.pct"))
    assert [t.alert.rule_id for t in opened] == ["printer-toner-low[toner.black.pct]"]
    # Cyan at 66 % in the same poll is a different fact: it must not clear black's alert.
    assert engine.evaluate(reading(0, 66.0, subject="printer-1", metric="toner.cyan.pct")) == ()
    assert engine.state_of("printer-toner-low[toner.black.pct]", "printer-1") is not None
    fresh = Engine([rule], {})
    assert fresh.restore(engine.active()) == 1
    assert kinds(fresh.evaluate(reading(1, 20.0, subject="printer-1", metric="toner.black.pct"))) == [
        TransitionKind.RESOLVED
    ]


def _stock_rules() -> tuple[Rule, Rule]:
    only = Match(ids=frozenset({"GLV-M"}), subject_kind="supply")
    low = Rule(
        id="low", metric="count", kind=ConditionKind.THRESHOLD, fire_low=8.0, low_inclusive=True, clear_low=8.0,
        match=only,
    )
    out = Rule(
        id="out", metric="count", kind=ConditionKind.THRESHOLD, fire_low=0.0, low_inclusive=True, clear_low=0.0,
        severity=Severity.CRITICAL, match=only, supersedes=frozenset({"low"}),
    )
    return low, out


def _count(minute: float, value: float) -> Reading:
    return Reading(
        subject="GLV-M", metric="count", value=float(value), ts=T0 + timedelta(minutes=minute), subject_kind="supply"
    )


def test_a_superseding_alert_replaces_the_one_it_says_more_than_and_holds_it_back() -> None:
    low, out = _stock_rules()
    engine = Engine([low, out], {})
    assert [(t.kind, t.alert.rule_id) for t in engine.evaluate(_count(0, 5))] == [(TransitionKind.OPENED, "low")]
    at_zero = engine.evaluate(_count(1, 0))
    assert [(t.kind, t.alert.rule_id) for t in at_zero] == [
        (TransitionKind.OPENED, "out"),
        (TransitionKind.RESOLVED, "low"),
    ]
    assert at_zero[1].reason is ResolveReason.SUPERSEDED
    assert [a.rule_id for a in engine.active()] == ["out"]
    assert all(t.alert.rule_id == "out" for t in engine.evaluate(_count(2, 0)))
    # Some back but still low: "out" clears and "low" opens from the same reading.
    back = engine.evaluate(_count(3, 4))
    assert [(t.kind, t.alert.rule_id) for t in back] == [(TransitionKind.RESOLVED, "out"), (TransitionKind.OPENED, "low")]


def test_from_zero_at_once_only_the_superseding_alert_opens_and_a_restart_keeps_it_so() -> None:
    low, out = _stock_rules()
    engine = Engine([low, out], {})
    assert [t.alert.rule_id for t in engine.evaluate(_count(0, 0))] == ["out"]
    again = Engine([low, out], {})
    again.restore(engine.active())
    assert list(again.evaluate(_count(1, 0))) == []  # "low" stays held back after a restart
    assert [a.rule_id for a in again.active()] == ["out"]
