"""The revocation feed: one row per ended session, ids in the order the sessions ended.

SQLite gets ``AUTOINCREMENT`` (a purged id is never handed out again, so a reader's cursor cannot
skip a new entry); PostgreSQL a ``bigint`` identity column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(36), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revocations"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_revocations_ended_at", "revocations", ["ended_at"])
    op.create_index("ix_revocations_session_expires_at", "revocations", ["session_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revocations_session_expires_at", table_name="revocations")
    op.drop_index("ix_revocations_ended_at", table_name="revocations")
    op.drop_table("revocations")
