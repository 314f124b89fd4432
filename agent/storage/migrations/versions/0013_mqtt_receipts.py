"""mqtt_receipts: the broker's packet id of each stored reading without a payload timestamp

Revision ID: 0013f
Revises: 0010
Create Date: 2026-12-01 00:00:00

A reading stored just before the agent died, whose MQTT ack never left, is delivered again
after the restart. With a timestamp in its payload the unique observation index (0003) skips
it; a bare number gets a new receive time, so only the packet's identity, written in the same
transaction as the reading, can tell the copy apart.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mqtt_receipts',
        sa.Column('client_id', sa.String(length=200), nullable=False),
        sa.Column('mid', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('client_id', 'mid', name=op.f('pk_mqtt_receipts')),
    )


def downgrade() -> None:
    op.drop_table('mqtt_receipts')
