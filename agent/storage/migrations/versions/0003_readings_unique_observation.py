"""readings: one row per observation (subject, metric, ts), so a redelivered reading is stored once

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:00:00

A reading that was stored just before the agent died, but whose MQTT ack never left, is
delivered again after the restart. With its timestamp from the payload it is the same
observation: the unique index lets the insert skip it (ON CONFLICT DO NOTHING).
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Copies stored before this migration: keep the first of each.
    op.execute(
        "DELETE FROM readings WHERE id NOT IN "
        "(SELECT MIN(id) FROM readings GROUP BY subject, metric, ts)"
    )
    op.drop_index('ix_readings_subject_metric_ts', table_name='readings')
    op.create_index('uq_readings_observation', 'readings', ['subject', 'metric', 'ts'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_readings_observation', table_name='readings')
    op.create_index('ix_readings_subject_metric_ts', 'readings', ['subject', 'metric', 'ts'], unique=False)
