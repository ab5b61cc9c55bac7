"""Engines and the unit of work: the one transaction boundary every service uses."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from simrenew.db.deferred import defer_writes, deferred_writes

T = TypeVar("T")

# PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for the database behind `url` (SQLite: WAL, immediate write locks)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that later writes can fail
            # with "database is locked" instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Sessions in UTC: timestamps come back in datetime.UTC, which clock.utc() passes through.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": "-c TimeZone=UTC"},
    )


class UnitOfWork:
    """A session whose transaction rolls back unless `commit()` is reached inside `with`."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session (only inside `with uow:`)."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `with`")
        return self._session

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        bind = self._session_factory.kw["bind"]
        return str(bind.dialect.name)

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the loaded objects without
        # expiring them, so results read inside `with` stay readable after it.
        try:
            self.session.close()
        finally:
            self._session = None

    def defer_writes(self) -> None:
        """Hold this transaction's row writes and send them together at commit (db.deferred)."""
        defer_writes(self.session)

    def commit(self) -> None:
        """Make the transaction's writes durable (held writes first, in one statement)."""
        session = self.session
        held = deferred_writes(session)
        if held is not None:
            session.flush()  # objects added through the ORM may be referred to by held rows
            held.send(session.connection())
        session.commit()

    def rollback(self) -> None:
        """Drop the transaction's writes."""
        self.session.rollback()


def is_retryable(error: BaseException) -> bool:
    """Whether a database error is a race worth running the transaction again for."""
    if isinstance(error, IntegrityError):
        return True  # a concurrent insert won a unique key; the retry sees its row
    if isinstance(error, OperationalError) and "database is locked" in str(error):
        return True
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        return sqlstate in _RETRYABLE_SQLSTATES
    return False


def retrying(work: Callable[[], T], *, attempts: int = 5) -> T:
    """Run a whole transaction again on serialization failures, deadlocks and unique races."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")
