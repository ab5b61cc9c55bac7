"""The declarative base, with a naming convention so migrations name constraints alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Insert, MetaData, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session

from simrenew.clock import utc
from simrenew.db.deferred import execute_write

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


class Base(DeclarativeBase):
    """Base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


def insert_row(session: Session, row: Base) -> None:
    """Insert a new row with a Core INSERT in the session's transaction, outside the ORM's
    unit of work: at once, or at commit when the unit of work defers its writes (db.deferred).

    The hot paths (renewals, debits) write six append-only rows per request; building them as
    model objects keeps the code readable, and inserting them this way skips the unit-of-work
    bookkeeping that cost more than the SQL itself. The object stays transient: reading its
    attributes afterwards is fine, changing them writes nothing.
    """
    if session.new:
        session.flush()  # rows it may refer to (a line added in this transaction) go first
    table = row.__table__
    assert isinstance(table, Table)  # noqa: S101 - every model maps one table
    values = {
        column.key: value
        for column in table.columns
        if (value := getattr(row, column.key, None)) is not None
    }
    execute_write(session, _insert_of(table), values)


_INSERTS: dict[Table, Insert] = {}


def _insert_of(table: Table) -> Insert:
    """One INSERT statement object per table, so its compiled form is cached once."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = table.insert()
    return statement
