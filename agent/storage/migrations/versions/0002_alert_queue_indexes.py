"""alert queue indexes: the coordinator's queue reads one page in index order instead of sorting every open alert

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The queue's predicate exactly as agent/services/queries.py writes it, so the planners can prove
# a query implies the index's WHERE. On SQLite the unary + keeps the planner off the plain
# (status, ...) index, which it would otherwise prefer and then sort thousands of rows.
PG_QUEUE = "status IN ('open', 'acknowledged')"
SQLITE_QUEUE = "+status IN ('open', 'acknowledged')"

INDEXES: dict[str, list[str | sa.TextClause]] = {
    # GET /queue: most severe first, then oldest; stop after one page.
    "ix_alerts_queue": [sa.text("severity DESC"), "opened_at", "id"],
    # GET /queue?team=...
    "ix_alerts_queue_team": ["team", sa.text("severity DESC"), "opened_at", "id"],
    # The queue's counts by team, severity and status, from the index alone.
    "ix_alerts_queue_counts": ["team", "severity", "status"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(
            name, "alerts", columns, sqlite_where=sa.text(SQLITE_QUEUE), postgresql_where=sa.text(PG_QUEUE)
        )


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="alerts")
