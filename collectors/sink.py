"""What a collector hands its output to. The agent's pipeline implements it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rules.reading import Reading


@dataclass(frozen=True, slots=True)
class Receipt:
    """A source's identity of one delivered message (MQTT: client id, packet id, digest).

    Stored in the same transaction as the message's readings, so that after a crash the
    collector can tell a redelivered copy from a new message (see collectors/mqtt/receipts.py).
    """

    client_id: str
    mid: int
    digest: str


class ReadingSink(Protocol):
    """Where collectors put readings. Every method must be safe to call from any thread."""

    def submit(
        self,
        readings: Sequence[Reading],
        *,
        on_stored: Callable[[], None] | None = None,
        receipts: Sequence[Receipt] = (),
    ) -> None:
        """Queue readings for evaluation and storage.

        receipts, when given, are committed in the same transaction as the readings.

        on_stored, when given, is called (from the writer's thread) once the readings are
        committed, so a collector can acknowledge the source only then (MQTT QoS 1).
        Blocks while the pipeline's bounded queue is full: back-pressure, not loss.
        """

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        """Count one input that could not become a reading; reason is a short stable label."""

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        """Record input from a source that matches no equipment or supply (e.g. an MQTT topic)."""
