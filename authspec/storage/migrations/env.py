"""Alembic environment: runs on the connection ``authspec.storage.migrate`` hands it."""

from __future__ import annotations

from alembic import context

from authspec.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `authspec migrate` (authspec.storage.migrate), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
