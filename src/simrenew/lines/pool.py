"""The number pool: recycled numbers resting in quarantine before they may be issued again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select

from simrenew.clock import utc
from simrenew.db.bulk import insert_rows
from simrenew.db.session import UnitOfWork
from simrenew.lines.models import PooledNumber
from simrenew.lines.rules import LifecyclePeriods


def _pool_table() -> Table:
    table = PooledNumber.__table__
    assert isinstance(table, Table)  # noqa: S101 - a mapped class has one table
    return table


_POOL = _pool_table()


def pool_row(
    msisdn: str, operator_code: str, recycled_at: datetime, periods: LifecyclePeriods
) -> dict[str, Any]:
    """The pool entry of a number recycled at `recycled_at`, quarantined recycle_days."""
    return {
        "msisdn": msisdn,
        "operator_code": operator_code,
        "recycled_at": recycled_at,
        "available_at": utc(recycled_at) + timedelta(days=periods.recycle_days),
        "reused_at": None,
    }


def add_to_pool(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Put recycled numbers into the pool in one statement (a number back again starts over)."""
    # A number issued again from the pool and later recycled starts a new quarantine.
    insert_rows(connection, _POOL, rows, replace_duplicate="msisdn")


@dataclass(frozen=True)
class PooledEntry:
    """One number in the pool and whether its quarantine is over at the time asked."""

    msisdn: str
    operator_code: str
    recycled_at: datetime
    available_at: datetime
    available: bool


@dataclass(frozen=True)
class PoolListing:
    """A page of the pool and how many numbers matched in all."""

    entries: list[PooledEntry]
    total: int


def list_pool(
    uow: UnitOfWork,
    *,
    now: datetime,
    available_only: bool = False,
    operator: str | None = None,
    limit: int = 1000,
) -> PoolListing:
    """Numbers in the pool not yet issued again, soonest available first."""
    conditions: list[ColumnElement[bool]] = [PooledNumber.reused_at.is_(None)]
    if available_only:
        conditions.append(PooledNumber.available_at <= now)
    if operator is not None:
        conditions.append(PooledNumber.operator_code == operator)
    with uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(_POOL).where(*conditions)) or 0
        query = (
            select(PooledNumber)
            .where(*conditions)
            .order_by(PooledNumber.available_at, PooledNumber.msisdn)
            .limit(limit)
        )
        entries = [
            PooledEntry(
                msisdn=row.msisdn,
                operator_code=row.operator_code,
                recycled_at=row.recycled_at,
                available_at=row.available_at,
                available=utc(row.available_at) <= utc(now),
            )
            for row in session.scalars(query)
        ]
    return PoolListing(entries, total)
