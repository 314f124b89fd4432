"""Cold-chain rule keys in the config: check-config names file, line, key and fix (issue 14)."""

from __future__ import annotations

from pathlib import Path

from agent.catalog import build_rules
from agent.config import load_config
from tests.agent.test_check_config import check

GOOD = """\
site: {id: riverside}
equipment:
  - {id: fridge-1, name: Vaccine fridge, kind: fridge, location: Pharmacy, silent_after: 10m}
rules:
  - id: vaccine-fridge
    metric: temperature_c
    match: {kinds: [fridge]}
    cold_chain:
      hot_above: 8
      cold_below: 2
      consecutive: 30m
      cumulative: {limit: 60m, window: 24h}
    require_comment: [ack, resolve]
    severity: critical
"""

BAD = """\
site: {id: riverside}
rules:
  - id: vaccine-fridge
    metric: temperature_c
    cold_chain:
      cold_below: 9
      hot_above: 8
      cumulative: {limit: 2h, window: 1h}
  - id: freezer
    metric: temperature_c
    above: -15
    cold_chain: {hot_above: -15, consecutive: 10m}
  - id: other
    metric: temperature_c
    above: 30
    require_comment: [acknowledge]
"""


def test_a_cold_chain_rule_becomes_a_consecutive_and_a_cumulative_rule(tmp_path: Path) -> None:
    path = tmp_path / "facility.yaml"
    path.write_text(GOOD)
    rules = {r.id: r for r in build_rules(load_config(path))}
    consecutive, cumulative = rules["vaccine-fridge"], rules["vaccine-fridge.cumulative"]
    assert (consecutive.fire_low, consecutive.fire_high, consecutive.hold.total_seconds()) == (2, 8, 1800)
    assert cumulative.metric == "cold_chain.vaccine-fridge.min" and cumulative.fire_high == 60
    assert consecutive.require_comment == cumulative.require_comment == frozenset({"ack", "resolve"})
    assert check(tmp_path, GOOD).returncode == 0


def test_bad_cold_chain_keys_name_file_line_key_and_fix(tmp_path: Path) -> None:
    result = check(tmp_path, BAD)
    assert result.returncode == 1
    err = result.stderr
    assert "facility.yaml:5" in err and "rules[0].cold_chain" in err
    assert "cold_below 9 at or above hot_above 8" in err and "put cold_below under hot_above" in err
    assert "window" in err and "make the window longer" in err
    assert "rules[1]" in err and "remove the other condition" in err
    assert "rules[2].require_comment[0]: Input should be 'ack' or 'resolve'" in err
