"""Print what a poll produced: an aligned table for people, JSON lines for machines."""

from __future__ import annotations

import json
from collections.abc import Iterable

from collectors.snmp.poller import PollResult


def _value_text(value: float | str) -> str:
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return value


def format_table(results: Iterable[PollResult]) -> str:
    """One row per reading (EQUIPMENT METRIC VALUE UNIT), then each device's error, if any."""
    rows: list[tuple[str, str, str, str]] = [("EQUIPMENT", "METRIC", "VALUE", "UNIT")]
    errors: list[str] = []
    for result in results:
        for reading in result.readings:
            rows.append((result.equipment_id, reading.metric, _value_text(reading.value), reading.unit))
        if result.error:
            errors.append(f"{result.equipment_id}: error: {result.error}")
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]
    return "\n".join(lines + errors) + "\n"


def format_json_lines(results: Iterable[PollResult]) -> str:
    """One JSON object per reading: equipment, metric, value (number) or state (text), unit, ts.

    A device's error is a line of its own: {"equipment": ..., "error": ...}.
    """
    lines: list[str] = []
    for result in results:
        for reading in result.readings:
            record: dict[str, object] = {"equipment": result.equipment_id, "metric": reading.metric}
            if isinstance(reading.value, float):
                record["value"] = reading.value
            else:
                record["state"] = reading.value
            record["unit"] = reading.unit
            record["ts"] = reading.ts.isoformat()
            lines.append(json.dumps(record, ensure_ascii=False))
        if result.error:
            lines.append(
                json.dumps({"equipment": result.equipment_id, "error": result.error}, ensure_ascii=False)
            )
    return "\n".join(lines) + ("\n" if lines else "")
