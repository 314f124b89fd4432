"""Property tests of the engine's invariants."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.alerts import TransitionKind
from rules.engine import Engine
from tests.rules.helpers import FRIDGE, fridge_rule, reading

temperatures = st.floats(min_value=-5, max_value=15, allow_nan=False, allow_infinity=False)
holds = st.sampled_from([timedelta(0), timedelta(minutes=2), timedelta(minutes=5)])
steps = st.lists(st.tuples(st.integers(min_value=0, max_value=5), temperatures), min_size=1, max_size=60)


def in_band(value: float) -> bool:
    # Neither firing (outside 2..8) nor clearing (inside 2.5..7.5).
    return 2.0 <= value < 2.5 or 7.5 < value <= 8.0


def run(rule_hold: timedelta, seq: list[tuple[int, float]]):
    engine = Engine([fridge_rule(hold=rule_hold)], {FRIDGE.id: FRIDGE})
    minute = 0
    readings = []
    for gap, value in seq:
        minute += gap
        readings.append(reading(minute, value))
    return engine, readings


@settings(max_examples=300, deadline=None)
@given(holds, steps)
def test_value_inside_hysteresis_band_never_changes_state(hold: timedelta, seq: list[tuple[int, float]]) -> None:
    engine, readings = run(hold, seq)
    for r in readings:
        before = engine.state_of("fridge-temp", "fridge-2")
        out = engine.evaluate(r)
        if in_band(float(r.value)):
            after = engine.state_of("fridge-temp", "fridge-2")
            assert (before is None) == (after is None)
            if before is not None and after is not None and before.status == after.status:
                # Only a held pending alert may open on time; nothing else moves.
                assert all(t.kind in (TransitionKind.UPDATED, TransitionKind.OPENED) for t in out)
                if before.status.value != "pending":
                    assert all(t.kind is TransitionKind.UPDATED for t in out)
            else:
                assert before is None or before.status.value == "pending"


@settings(max_examples=300, deadline=None)
@given(holds, steps)
def test_never_opens_and_resolves_on_the_same_reading(hold: timedelta, seq: list[tuple[int, float]]) -> None:
    engine, readings = run(hold, seq)
    for r in readings:
        ks = [t.kind for t in engine.evaluate(r)]
        assert not (TransitionKind.OPENED in ks and TransitionKind.RESOLVED in ks)


@settings(max_examples=200, deadline=None)
@given(holds, steps, st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=20))
def test_batches_and_single_readings_give_the_same_transitions(
    hold: timedelta, seq: list[tuple[int, float]], cuts: list[int]
) -> None:
    one_engine, readings = run(hold, seq)
    one_by_one = [t for r in readings for t in one_engine.evaluate(r)]
    batch_engine, _ = run(hold, seq)
    batched = []
    i = 0
    for size in cuts * (len(readings) // max(1, sum(cuts)) + 1):
        chunk = readings[i : i + size]
        if not chunk:
            break
        batched += batch_engine.evaluate_many(chunk)
        i += size
    batched += batch_engine.evaluate_many(readings[i:])
    assert batched == one_by_one
