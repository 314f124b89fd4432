"""The port the history routes and the equipment page use; the agent puts an implementation
on app.state.history (agent/services/equipment_history.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fastapi import Request

from api.ports import NotFoundError
from rules.history_views import ChartData, ReadingSeries


class EquipmentHistory(Protocol):
    timezone: str

    def readings(
        self, equipment_id: str, *, metric: str | None, start: datetime, end: datetime, step: int | None
    ) -> ReadingSeries: ...

    def chart(self, equipment_id: str, *, start: datetime, end: datetime, metric: str | None = None) -> ChartData | None: ...

    def evidence_csv(self, equipment_id: str, *, start: datetime, end: datetime) -> str: ...

    def evidence_pdf(self, equipment_id: str, *, start: datetime, end: datetime) -> bytes: ...

    def rule_needs(self, rule_id: str) -> dict[str, object]: ...


def history_of(request: Request) -> EquipmentHistory:
    found: EquipmentHistory | None = getattr(request.app.state, "history", None)
    if found is None:
        raise NotFoundError("reading history is not available in this app")
    return found
