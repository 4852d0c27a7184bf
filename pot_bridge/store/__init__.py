"""The store: SQLAlchemy schema, engine and Alembic migrations. Knows no HTTP."""

from pot_bridge.store.engine import make_engine, migrate, session_factory

__all__ = ["make_engine", "migrate", "session_factory"]
