"""Response examples for the OpenAPI document (the response schemas come from rules.views)."""

from __future__ import annotations

from typing import Any

ALERT: dict[str, Any] = {
    "id": 12,
    "rule_id": "fridge-temperature",
    "subject": "fridge-2",
    "subject_kind": "equipment",
    "subject_name": "Fridge 2",
    "location": "Pharmacy",
    "status": "open",
    "severity": "warning",
    "team": "pharmacy",
    "message": "Fridge 2 in Pharmacy is at 9.1°C (safe range 2°C–8°C)",
    "summary": "Fridge 2 in Pharmacy is at 9.1°C (safe range 2°C–8°C) for 12 minutes",
    "since": "2026-11-26T09:48:00Z",
    "opened_at": "2026-11-26T09:48:00Z",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolve_reason": None,
    "assignee": None,
    "first_value": 8.6,
    "last_value": 9.1,
    "worst_value": 9.4,
    "last_seen_at": "2026-11-26T10:00:00Z",
    "occurrences": 13,
    "escalation_level": 0,
    "flapping": False,
    "updated_at": "2026-11-26T10:00:00Z",
    "version": 4,
}

EVENT: dict[str, Any] = {
    "id": 345,
    "alert_id": 12,
    "at": "2026-11-26T10:04:00Z",
    "kind": "acknowledged",
    "actor": "sam",
    "comment": "On my way",
    "from_status": "open",
    "to_status": "acknowledged",
    "severity": "warning",
    "value": 9.1,
    "details": {},
    "text": "Acknowledged by sam",
}

LOW_SUPPLY: dict[str, Any] = {
    "sku": "GLV-NIT-M",
    "name": "Nitrile gloves M",
    "location": "Ward 3",
    "unit": "box",
    "on_hand": 4.0,
    "reorder_point": 8.0,
    "par": 20.0,
    "on_order": 0.0,
    "days_of_supply": 2.0,
    "text": "Nitrile gloves M in Ward 3: 4 box left (reorder at 8)",
}

QUEUE: dict[str, Any] = {
    "items": [ALERT],
    "next_cursor": "WzIsIjIwMjYtMTEtMjZUMDk6NDg6MDArMDA6MDAiLDEyXQ",
    "total_open": 7,
    "by_severity": {"critical": 1, "warning": 5, "info": 1},
    "acknowledged": 2,
    "low_supplies": [LOW_SUPPLY],
    "low_supply_count": 1,
    "teams": ["it", "pharmacy"],
    "generated_at": "2026-11-26T10:00:00Z",
}

EQUIPMENT: dict[str, Any] = {
    "id": "printer-ward3",
    "name": "Ward 3 printer",
    "kind": "printer",
    "location": "Ward 3",
    "team": "it",
    "model": "Brother MFC-L2710DW",
    "state": "ok",
    "state_text": "OK",
    "last_seen": "2026-11-26T09:59:30Z",
    "key_values": [
        {
            "metric": "toner.black.pct",
            "label": "Toner black",
            "value": 72.0,
            "unit": "%",
            "text": "72%",
            "at": "2026-11-26T09:59:30Z",
        }
    ],
    "open_alerts": 0,
    "alerts": [],
}

SUPPLY: dict[str, Any] = {
    "sku": "GLV-NIT-M",
    "name": "Nitrile gloves M",
    "unit": "box",
    "location": "Ward 3",
    "vendor": "Medline",
    "par": 20.0,
    "reorder_point": 8.0,
    "pack_size": 10,
    "lead_time_days": 2.0,
    "on_order": 0.0,
    "on_hand": 4.0,
    "daily_use": 2.0,
    "days_of_supply": 2.0,
    "counted_at": "2026-11-26T08:15:00Z",
    "status": "low",
    "text": "Nitrile gloves M in Ward 3: 4 box left (reorder at 8)",
    "fits_models": [],
    "part_numbers": ["MDS192075"],
    "settings_changed_by": None,
}

RESTOCK_LINE: dict[str, Any] = {
    "sku": "GLV-NIT-M",
    "name": "Nitrile gloves M",
    "unit": "box",
    "location": "Ward 3",
    "vendor": "Medline",
    "on_hand": 4.0,
    "on_order": 0.0,
    "par": 20.0,
    "reorder_point": 8.0,
    "pack_size": 10,
    "lead_time_days": 2.0,
    "quantity": 20,
    "days_of_supply": 2.0,
    "daily_use": 2.0,
    "reason": "at or below the reorder point (4 on hand, reorder at 8)",
}

RESTOCK_REPORT: dict[str, Any] = {
    "id": 3,
    "site_id": "main",
    "date": "2026-11-26",
    "state": "sent",
    "attempts": 1,
    "recipients": ["purchasing@example.org"],
    "claimed_by": "agent-1",
    "claimed_at": "2026-11-26T05:00:00Z",
    "finished_at": "2026-11-26T05:00:02Z",
    "last_error": "",
    "lines": 4,
    "details": {},
}

SILENCE: dict[str, Any] = {
    "id": 5,
    "equipment_id": "fridge-2",
    "rule_id": None,
    "team": None,
    "starts_at": "2026-11-26T10:00:00Z",
    "ends_at": "2026-11-26T11:30:00Z",
    "comment": "Defrost; back by 11:30",
    "created_by": "coordinator",
    "created_at": "2026-11-26T10:00:00Z",
}

USER: dict[str, Any] = {
    "id": 2,
    "username": "sam",
    "display_name": "Sam Okafor",
    "role": "staff",
    "team": "facilities",
    "disabled": False,
    "created_at": "2026-11-20T08:00:00Z",
}

TOKEN: dict[str, Any] = {
    "id": 7,
    "name": "ward tablet",
    "prefix": "9b70dd9a",
    "username": "sam",
    "role": "staff",
    "created_at": "2026-11-26T10:00:00Z",
    "last_used_at": None,
    "revoked_at": None,
}

PRINCIPAL: dict[str, Any] = {
    "username": "sam",
    "role": "staff",
    "display_name": "Sam Okafor",
    "team": "facilities",
    "via": "token",
    "token_id": 7,
}


def ok(example: Any, status: int = 200, description: str = "Success") -> dict[int | str, dict[str, Any]]:
    return {status: {"description": description, "content": {"application/json": {"example": example}}}}


UNKNOWN_SOURCE: dict[str, Any] = {
    "source": "mqtt",
    "key": "facility/riverside/equipment/fridge-9/temperature_c",
    "last_payload": '{"value": 4.1}',
    "count": 312,
    "first_seen": "2026-11-26T08:00:00Z",
    "last_seen": "2026-11-26T10:15:00Z",
}
