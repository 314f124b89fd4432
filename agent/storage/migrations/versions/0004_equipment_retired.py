"""equipment: retired_at, set when an item leaves the config (its alerts and history stay)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00

Equipment is synced from the config on every start: new items added, changed ones updated,
removed ones marked retired rather than deleted.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('equipment') as batch:
        batch.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('equipment') as batch:
        batch.drop_column('retired_at')
