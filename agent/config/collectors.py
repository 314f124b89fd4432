"""Validate the snmp/mqtt sections with the collectors' own models (DataDog-style: one model per collector)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from agent.config.model import AgentConfig

Problem = tuple[tuple[Any, ...], str, str]


def _pydantic_problems(prefix: tuple[Any, ...], exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors():
        loc = prefix + tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            yield loc, f"unknown key '{loc[-1]}'", "remove it or check the spelling"
        elif error["type"] == "missing":
            yield loc, "is required", "add it"
        else:
            yield loc, str(error["msg"]).removeprefix("Value error, "), ""


def validate_collector_sections(config: AgentConfig) -> Iterator[Problem]:
    try:
        from collectors.snmp.config import SnmpDefaults, SnmpEquipmentSettings
    except ImportError:  # collector not installed in this build
        SnmpDefaults = SnmpEquipmentSettings = None  # type: ignore[misc,assignment]  # noqa: N806
    if SnmpDefaults is not None:
        try:
            SnmpDefaults.model_validate(config.snmp or {})
        except ValidationError as exc:
            yield from _pydantic_problems(("snmp",), exc)
        for index, item in enumerate(config.equipment):
            if item.snmp is None:
                continue
            try:
                SnmpEquipmentSettings.model_validate(item.snmp)
            except ValidationError as exc:
                yield from _pydantic_problems(("equipment", index, "snmp"), exc)
    if config.mqtt is not None:
        try:
            from collectors.mqtt.config import MqttSettings
        except ImportError:
            return
        try:
            MqttSettings.model_validate(config.mqtt)
        except ValidationError as exc:
            yield from _pydantic_problems(("mqtt",), exc)
