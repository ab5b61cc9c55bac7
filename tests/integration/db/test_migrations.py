"""The schema comes from migrations alone, the same on SQLite and PostgreSQL, and steps back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from conftest import BACKENDS, PG_ADMIN
from simrenew.db.migrate import alembic_config, check, downgrade, upgrade
from simrenew.db.models import Base

LINE_SCOPED = [
    "lines",
    "line_history",
    "ledger_entries",
    "renewals",
    "receipts",
    "quotes",
    "outbox",
]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"simrenew_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_builds_every_table_and_matches_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    tables = _tables(empty_url)
    assert set(Base.metadata.tables) <= tables
    check(empty_url)  # raises when models and migrations disagree
    upgrade(empty_url)  # a second run is a no-op


def _current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_downgrade_one_step_and_up_again(empty_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_url))
    head = script.get_revision("head")
    assert head is not None
    upgrade(empty_url)
    assert _current_revision(empty_url) == head.revision
    downgrade(empty_url, "-1")
    assert _current_revision(empty_url) == head.down_revision
    if head.down_revision is None:  # the first migration steps back to an empty database
        assert not set(Base.metadata.tables) & _tables(empty_url)
    upgrade(empty_url)
    assert _current_revision(empty_url) == head.revision
    assert set(Base.metadata.tables) <= _tables(empty_url)


def test_every_line_scoped_table_carries_the_msisdn() -> None:
    for name in LINE_SCOPED:
        assert "msisdn" in Base.metadata.tables[name].columns, name
