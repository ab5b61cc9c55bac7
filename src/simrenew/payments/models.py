"""Payment tables: a hosted payment per renewal, every event a gateway told us, refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.db.base import Base


class Payment(Base):
    """Money a payer is asked for on a gateway's page, for one renewal of one line."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The reference gateways carry (KNET trackid, Tap reference.transaction) and the last path
    # segment of the payer's redirect URL: random, so a payment page cannot be guessed.
    payment_ref: Mapped[str] = mapped_column(String(40), unique=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    renewal_id: Mapped[str] = mapped_column(String(36), unique=True)
    gateway: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(40))
    amount_fils: Mapped[int]  # what the payer is asked for (fee included)
    fee_fils: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    # created | pending | captured | declined | cancelled | expired | refunded
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    # Why a capture needs a person or a refund: amount_mismatch | uncreditable
    flag: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5))
    gateway_payment_id: Mapped[str | None] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(String(4000))
    captured_fils: Mapped[int | None]  # what the gateway says it took
    refunded_fils: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # past it, a pending payment is asked about, then expired
    captured_at: Mapped[datetime | None]
    browser_returned_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]  # the last status query at the gateway

    __table_args__ = (
        Index("ix_payments_state_expires_at", "state", "expires_at"),
        Index("ix_payments_msisdn", "msisdn"),
        Index("ix_payments_captured_at", "captured_at"),
    )


class PaymentEvent(Base):
    """Something that happened to a payment: created, a callback, a status answer, a refund."""

    __tablename__ = "payment_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(36))
    msisdn: Mapped[str] = mapped_column(String(16))
    gateway: Mapped[str] = mapped_column(String(20))
    # The gateway's own id of the event: a callback sent twice is stored (and acted on) once.
    event_id: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # checkout | callback | inquiry | reconcile...
    outcome: Mapped[str | None] = mapped_column(String(20))
    state_before: Mapped[str] = mapped_column(String(20))
    state_after: Mapped[str] = mapped_column(String(20))
    amount_fils: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("gateway", "event_id"),
        Index("ix_payment_events_payment_id", "payment_id"),
    )


class PaymentRefund(Base):
    """Money given back on a capture; asked before the gateway is called, so a crash in between
    is retried under the same reference and never refunds twice."""

    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(36))
    msisdn: Mapped[str] = mapped_column(String(16))
    refund_ref: Mapped[str] = mapped_column(String(60), unique=True)
    amount_fils: Mapped[int]
    reason: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))  # requested | done | failed
    gateway_refund_id: Mapped[str | None] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_payment_refunds_payment_id", "payment_id"),)
