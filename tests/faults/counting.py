"""Count what the agent stored, read straight from its database (reads only, never writes)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, ReadingHistory
from tests.support.mosquitto import QosPublisher


class StoredReadings:
    def __init__(self, url: str) -> None:
        self.db: Engine = create_db_engine(url)
        self.sessions: sessionmaker = session_factory(self.db)

    def count(self, metric: str = "temperature_c") -> int:
        try:
            with self.sessions() as s:
                query = select(func.count()).select_from(ReadingHistory).where(ReadingHistory.metric == metric)
                return int(s.scalar(query) or 0)
        except Exception:  # noqa: BLE001 - the database may not exist yet, or be down
            return -1

    def values(self, metric: str = "temperature_c") -> Counter[float]:
        with self.sessions() as s:
            query = select(ReadingHistory.value_num).where(ReadingHistory.metric == metric)
            return Counter(round(v, 4) for v in s.scalars(query))

    def alerts(self) -> list[tuple[str, str, str]]:
        with self.sessions() as s:
            return [(a.rule_id, a.subject, a.status) for a in s.scalars(select(Alert))]

    def close(self) -> None:
        self.db.dispose()


def duplicates(values: Counter[float]) -> list[float]:
    return sorted(v for v, n in values.items() if n > 1)


def subscribed(publisher: QosPublisher, stored: StoredReadings) -> bool:
    """Until the agent's session exists on the broker a publish goes nowhere: poke another metric."""
    publisher.publish("facility/riverside/equipment/fridge-2/humidity_pct", b"40")
    return stored.count("humidity_pct") >= 1
