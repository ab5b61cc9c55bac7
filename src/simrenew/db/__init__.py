"""Storage plumbing: declarative base, engines, units of work, Alembic migrations."""
