"""A transaction's writes held back and sent together at commit: one statement on PostgreSQL.

A renewal writes about seven rows (the line, its history, ledger, renewal, receipt, SMS, and the
withdrawal of unsent notices) and reads none of them back before it commits. Sent one by one,
each costs a round trip and, in SQLAlchemy and psycopg's Python, more than the database spends
on it. A unit of work that calls `defer_writes()` collects them instead; at commit they go to
PostgreSQL as ONE statement (a data-modifying WITH, one sub-statement per write, in order) and
to SQLite one by one, as before. The domain code is the same either way: it calls
`insert_row` and `execute_write`, which write at once when nothing is being deferred.

Deferral suits writes that nothing in the same transaction reads afterwards: the sub-statements
of one PostgreSQL statement all see the database as it was before it, not each other's rows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from sqlalchemy import JSON, Connection, UpdateBase
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_KEY = "simrenew.deferred_writes"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_PYFORMAT = re.compile(r"%[%s]")  # a placeholder, or an escaped percent sign


@dataclass(frozen=True)
class _Write:
    statement: UpdateBase  # an INSERT of one row, or an UPDATE/DELETE with its parameters
    params: dict[str, Any]


@dataclass
class DeferredWrites:
    """The writes a transaction has made so far and not yet sent, in order."""

    writes: list[_Write] = field(default_factory=list)

    def send(self, connection: Connection) -> None:
        """Send every held write on the transaction's connection, then forget them."""
        writes, self.writes = self.writes, []
        if not writes:
            return
        if connection.dialect.name != "postgresql" or len(writes) == 1:
            for write in writes:
                connection.execute(write.statement, write.params)
            return
        sql, params = _one_statement(writes, connection.dialect)
        # Through SQLAlchemy: its events see the statement, a lost race surfaces as
        # IntegrityError (and is retried), a dropped connection is invalidated. On a raw cursor:
        # psycopg's usual cursor re-parses every statement over 4 KB or 50 parameters for its
        # placeholders, on each execution, which cost a renewal more than building its rows.
        driver = connection.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            raise RuntimeError("held writes are sent to PostgreSQL through psycopg 3 only")
        usual = driver.cursor_factory
        driver.cursor_factory = psycopg.RawCursor
        try:
            connection.exec_driver_sql(sql, params)
        finally:
            driver.cursor_factory = usual


def defer_writes(session: Session) -> DeferredWrites:
    """From now on, hold this session's `insert_row` and `execute_write` calls until sent."""
    held = session.info.get(_KEY)
    if held is None:
        held = session.info[_KEY] = DeferredWrites()
    return held


def deferred_writes(session: Session) -> DeferredWrites | None:
    """The writes this session is holding back, if it defers them."""
    return session.info.get(_KEY)


def execute_write(session: Session, statement: UpdateBase, params: dict[str, Any]) -> None:
    """Run an INSERT/UPDATE/DELETE in the session's transaction: now, or at commit if deferred.

    Not session.execute(): that would autoflush the session's dirty objects before every write.
    """
    held = deferred_writes(session)
    if held is None:
        session.connection().execute(statement, params)
    else:
        held.writes.append(_Write(statement, params))


# --------------------------------------------------------------------------------------------
# PostgreSQL: the held writes as one statement


@dataclass(frozen=True)
class _Compiled:
    """A write's SQL for PostgreSQL, with the parameters it fixes itself and its JSON ones."""

    sql: str
    names: tuple[str, ...]  # the parameter behind each %s of `sql`, in order
    fixed: dict[str, Any]
    json: frozenset[str]
    # Python-side defaults SQLAlchemy would compute per row for columns left out (details=dict).
    defaults: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


_Shape = tuple[UpdateBase, tuple[str, ...]]  # a statement and the parameter names given
_compiled: dict[_Shape, _Compiled] = {}
_statements: dict[tuple[_Shape, ...], str] = {}


def _compile(shape: _Shape, dialect: Dialect) -> _Compiled:
    """A statement's SQL, compiled once per set of parameter names (statements are constants)."""
    found = _compiled.get(shape)
    if found is not None:
        return found
    statement, keys = shape
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    binds = compiled.binds
    fixed = {
        name: value
        for name, value in compiled.params.items()
        if name not in keys and value is not None
    }

    def expand(match: re.Match[str]) -> str:
        # An IN list of constants (`template IN (...)`): one placeholder per value.
        name = match.group(1)
        values = list(binds[name].value or ())
        names = [f"{name}_{n}" for n in range(1, len(values) + 1)]
        fixed.update(zip(names, values, strict=True))
        return ", ".join(f"%({n})s" for n in names)

    defaults: dict[str, Callable[[Any], Any]] = {}
    for column in getattr(compiled, "insert_prefetch", ()):
        default = column.default
        if default is not None and default.is_callable:
            defaults[column.key] = default.arg  # SQLAlchemy's wrapper: takes a context
        elif default is not None and default.is_scalar:
            fixed[column.key] = default.arg

    sql = _POSTCOMPILE.sub(expand, compiled.string)
    json = frozenset(name for name, bind in binds.items() if isinstance(bind.type, JSON))
    names = tuple(_PLACEHOLDER.findall(sql))
    found = _compiled[shape] = _Compiled(_PLACEHOLDER.sub("%s", sql), names, fixed, json, defaults)
    return found


def _one_statement(writes: list[_Write], dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """`WITH w0 AS (...), w1 AS (...) <last write>`, with positional parameters in order.

    Positional, not named: the names of two writes would clash, and renaming them costs. The
    placeholders are PostgreSQL's own ($1, $2, ...), for psycopg's raw cursor.
    """
    shapes = tuple((w.statement, tuple(sorted(w.params))) for w in writes)
    parts = [_compile(shape, dialect) for shape in shapes]
    sql = _statements.get(shapes)
    if sql is None:
        with_list = ", ".join(f"w{n} AS ({part.sql})" for n, part in enumerate(parts[:-1]))
        sql = _statements[shapes] = _numbered(f"WITH {with_list} {parts[-1].sql}")
    params: list[Any] = []
    for write, part in zip(writes, parts, strict=True):
        values = part.fixed | write.params
        for name, default in part.defaults.items():
            if name not in write.params:
                values[name] = default(None)
        for name in part.names:
            value = values.get(name)
            if value is not None and name in part.json:
                value = orjson.dumps(value).decode()
            params.append(value)
    return sql, tuple(params)


def _numbered(sql: str) -> str:
    """psycopg's placeholders (%s, and %% for a percent sign) as PostgreSQL's: $1, $2, ..."""
    numbers = itertools.count(1)
    return _PYFORMAT.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)
