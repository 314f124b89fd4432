"""`facility-agent check-config` explains each mistake on its own line and exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BAD = """\
site:
  id: riverside
  timezone: Europe/London
equipment:
  - id: fridge-pharmacy-2
    name: Fridge 2
    kind: fridge
    locaton: Pharmacy
  - id: fridge-pharmacy-2
    name: Fridge 3
    kind: fridge
rules:
  - id: vaccine-fridge-temperature
    metric: temperature_c
    outside: [2, 8]
    clear_inside: [2.5, 8.5]
    for: 5m
"""

GOOD = """\
site: {id: riverside, timezone: Europe/London}
equipment:
  - {id: fridge-pharmacy-2, name: Fridge 2, kind: fridge, location: Pharmacy}
rules:
  - {id: vaccine-fridge-temperature, metric: temperature_c, outside: [2, 8], clear_inside: [2.5, 7.5], for: 5m}
"""


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "facility.yaml"
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "check-config", str(path)], capture_output=True, text=True, env=env, timeout=60
    )


def test_three_mistakes_three_clear_lines(tmp_path: Path) -> None:
    result = check(tmp_path, BAD)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.stderr
    misspelt, duplicate, threshold = errors
    assert "facility.yaml:8" in misspelt and "locaton" in misspelt and "did you mean 'location'" in misspelt
    assert "facility.yaml:9" in duplicate and "duplicate id 'fridge-pharmacy-2'" in duplicate
    assert "facility.yaml:13" in threshold and "vaccine-fridge-temperature" in threshold and "8.5" in threshold


def test_good_config_passes(tmp_path: Path) -> None:
    result = check(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_env_override_is_applied_and_validated(tmp_path: Path) -> None:
    from agent.config import ConfigError, load_config_text

    config = load_config_text(GOOD, environ={"FACILITY_API__PORT": "9090", "FACILITY_DATABASE__URL": "sqlite:////tmp/x.db"})
    assert config.api.port == 9090 and config.database_url() == "sqlite:////tmp/x.db"
    try:
        load_config_text(GOOD, environ={"FACILITY_API__PORT": "not-a-port"})
    except ConfigError as exc:
        assert "api.port" in str(exc)
    else:
        raise AssertionError("a bad override must be refused")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    result = check(tmp_path, "site:\n  id: [unclosed\n")
    assert result.returncode != 0
    assert "facility.yaml:" in result.stderr and "not valid YAML" in result.stderr
