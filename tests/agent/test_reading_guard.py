"""A metric is a number or a state; metric names and metrics per subject are bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.reading_guard import BAD_PAYLOAD, METRIC_TOO_LONG, TOO_MANY_METRICS, VALUE_TOO_LONG, ReadingGuard
from rules.model import ConditionKind, Rule
from rules.reading import Reading, make_reading

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
WARM = Rule(id="warm", metric="temperature_c", kind=ConditionKind.THRESHOLD, fire_high=8.0, clear_high=8.0)


def reading(metric: str, value: float | str, *, unit: str = "", source: str = "mqtt:t", subject: str = "fridge-1") -> Reading:
    return make_reading(subject=subject, metric=metric, value=value, ts=NOW, unit=unit, source=source)


def check(guard: ReadingGuard, *readings: Reading) -> tuple[list[str], list[str]]:
    refused: list[str] = []
    kept = guard.filter(readings, lambda source, reason, detail: refused.append(reason))
    return [r.metric for r in kept], refused


def test_a_word_is_not_a_number_where_a_rule_a_unit_or_the_history_wants_one() -> None:
    guard = ReadingGuard([WARM], state_metrics={"lock.mode"})
    guard.seed([("fridge-1", "humidity", True)])
    assert check(guard, reading("temperature_c", "hot")) == ([], [BAD_PAYLOAD])
    assert check(guard, reading("voltage", "high", unit="V")) == ([], [BAD_PAYLOAD])
    assert check(guard, reading("humidity", "damp")) == ([], [BAD_PAYLOAD])
    assert check(guard, reading("power.level", 3.0), reading("power.level", "low")) == (["power.level"], [BAD_PAYLOAD])
    # States where states belong: a door, a declared state, a metric first seen as a state.
    assert check(guard, reading("door.state", "open"), reading("lock.mode", "auto"), reading("mode", "eco")) == (
        ["door.state", "lock.mode", "mode"], [])
    assert check(guard, reading("mode", "off"))[1] == []
    # SNMP types its values from the MIB: a toner level may be "some_remaining".
    assert check(guard, reading("temperature_c", "unknown", source="snmp:h")) == (["temperature_c"], [])


def test_metric_names_and_metrics_per_subject_are_capped() -> None:
    guard = ReadingGuard([], max_metrics_per_subject=3)
    assert check(guard, reading("a" * 121, 1.0)) == ([], [METRIC_TOO_LONG])
    assert check(guard, *(reading(f"m{i}", 1.0) for i in range(5))) == (["m0", "m1", "m2"], [TOO_MANY_METRICS] * 2)
    assert check(guard, reading("m1", 2.0), reading("m0", 3.0, subject="fridge-2")) == (["m1", "m0"], [])


def test_a_mapping_declares_its_metric_a_state() -> None:
    from agent.config import load_config_text
    from agent.runtime import _mapped_states

    config = load_config_text(
        """
mqtt:
  url: mqtt://127.0.0.1:1883
  mappings:
    - {pattern: "zigbee/{equipment}/door", metric: contact_c, state: true}
    - {pattern: "sensors/{equipment}/{metric}", json_path: data.temp}
""",
        environ={},
    )
    guard = ReadingGuard([WARM], state_metrics=_mapped_states(config))
    assert check(guard, reading("contact_c", "open"), reading("temperature_c", "hot")) == (["contact_c"], [BAD_PAYLOAD])


def test_states_units_and_subjects_wider_than_storage_are_refused_and_their_neighbours_kept() -> None:
    guard = ReadingGuard([WARM])
    kept, refused = check(
        guard,
        Reading("fridge-1", "mode", "x" * 65, NOW, source="snmp:h"),  # make_reading refuses it; a collector might not
        reading("voltage", 230.0, unit="v" * 21),
        reading("temperature_c", 4.0, subject="f" * 101),
        reading("temperature_c", 4.0),
    )
    assert kept == ["temperature_c"] and refused == [VALUE_TOO_LONG] * 3


def test_a_flood_of_junk_metric_names_does_not_lock_out_a_watched_metric() -> None:
    guard = ReadingGuard([WARM], max_metrics_per_subject=3)
    assert check(guard, *(reading(f"junk{i}", 1.0) for i in range(5)))[1] == [TOO_MANY_METRICS] * 2
    assert check(guard, reading("temperature_c", 4.0), reading("door.state", "open")) == (
        ["temperature_c", "door.state"], [])
