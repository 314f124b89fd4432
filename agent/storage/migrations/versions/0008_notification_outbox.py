"""notification outbox, delivery attempts and one-tap link uses

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:00:00

Each notification is written to notification_outbox in the transaction of the alert change that
caused it; notification_attempts logs every delivery attempt; ack_link_uses makes a one-tap
acknowledgement link single-use (ADR 0012).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('notification_outbox',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('dedup_key', sa.String(length=300), nullable=False),
    sa.Column('alert_id', BIG_ID, nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('channel_type', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('next_attempt_at', WHEN, nullable=False),
    sa.Column('hold_until', WHEN, nullable=True),
    sa.Column('sent_at', WHEN, nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('digest_id', BIG_ID, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_notification_outbox_dedup_key'))
    )
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_outbox_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_notification_outbox_due', ['state', 'next_attempt_at'], unique=False)

    op.create_table('notification_attempts',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('outbox_id', BIG_ID, nullable=False),
    sa.Column('alert_id', BIG_ID, nullable=True),
    sa.Column('at', WHEN, nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts'))
    )
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempts_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_attempts_alert_id'), ['alert_id'], unique=False)

    op.create_table('ack_link_uses',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('alert_id', BIG_ID, nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('used_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_ack_link_uses'))
    )


def downgrade() -> None:
    op.drop_table('ack_link_uses')
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempts_alert_id'))
        batch_op.drop_index(batch_op.f('ix_notification_attempts_outbox_id'))
    op.drop_table('notification_attempts')
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_outbox_due')
        batch_op.drop_index(batch_op.f('ix_notification_outbox_alert_id'))
    op.drop_table('notification_outbox')
