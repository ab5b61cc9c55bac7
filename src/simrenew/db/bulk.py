"""Many rows in one statement: unnest() arrays on PostgreSQL, executemany elsewhere.

SQLAlchemy's executemany INSERT sends multi-row VALUES statements of up to a thousand rows,
whose text psycopg must scan again for every page: for a sweep of a hundred thousand lines that
scanning cost more than the database's work. On PostgreSQL these helpers send one column per
array parameter instead (`INSERT ... SELECT FROM unnest(...)`, `UPDATE ... FROM unnest(...)`), so
the statement text stays small and fixed whatever the number of rows. Other databases (SQLite)
get plain executemany, which is fast there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, bindparam, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect


def _sql_type(table: Table, column: str, dialect: Dialect) -> str:
    """The PostgreSQL type a column's values travel in (JSON travels as text)."""
    column_type = table.c[column].type
    if isinstance(column_type, JSON):
        return "text"
    return str(column_type.compile(dialect=dialect))


def _dumped(table: Table, column: str, values: list[Any]) -> list[Any]:
    """The values as they travel: JSON serialised (it is cast back in SQL), others as they are."""
    if isinstance(table.c[column].type, JSON):
        return [None if value is None else orjson.dumps(value).decode() for value in values]
    return values


def _split(
    table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str], keep: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split columns into arrays (one value per row) and constants (one value for every row).

    A column with one value in every row (a batch's instant, state or lane) travels once as a
    plain parameter: psycopg dumps array elements one by one in Python, so each constant
    column left as an array costs a Python call per row. `keep` stays an array (the key).
    """
    arrays: dict[str, Any] = {}
    constants: dict[str, Any] = {}
    for column in columns:
        values = [row[column] for row in rows]
        first = values[0]
        if column != keep and values.count(first) == len(values):
            constants[column] = _dumped(table, column, [first])[0]
        else:
            arrays[column] = _dumped(table, column, values)
    return arrays, constants


def _value(table: Table, column: str, dialect: Dialect, constants: dict[str, Any]) -> str:
    """How a column's value appears in the SELECT list: the unnest() column or a constant."""
    is_json = isinstance(table.c[column].type, JSON)
    if column in constants:
        return f"%({column})s::{'json' if is_json else _sql_type(table, column, dialect)}"
    return f"t.{column}::json" if is_json else f"t.{column}"


def _unnest(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    # %(name)b: psycopg sends the array in binary, not as escaped text.
    arrays = ", ".join(f"%({c})b::{_sql_type(table, c, dialect)}[]" for c in columns)
    return f"unnest({arrays}) AS t({', '.join(columns)})"


def _execute_binary(
    connection: Connection, sql: str, params: dict[str, Any], *, fetch: str | None
) -> list[Any]:
    """Run on psycopg's own cursor, in the connection's transaction (binary parameters).

    Text-format arrays escape every element with a regular expression, which for a batch of
    message bodies cost more than the insert; binary arrays are copied as they are. SQLAlchemy's
    exec_driver_sql would do, but it speaks of the placeholders psycopg needs for that.
    """
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if fetch is not None else []
    finally:
        cursor.close()


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_duplicate: str | None = None,
    replace_duplicate: str | None = None,
    returning: str | None = None,
) -> list[Any]:
    """Insert rows (dicts with the same keys).

    A row whose `skip_duplicate` key exists is skipped; one whose `replace_duplicate` key
    exists overwrites the other columns of the row found. Returns the `returning` column of
    the rows written (none when not asked for).
    """
    if not rows:
        return []
    columns = list(rows[0])
    if connection.dialect.name != "postgresql":
        insert = sqlite.insert(table)
        if skip_duplicate is not None:
            insert = insert.on_conflict_do_nothing(index_elements=[table.c[skip_duplicate]])
        if replace_duplicate is not None:
            insert = insert.on_conflict_do_update(
                index_elements=[table.c[replace_duplicate]],
                set_={c: insert.excluded[c] for c in columns if c != replace_duplicate},
            )
        if returning is None:
            connection.execute(insert, list(rows))
            return []
        return list(connection.execute(insert.returning(table.c[returning]), list(rows)).scalars())
    arrays, constants = _split(table, rows, columns, keep=columns[0])
    dialect = connection.dialect
    selected = ", ".join(_value(table, column, dialect, constants) for column in columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names from the schema
        f"SELECT {selected} FROM {_unnest(table, list(arrays), dialect)}"
    )
    if skip_duplicate is not None:
        sql += f" ON CONFLICT ({skip_duplicate}) DO NOTHING"
    if replace_duplicate is not None:
        replaced = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != replace_duplicate)
        sql += f" ON CONFLICT ({replace_duplicate}) DO UPDATE SET {replaced}"
    if returning is not None:
        sql += f" RETURNING {returning}"
    found = _execute_binary(connection, sql, arrays | constants, fetch=returning)
    return [row[0] for row in found]


def update_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: str,
    increment: str | None = None,
) -> None:
    """Update rows found by their `key` column to the other values given (same keys each).

    `increment` names a counter column raised by one in each row updated (a version).
    """
    if not rows:
        return
    columns = [column for column in rows[0] if column != key]
    if connection.dialect.name != "postgresql":
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"row_{key}"))
            .values({column: bindparam(f"row_{column}") for column in columns})
        )
        if increment is not None:
            statement = statement.values({increment: table.c[increment] + 1})
        connection.execute(
            statement, [{f"row_{name}": value for name, value in row.items()} for row in rows]
        )
        return
    names = [key, *columns]
    arrays, constants = _split(table, rows, names, keep=key)
    dialect = connection.dialect
    assignments = [f"{column} = {_value(table, column, dialect, constants)}" for column in columns]
    if increment is not None:
        assignments.append(f"{increment} = {table.name}.{increment} + 1")
    sql = (
        f"UPDATE {table.name} SET {', '.join(assignments)} "  # noqa: S608 - schema names
        f"FROM {_unnest(table, list(arrays), dialect)} WHERE {table.name}.{key} = t.{key}"
    )
    _execute_binary(connection, sql, arrays | constants, fetch=None)
