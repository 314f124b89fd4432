"""accounts can be locked: session version, usernames unique regardless of case, who ended a silence

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00

users.session_version is carried in every session cookie and bumped on sign-out, on a password
change and on disable, so older cookies stop working at once. Usernames that differ only in
case are refused from now on; a database that already holds two such names stops the upgrade
with their names, for an admin to rename one first.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashes = op.get_bind().execute(
        sa.text("SELECT lower(username) FROM users GROUP BY lower(username) HAVING COUNT(*) > 1")
    ).scalars().all()
    if clashes:
        raise RuntimeError(
            "usernames that differ only in case: " + ", ".join(sorted(clashes))
            + "; rename one of each pair (or remove it) and run 'facility-agent db upgrade' again"
        )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    with op.batch_alter_table('silences') as batch:
        batch.add_column(sa.Column('ended_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('silences') as batch:
        batch.drop_column('ended_by')
    op.drop_index('uq_users_username_lower', table_name='users')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_version')
