"""Fixtures for the MQTT collector tests: a private mosquitto and an in-memory sink."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:  # so tests.support imports without an installed tests package
    sys.path.insert(0, _ROOT)

from tests.support.mosquitto import Mosquitto  # noqa: E402


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()
