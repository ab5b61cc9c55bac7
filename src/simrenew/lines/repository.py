"""Every query of the line registry, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import catalog_version_query
from simrenew.db.base import insert_row
from simrenew.db.deferred import execute_write
from simrenew.lines.models import Customer, Line, LineHistory


def get_line(session: Session, msisdn: str) -> Line | None:
    """One line by E.164 MSISDN, without locking."""
    return session.get(Line, msisdn)


@dataclass(frozen=True)
class LineContext:
    """A line with what its use cases need beside it, read in one query.

    The line is read with Core and built as a detached object: the hot paths change it in
    memory and write it back once with save_line, without the ORM's unit of work.
    """

    line: Line
    language: str  # the subscriber's language (English when unregistered)
    catalog_version: str | None


_LINES = Line.__table__
assert isinstance(_LINES, Table)  # noqa: S101 - a mapped class has one table
_LINE_KEYS = tuple(column.key for column in _LINES.columns)
# Columns a line_context_query row starts with; rooms that add columns find theirs after these.
LINE_CONTEXT_WIDTH = len(_LINE_KEYS) + 2
_SAVED_KEYS = tuple(key for key in _LINE_KEYS if key not in ("msisdn", "created_at"))
# One statement object, so its compiled form is cached once.
_SAVE_LINE = (
    update(_LINES)
    .where(_LINES.c.msisdn == bindparam("line_msisdn"))
    .values({key: bindparam(key) for key in _SAVED_KEYS})
)


def line_context_query(msisdn: str | BindParameter[str], *, lock: bool) -> Select[Any]:
    """The query behind get_line_context, for rooms that read more columns in the same trip."""
    query = (
        select(*_LINES.columns, Customer.language, catalog_version_query())
        .select_from(_LINES.outerjoin(Customer, Customer.id == _LINES.c.customer_id))
        .where(_LINES.c.msisdn == msisdn)
    )
    if lock:
        query = query.with_for_update(of=_LINES)
    return query


def line_context_from(row: Sequence[Any] | None) -> LineContext | None:
    """A LineContext from the first LINE_CONTEXT_WIDTH columns of a line_context_query row."""
    if row is None:
        return None
    line = Line(**dict(zip(_LINE_KEYS, row[: len(_LINE_KEYS)], strict=True)))
    language, version = row[len(_LINE_KEYS)], row[len(_LINE_KEYS) + 1]
    return LineContext(line=line, language=language or "en", catalog_version=version)


# Built once, so neither building nor hashing the statement is paid per request.
_LINE_CONTEXT = {
    lock: line_context_query(bindparam("line_msisdn"), lock=lock) for lock in (False, True)
}


def get_line_context(session: Session, msisdn: str, *, lock: bool) -> LineContext | None:
    """A line, its subscriber's language and the catalog version, optionally locked."""
    query = _LINE_CONTEXT[lock]
    row = session.connection().execute(query, {"line_msisdn": msisdn}).one_or_none()
    return line_context_from(row)


def save_line(session: Session, line: Line) -> None:
    """Write back a line read by get_line_context (the caller holds its lock)."""
    values = {key: getattr(line, key) for key in _SAVED_KEYS}
    execute_write(session, _SAVE_LINE, {"line_msisdn": line.msisdn, **values})


def get_customer(session: Session, customer_id: str) -> Customer | None:
    """One registration by id."""
    return session.get(Customer, customer_id)


def find_customer(session: Session, id_type: str, id_number: str) -> Customer | None:
    """The registration holding an identity document, if any."""
    return session.scalars(
        select(Customer).where(Customer.id_type == id_type, Customer.id_number == id_number)
    ).one_or_none()


def add_history(session: Session, entry: LineHistory) -> None:
    """Append one history row."""
    insert_row(session, entry)


def list_history(
    session: Session, msisdn: str, *, before: tuple[datetime, str] | None, limit: int
) -> Sequence[LineHistory]:
    """A line's history, newest first, starting after the `before` (at, id) cursor."""
    query = select(LineHistory).where(LineHistory.msisdn == msisdn)
    if before is not None:
        at, entry_id = before
        query = query.where(
            (LineHistory.at < at) | ((LineHistory.at == at) & (LineHistory.id < entry_id))
        )
    query = query.order_by(LineHistory.at.desc(), LineHistory.id.desc()).limit(limit)
    return session.scalars(query).all()


def count_lines(session: Session) -> int:
    """How many lines the registry holds."""
    return session.scalar(select(func.count()).select_from(Line)) or 0
