"""Equipment from the config into the equipment table on every start.

New items are added, changed ones updated, and items no longer in the config are marked
retired rather than deleted: their alerts and reading history still name them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.config.model import EquipmentConfig
from agent.storage.models import Equipment

log = logging.getLogger(__name__)

# Settings worth showing; SNMP credentials never go to storage.
_SNMP_SHOWN = ("host", "port", "profile", "version", "interval")


@dataclass(frozen=True)
class SyncResult:
    added: int = 0
    updated: int = 0
    retired: int = 0
    returned: int = 0


def _settings(item: EquipmentConfig) -> dict[str, object]:
    settings: dict[str, object] = {}
    if item.snmp is not None:
        settings["snmp"] = {k: item.snmp[k] for k in _SNMP_SHOWN if k in item.snmp}
    if item.silent_after is not None:
        settings["silent_after_s"] = item.silent_after.total_seconds()
    return settings


def sync_equipment(session: Session, equipment: Sequence[EquipmentConfig], *, site_id: str, now: datetime) -> SyncResult:
    """Make the equipment table match the config; the caller commits."""
    rows = {row.id: row for row in session.scalars(select(Equipment))}
    added = updated = retired = returned = 0
    for item in equipment:
        fields = {
            "site_id": site_id,
            "name": item.name or item.id,
            "kind": item.kind,
            "location": item.location,
            "team": item.team,
            "model": item.model,
            "tags": list(item.tags),
            "settings": _settings(item),
        }
        row = rows.pop(item.id, None)
        if row is None:
            session.add(Equipment(id=item.id, updated_at=now, retired_at=None, **fields))
            added += 1
            continue
        changed = any(getattr(row, key) != value for key, value in fields.items())
        if row.retired_at is not None:
            row.retired_at = None
            returned += 1
            changed = True
        if changed:
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = now
            updated += 1
    for row in rows.values():
        if row.retired_at is None:
            row.retired_at = now
            row.updated_at = now
            retired += 1
    session.flush()
    result = SyncResult(added=added, updated=updated, retired=retired, returned=returned)
    if added or updated or retired:
        log.info(
            "equipment synced from the config",
            extra={"added": added, "updated": updated, "retired": retired, "back_in_config": returned},
        )
    return result
