"""Which lines have something due at an instant: the sweep's queries.

A line is due when the dates give it a later state than the recorded one, or a reminder or a
recycle warning is due whose SMS is not queued yet. The plans' periods are turned into instants
in Python, one set of conditions per plan, so the SQL compares columns with constants on SQLite
and PostgreSQL alike; the queued-SMS test probes the outbox's unique dedupe key index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import PlanTerms
from simrenew.lines import notices
from simrenew.lines.models import Customer, Line
from simrenew.lines.rules import LineState
from simrenew.notify.models import OutboxMessage

_LINES: Table = Line.__table__  # type: ignore[assignment]  # a mapped class has one table
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
_READ: tuple[str, ...] = ("msisdn", "operator_code", "plan_code", "state", "valid_until")
_READ += ("paid_fils", "bonus_fils", "bonus_expires_at")


@dataclass(slots=True)
class DueLine:
    """A line as the sweep reads it: plain values, no ORM bookkeeping for each of millions."""

    msisdn: str
    operator_code: str
    plan_code: str
    state: str
    valid_until: datetime
    paid_fils: int
    bonus_fils: int
    bonus_expires_at: datetime | None
    language: str
    balance_fils: int = 0  # paid + bonus, as the ledger keeps it (set by of())

    @classmethod
    def of(cls, row: Sequence[Any]) -> DueLine:
        """From a row of the lines' columns the sweep reads and the subscriber's language."""
        msisdn, operator_code, plan_code, state, valid_until, paid, bonus, expires, language = row
        return cls(
            msisdn,
            operator_code,
            plan_code,
            state,
            valid_until,
            paid,
            bonus,
            expires,
            language or "en",  # an unregistered line gets English
            paid + bonus,
        )


def _no_jit(session: Session) -> None:
    # The per-plan conditions make the planner's cost estimate large, so PostgreSQL would
    # JIT-compile every batch's query: about a second of compiling for a query that then runs
    # in milliseconds (measured by bench/sweep.py).
    session.connection().exec_driver_sql("SET LOCAL jit = off")


def lock_due_lines(
    session: Session,
    plans: dict[tuple[str, str], PlanTerms],
    *,
    now: datetime,
    after: str,
    limit: int,
) -> list[DueLine]:
    """Lock and read up to `limit` due lines after MSISDN `after`, in MSISDN order."""
    dialect = session.get_bind().dialect.name
    # The language as a subquery, not a join: looked up only for the lines returned, by key.
    language = (
        select(Customer.language).where(Customer.id == _LINES.c.customer_id).scalar_subquery()
    )
    query = (
        select(*(_LINES.c[key] for key in _READ), language)
        .where(_LINES.c.msisdn > after, due_clause(plans, now, dialect))
        .order_by(_LINES.c.msisdn)
        .limit(limit)
    )
    if dialect != "postgresql":
        return [DueLine.of(row) for row in session.connection().execute(query)]
    _no_jit(session)
    # Lines another sweeper or a renewal holds are skipped, not waited for: they are being
    # handled, and the next sweep sees whatever is still due on them.
    query = query.with_for_update(of=_LINES, skip_locked=True)
    connection = session.connection()
    # A batch reads the lines' key in order from `after` and stops at `limit` due lines. When
    # the statistics promise few due lines past `after`, the planner prefers collecting all of
    # them by end date and sorting: a read of the rest of the table for every batch (measured
    # at 10x slower by bench/sweep.py). No sort, then: the key's order it is.
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    lines = [DueLine.of(row) for row in connection.execute(query)]
    connection.exec_driver_sql("RESET enable_sort")
    return lines


def count_due(session: Session, plans: dict[tuple[str, str], PlanTerms], *, now: datetime) -> int:
    """How many lines have something due at `now`."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _no_jit(session)
    query = select(func.count()).select_from(_LINES).where(due_clause(plans, now, dialect))
    return session.scalar(query) or 0


def _key_missing(key: ColumnElement[str]) -> ColumnElement[bool]:
    """No outbox row has this dedupe key: one probe of the key's unique index per line.

    OFFSET 0 keeps PostgreSQL from turning the test into a "hashed SubPlan", which reads and
    hashes every key in the outbox (millions of rows kept for months) once per batch.
    """
    return ~select(_OUTBOX.c.id).where(_OUTBOX.c.dedupe_key == key).offset(0).exists()


def due_clause(
    plans: dict[tuple[str, str], PlanTerms], now: datetime, dialect: str
) -> ColumnElement[bool]:
    """Lines with a transition, a reminder or a recycle warning due at `now`."""
    c = _LINES.c
    prefix = notices.key_prefix_sql(c.msisdn, c.valid_until, dialect)
    branches = []
    for (operator_code, plan_code), plan in plans.items():
        periods = plan.periods
        # Grace is over once valid_until + grace_days <= now, i.e. valid_until <= grace_over.
        grace_over = now - timedelta(days=periods.grace_days)
        suspension_over = grace_over - timedelta(days=periods.suspension_days)
        due = [
            and_(c.state == LineState.ACTIVE.value, c.valid_until <= now),
            and_(c.state == LineState.GRACE.value, c.valid_until <= grace_over),
            and_(c.state == LineState.SUSPENDED.value, c.valid_until <= suspension_over),
        ]
        if plan.reminder_days:
            # The nearest point reached: the smallest d with valid_until <= now + d days.
            point = case(
                *(
                    (c.valid_until <= now + timedelta(days=d), literal(str(d), String))
                    for d in plan.reminder_days
                ),
                else_=literal("", String),
            )
            horizon = now + timedelta(days=plan.reminder_days[-1])
            missing = _key_missing("reminder:" + prefix + ":" + point)
            active = c.state == LineState.ACTIVE.value
            due.append(and_(active, c.valid_until > now, c.valid_until <= horizon, missing))
        if periods.suspension_days > notices.RECYCLE_WARNING_DAYS:
            warn_from = suspension_over + timedelta(days=notices.RECYCLE_WARNING_DAYS)
            missing = _key_missing("recycle_warning:" + prefix)
            suspended = c.state == LineState.SUSPENDED.value
            due.append(and_(suspended, c.valid_until <= warn_from, missing))
        same_plan = and_(c.operator_code == operator_code, c.plan_code == plan_code)
        branches.append(and_(same_plan, or_(*due)))
    # Nothing is due on a line whose end is beyond every plan's first reminder, or on a
    # recycled line: two cheap comparisons that spare most lines the per-plan conditions.
    furthest = max((max(p.reminder_days, default=0) for p in plans.values()), default=0)
    horizon = now + timedelta(days=furthest)
    return and_(c.valid_until <= horizon, c.state != LineState.RECYCLED.value, or_(*branches))
