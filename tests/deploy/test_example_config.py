"""deploy/facility.example.yaml passes check-config, and documents every key the config models accept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "facility.example.yaml"
CLI = Path(sys.executable).with_name("facility-agent")


def _clean_env() -> dict[str, str]:
    """The environment without FACILITY_* overrides, so the file alone is checked."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    assert CLI.exists(), f"the facility-agent command is not installed next to {sys.executable}"
    return subprocess.run(
        [str(CLI), "check-config", str(path)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_example_config_passes_check_config() -> None:
    result = _check_config(EXAMPLE)
    assert result.returncode == 0, f"check-config rejected the example:\n{result.stdout}{result.stderr}"
    assert "OK" in result.stdout


def test_check_config_would_catch_a_mistake_in_the_example(tmp_path: Path) -> None:
    """The test above can fail: the same file with one misspelt key is rejected, naming the line."""
    broken = tmp_path / "facility.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "  history_retention:" in text
    broken.write_text(text.replace("  history_retention:", "  history_retension:", 1), encoding="utf-8")
    result = _check_config(broken)
    assert result.returncode != 0
    assert "history_retension" in result.stderr
    assert "history_retention" in result.stderr  # the suggested fix


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, key as written in YAML) for every field of model and the models inside it."""
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        yield prefix + key, key
        for inner in _models(field.annotation):
            yield from _keys(inner, f"{prefix}{key}.")


def _all_keys() -> list[tuple[str, str]]:
    from agent.config.model import AgentConfig
    from collectors.mqtt.config import MqttSettings
    from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings

    return [
        *_keys(AgentConfig),
        *_keys(SnmpDefaults, "snmp."),
        *_keys(SnmpEquipmentSettings, "equipment[].snmp."),
        *_keys(MqttSettings, "mqtt."),
    ]


def _first_line_with(key: str, lines: list[str]) -> int | None:
    pattern = re.compile(rf"^\s*(?:#\s*)?(?:-\s+)?{re.escape(key)}:(?:\s|$)")
    return next((i for i, line in enumerate(lines) if pattern.match(line)), None)


def _is_explained(index: int, lines: list[str]) -> bool:
    """The line says what the key is for (a comment after it), or the line above is a comment."""
    body = lines[index].strip()
    if body.startswith("#"):  # an optional key shown commented out: look past the first '#'
        body = body[1:]
    if "#" in body.split(":", 1)[1]:
        return True
    above = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
    return above.startswith("#")


def test_every_config_key_is_in_the_example_with_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    missing: list[str] = []
    unexplained: list[str] = []
    for path, key in _all_keys():
        index = _first_line_with(key, lines)
        if index is None:
            missing.append(path)
        elif not _is_explained(index, lines):
            unexplained.append(f"{path} (line {index + 1})")
    assert not missing, "keys the example config doesn't show (add them, commented):\n" + "\n".join(missing)
    assert not unexplained, "keys shown without a comment saying what they do:\n" + "\n".join(unexplained)


@pytest.mark.parametrize("key", ["url", "password", "community"])
def test_no_secret_is_written_inline(key: str) -> None:
    """Passwords live in the environment or in files; the example must not teach otherwise."""
    for number, line in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.match(rf"^\s*(?:-\s+)?{key}:", code):
            value = code.split(":", 1)[1]
            assert "@" not in value or ":" not in value.split("@")[0].split("//")[-1], (
                f"line {number}: a password inside a URL"
            )
            assert key != "password", f"line {number}: an inline password"
            assert key != "community", (
                f"line {number}: an inline community (use community_env or community_file)"
            )
