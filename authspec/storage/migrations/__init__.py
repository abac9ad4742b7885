"""Alembic migration scripts of the real service (run through ``authspec.storage.migrate``)."""
