"""excursions and readings_hourly: cold-chain excursion records, hourly rollups (issue 14)

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 00:00:00

Every excursion of a cold-chain unit (start, end, peak or trough) is kept, including the
ones that never became an alert, because an inspector asks for all of them.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'excursions',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('rule_id', sa.String(length=150), nullable=False),
        sa.Column('subject', sa.String(length=100), nullable=False),
        sa.Column('metric', sa.String(length=120), nullable=False),
        sa.Column('side', sa.String(length=10), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('extreme', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_excursions')),
        sa.UniqueConstraint('rule_id', 'subject', 'start_at', name='uq_excursions_rule_id'),
    )
    op.create_index('ix_excursions_subject_start', 'excursions', ['subject', 'start_at'], unique=False)
    # Hourly rollups of numeric readings for long-range charts (agent/storage/rollups.py).
    op.create_table(
        'readings_hourly',
        sa.Column('subject', sa.String(length=100), nullable=False),
        sa.Column('metric', sa.String(length=120), nullable=False),
        sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
        sa.Column('min', sa.Float(), nullable=False),
        sa.Column('max', sa.Float(), nullable=False),
        sa.Column('sum', sa.Float(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('subject', 'metric', 'hour', name=op.f('pk_readings_hourly')),
    )


def downgrade() -> None:
    op.drop_table('readings_hourly')
    op.drop_index('ix_excursions_subject_start', table_name='excursions')
    op.drop_table('excursions')
