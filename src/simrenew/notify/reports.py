"""What the outbox holds, for people: the /dev/sms viewer and `simrenew outbox`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.notify import repository
from simrenew.notify.models import OutboxMessage


def list_sent_sms(uow: UnitOfWork, *, to: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """SMS messages, newest first, optionally to one number (the dev SMS viewer)."""
    with uow:
        query = select(OutboxMessage).order_by(
            OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
        )
        if to is not None:
            query = query.where(OutboxMessage.recipient == to)
        return [
            {
                "to": m.recipient,
                "text": m.body,
                "language": m.language,
                "created_at": m.created_at,
                "state": m.state,
                "template": m.template,
            }
            for m in uow.session.scalars(query.limit(limit))
        ]


def outbox_counts(uow: UnitOfWork) -> dict[str, int]:
    """How many messages are in each state."""
    with uow:
        rows = uow.session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        ).all()
        return {state: count for state, count in rows}


@dataclass(frozen=True)
class OutboxReport:
    """The outbox at a glance: counts by state and lane, the backlog, the dead letters."""

    counts: dict[tuple[str, str], int]
    oldest_due_seconds: float | None  # how long the longest-waiting due message has waited
    held: int  # pending but not due yet (quiet hours, retry backoff)
    dead: list[dict[str, Any]]


def outbox_report(uow: UnitOfWork, *, clock: Clock, dead_limit: int = 50) -> OutboxReport:
    """Counts by state and lane, the oldest due message's wait, held messages, dead letters."""
    now = clock.now()
    with uow:
        session = uow.session
        oldest = repository.oldest_due(session, now=now)
        dead = [
            {
                "id": m.id,
                "recipient": m.recipient,
                "template": m.template,
                "lane": m.lane,
                "attempts": m.attempts,
                "created_at": m.created_at,
                "last_error": m.last_error,
            }
            for m in repository.list_dead(session, limit=dead_limit)
        ]
        return OutboxReport(
            counts=repository.count_by_state_and_lane(session),
            oldest_due_seconds=(now - oldest).total_seconds() if oldest else None,
            held=repository.count_held(session, now=now),
            dead=dead,
        )
