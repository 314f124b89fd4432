"""Unknown sources for the coordinator: what publishes without being configured."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.models import UnknownSource
from rules.views import UnknownSourceView


class UnknownSourceReads:
    """Mixed into AppServices (which has .sessions)."""

    sessions: sessionmaker[Session]

    def list_unknown_sources(self, *, limit: int) -> list[UnknownSourceView]:
        """The most recently seen first."""
        query = select(UnknownSource).order_by(UnknownSource.last_seen.desc(), UnknownSource.key).limit(limit)
        with self.sessions() as session:
            return [
                UnknownSourceView(
                    source=row.source, key=row.key, last_payload=row.last_payload, count=row.count,
                    first_seen=row.first_seen, last_seen=row.last_seen,
                )
                for row in session.scalars(query)
            ]
