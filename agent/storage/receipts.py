"""MQTT receipts: the packet identity of stored readings, committed with them (collectors/mqtt/receipts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.models import MqttReceipt
from collectors.sink import Receipt

# Only acks sent shortly before a crash can be lost; older receipts are not loaded (the broker
# had long processed their acks), which keeps a reused packet id from being misjudged.
LOAD_WINDOW = timedelta(minutes=10)


def write_receipts(session: Session, receipts: Sequence[Receipt], now: datetime) -> None:
    """Upsert in the caller's transaction: a reused packet id replaces the old receipt."""
    if not receipts:
        return
    latest = {(r.client_id, r.mid): r for r in receipts}  # one row per key per statement
    rows = [{"client_id": c, "mid": m, "digest": r.digest, "stored_at": now} for (c, m), r in latest.items()]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(MqttReceipt)
    stmt = stmt.on_conflict_do_update(
        index_elements=["client_id", "mid"],
        set_={"digest": stmt.excluded.digest, "stored_at": stmt.excluded.stored_at},
    )
    session.execute(stmt, rows)


def load_receipts(sessions: sessionmaker[Session], client_id: str) -> list[Receipt]:
    """The receipts stored within LOAD_WINDOW of the newest one for this client id."""
    with sessions() as session:
        newest = session.scalar(select(func.max(MqttReceipt.stored_at)).where(MqttReceipt.client_id == client_id))
        if newest is None:
            return []
        rows = session.scalars(
            select(MqttReceipt).where(MqttReceipt.client_id == client_id, MqttReceipt.stored_at >= newest - LOAD_WINDOW)
        )
        return [Receipt(r.client_id, r.mid, r.digest) for r in rows]
