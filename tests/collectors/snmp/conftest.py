"""Shared peer for the SNMP collector tests: one snmpsim serving every recording for the session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO = str(Path(__file__).resolve().parents[3])
if _REPO not in sys.path:  # make tests.support importable however pytest is started
    sys.path.insert(0, _REPO)

from tests.support.snmp import FIXTURES, SnmpSim, snmpsim  # noqa: E402


@pytest.fixture(scope="session")
def sim() -> Iterator[SnmpSim]:
    with snmpsim(sorted(FIXTURES.glob("*.snmprec")), ready_community="eaton-93e-ups") as server:
        yield server
