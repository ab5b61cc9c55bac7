"""Outbox use cases: queue an SMS inside the caller's transaction; drain it through a transport."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simrenew.clock import Clock
from simrenew.db.base import insert_now
from simrenew.db.session import UnitOfWork
from simrenew.ids import new_id
from simrenew.notify.models import OutboxMessage
from simrenew.notify.sms.base import SmsTransport
from simrenew.notify.templates import render


def queue_sms(
    session: Session,
    *,
    msisdn: str,
    template: str,
    language: str,
    params: dict[str, Any],
    now: datetime,
    lane: str = "bulk",
) -> OutboxMessage:
    """Write one SMS into the outbox inside the caller's transaction (sent after commit)."""
    message = OutboxMessage(
        id=new_id(),
        msisdn=msisdn,
        recipient=msisdn,
        lane=lane,
        template=template,
        language=language,
        params=params,
        body=render(template, language, params),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    insert_now(session, message)
    return message


def drain_outbox(
    uow: UnitOfWork, transport: SmsTransport, *, clock: Clock, batch: int = 200
) -> int:
    """Send one batch of due messages, priority lane first; return how many were sent."""
    now = clock.now()
    with uow:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.lane.desc(), OutboxMessage.created_at)  # "priority" > "bulk"
            .limit(batch)
        )
        if uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        messages = uow.session.scalars(query).all()
        sent = 0
        for message in messages:
            message.attempts += 1
            try:
                transport.send(message.recipient, message.body, language=message.language)
            except Exception as error:  # a transport failure is retried later, never lost
                message.last_error = str(error)[:500]
                message.next_attempt_at = now + timedelta(seconds=min(3600, 2**message.attempts))
                continue
            message.state = "sent"
            message.sent_at = now
            message.transport = transport.name
            sent += 1
        uow.commit()
        return sent


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
