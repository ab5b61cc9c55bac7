"""The outbox: every SMS is a row written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.db.base import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str | None] = mapped_column(String(16))  # the line it concerns
    recipient: Mapped[str] = mapped_column(String(16))
    lane: Mapped[str] = mapped_column(String(10))  # priority | bulk
    template: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    # pending | sending (claimed by a worker until next_attempt_at) | sent | dead | cancelled
    # (a reminder or expiry notice a renewal made untrue before it was sent)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    transport: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # What the SMS gateway said afterwards (delivery reports).
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    delivery_state: Mapped[str | None] = mapped_column(String(20))
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_state_lane_next", "state", "lane", "next_attempt_at"),
        Index("ix_outbox_recipient_created", "recipient", "created_at"),
    )
