"""Alembic migrations of the SQL schema, shipped with the package (run by :mod:`motcua.adapters.sql.migrate`)."""
