"""Indexes on the columns the purge filters on: ended sessions, expired codes, tokens and windows.

Plain ``CREATE INDEX`` (migrations run in one transaction, which ``CONCURRENTLY`` cannot): on
PostgreSQL it blocks writes to each table while that index is built.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: (index, table, column), named as ``authspec.storage.tables``' naming convention names them.
INDEXES = (
    ("ix_sessions_revoked_at", "sessions", "revoked_at"),
    ("ix_sessions_expires_at", "sessions", "expires_at"),
    ("ix_email_codes_expires_at", "email_codes", "expires_at"),
    ("ix_registration_tokens_expires_at", "registration_tokens", "expires_at"),
    ("ix_rate_limits_resets_at", "rate_limits", "resets_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
