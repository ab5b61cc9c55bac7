"""Shared fixtures: a migrated database per backend (SQLite file, throwaway PostgreSQL), a platform.

Every integration test runs twice: on SQLite and on PostgreSQL. PostgreSQL gets a database
created for this run and dropped at its end. When no PostgreSQL answers, those tests fail loudly
(they are never silently skipped): set SIMRENEW_TEST_SKIP_POSTGRES=1 to run SQLite alone
on a machine without it (`make test` refuses that under CI=true).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from simrenew.bootstrap import Platform, build_platform
from simrenew.clock import FixedClock
from simrenew.db.migrate import upgrade
from simrenew.db.models import Base
from simrenew.settings import Settings

PG_ADMIN = os.environ.get("SIMRENEW_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite"] + (
    [] if os.environ.get("SIMRENEW_TEST_SKIP_POSTGRES") == "1" else ["postgresql"]
)
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped at the end."""
    name = f"simrenew_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for this test run."""
    path: Path = tmp_path_factory.mktemp("db") / "simrenew.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated, empty database; each test runs once per backend."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at a known instant; tests move it explicitly."""
    return FixedClock(START)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database and a private data directory."""
    return Settings(env="test", database_url=db_url, data_dir=tmp_path, secret_key="test-secret")


@pytest.fixture
def platform(settings: Settings, clock: FixedClock) -> Iterator[Platform]:
    """The platform built by bootstrap on the test database, emptied after each test."""
    built = build_platform(settings, clock=clock)
    _empty(built)
    yield built
    _empty(built)
    built.close()


def _empty(platform: Platform) -> None:
    with platform.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - our table names
