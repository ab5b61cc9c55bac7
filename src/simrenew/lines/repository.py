"""Every query of the line registry, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simrenew.lines.models import Customer, Line, LineHistory


def get_line(session: Session, msisdn: str) -> Line | None:
    """One line by E.164 MSISDN, without locking."""
    return session.get(Line, msisdn)


def lock_line(session: Session, msisdn: str) -> Line | None:
    """One line, locked for this transaction (row lock on PostgreSQL; SQLite locks the file)."""
    return session.scalars(
        select(Line)
        .where(Line.msisdn == msisdn)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


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
    session.add(entry)


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


def list_msisdns(session: Session) -> Sequence[str]:
    """Every line's MSISDN (for the audit)."""
    return session.scalars(select(Line.msisdn).order_by(Line.msisdn)).all()


def count_lines(session: Session) -> int:
    """How many lines the registry holds."""
    return session.scalar(select(func.count()).select_from(Line)) or 0
