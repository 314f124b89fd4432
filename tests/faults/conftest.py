"""Fault-suite fixtures: a private broker and helpers to write an agent config and count readings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def agent_yaml(
    tmp_path: Path,
    *,
    broker_port: int | None = None,
    client_id: str = "agent-faults",
    api_port: int | None = None,
    database: str = "",
    extra: str = "",
    mqtt_extra: str = "",
) -> Path:
    """A one-site config: fridge-2 with a 2-8 °C rule; MQTT and the API only when given ports."""
    data_dir = tmp_path / "data"
    db = database or f"{{data_dir: {data_dir}, flush_interval: 50ms}}"
    mqtt = f"mqtt: {{url: 'mqtt://127.0.0.1:{broker_port}', client_id: {client_id}{mqtt_extra}}}\n" if broker_port else ""
    api = (
        f"api: {{host: 127.0.0.1, port: {api_port}, cookie_secure: false}}\n"
        if api_port
        else "api: {enabled: false}\n"
    )
    text = f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {db}
{api}{mqtt}equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
rules:
  - id: vaccine-fridge-temperature
    metric: temperature_c
    match: {{kinds: [fridge]}}
    outside: [2, 8]
    clear_inside: [2.5, 7.5]
    team: pharmacy
alerting: {{tick_interval: 1s}}
{extra}
"""
    path = tmp_path / "facility.yaml"
    path.write_text(text)
    return path
