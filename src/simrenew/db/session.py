"""Engines and the unit of work: the one transaction boundary every service uses."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from simrenew.db.deferred import defer_writes, deferred_writes

T = TypeVar("T")

# PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
_WROTE = "simrenew.wrote"  # connection.info: this transaction sent something other than a SELECT
_CONNECTION = "simrenew.connection"  # session.info: the connection of its open transaction


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
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": "-c TimeZone=UTC"},
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[_WROTE] = True

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine`; on PostgreSQL each remembers its transaction's connection, so a
    unit of work can tell a transaction that only read (see UnitOfWork.__exit__)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    if engine.dialect.name == "postgresql":
        event.listen(factory, "after_begin", _remember_connection)
    return factory


class UnitOfWork:
    """A session whose writes are undone unless `commit()` is reached inside `with`."""

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
        session = self.session
        try:
            if _only_read(session, exc):
                # Nothing to undo: end it with COMMIT. psycopg forgets every prepared statement
                # of a connection at each ROLLBACK, so read-only requests and refusals would
                # make the next renewal parse and plan its statements again on the server.
                try:
                    session.commit()
                except DBAPIError:
                    if exc is None:
                        raise
                    # The error already on its way out tells the caller more; close() below
                    # rolls back.
        finally:
            try:
                session.close()
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


def _remember_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection
    connection.info[_WROTE] = False


def _only_read(session: Session, error: BaseException | None) -> bool:
    """Whether the session's open transaction on PostgreSQL sent nothing but SELECTs (locking
    ones included) and holds no unflushed change: then COMMIT and ROLLBACK mean the same."""
    connection = session.info.pop(_CONNECTION, None)
    if connection is None or not session.in_transaction() or connection.closed:
        return False
    if isinstance(error, DBAPIError) or connection.info.get(_WROTE, True):
        return False  # a write must be undone
    driver = connection.connection.driver_connection
    if driver is None or driver.info.transaction_status != TransactionStatus.INTRANS:
        return False  # no transaction open, or one a failed statement aborted
    return not (session.new or session.dirty or session.deleted)


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
