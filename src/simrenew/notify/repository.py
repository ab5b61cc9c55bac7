"""Every query of the outbox: due rows to claim, counts for operators, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simrenew.notify.models import OutboxMessage

_CLAIM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.recipient,
    OutboxMessage.body,
    OutboxMessage.language,
    OutboxMessage.lane,
    OutboxMessage.attempts,
)


def lock_due(
    session: Session, *, state: str, lane: str, now: datetime, limit: int
) -> Sequence[Any]:
    """Due rows of one state and lane, oldest due first, locked (skipping locked ones) on PG."""
    # One (state, lane) per query: an index range scan in next_attempt_at order, however many
    # rows of other lanes wait behind.
    query = (
        select(*_CLAIM_COLUMNS)
        .where(
            OutboxMessage.state == state,
            OutboxMessage.lane == lane,
            OutboxMessage.next_attempt_at <= now,
        )
        # Time-ordered ids break ties: messages due at the same instant go out as queued.
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two drainers take disjoint rows instead of waiting on each other.
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


def lock_by_external_id(session: Session, external_id: str) -> OutboxMessage | None:
    """The message a delivery report names: by the gateway's id, or by our own id."""
    query = select(OutboxMessage).where(
        (OutboxMessage.external_id == external_id) | (OutboxMessage.id == external_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # concurrent reports for one row apply in turn
    return session.scalars(query.limit(1)).first()


def count_by_state_and_lane(session: Session) -> dict[tuple[str, str], int]:
    """How many messages are in each (state, lane)."""
    rows = session.execute(
        select(OutboxMessage.state, OutboxMessage.lane, func.count()).group_by(
            OutboxMessage.state, OutboxMessage.lane
        )
    ).all()
    return {(state, lane): count for state, lane, count in rows}


def oldest_due(session: Session, *, now: datetime) -> datetime | None:
    """Since when the longest-waiting due message has been due (None: nothing is due)."""
    firsts = [
        # Per lane: each is the first entry of an index range, not a scan of the backlog.
        session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.state == "pending",
                OutboxMessage.lane == lane,
                OutboxMessage.next_attempt_at <= now,
            )
        )
        for lane in ("priority", "bulk")
    ]
    return min((first for first in firsts if first is not None), default=None)


def count_held(session: Session, *, now: datetime) -> int:
    """Pending messages not due yet: held for the end of quiet hours, or waiting to retry."""
    return (
        session.scalar(
            select(func.count()).where(
                OutboxMessage.state == "pending", OutboxMessage.next_attempt_at > now
            )
        )
        or 0
    )


def list_dead(session: Session, *, limit: int) -> Sequence[OutboxMessage]:
    """Dead letters, oldest first."""
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "dead")
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    ).all()
