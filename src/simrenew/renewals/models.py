"""Renewal tables: quotes, renewals, the ledger, receipts and promotion uses; all keyed by line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.db.base import Base


class Quote(Base):
    """A priced offer for one line and package, honoured until it expires."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    package_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    payment_method: Mapped[str | None] = mapped_column(String(40))
    price_fils: Mapped[int]
    discount_fils: Mapped[int]
    bonus_fils: Mapped[int]
    fee_fils: Mapped[int]
    total_fils: Mapped[int]
    credit_fils: Mapped[int]
    new_valid_until: Mapped[datetime]
    bonus_expires_at: Mapped[datetime | None]
    promotions: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_quotes_msisdn", "msisdn"),)


class Renewal(Base):
    """A renewal of one line: what was asked, what it cost, and what was credited."""

    __tablename__ = "renewals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    idempotency_scope: Mapped[str] = mapped_column(String(64))  # who sent the key
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    operator_code: Mapped[str] = mapped_column(String(32))
    plan_code: Mapped[str] = mapped_column(String(32))
    package_code: Mapped[str] = mapped_column(String(32))
    quote_id: Mapped[str | None] = mapped_column(String(36))
    # renewal | reactivation (a suspended line restored after its holder's identity was checked)
    kind: Mapped[str] = mapped_column(String(20), server_default="renewal")
    state: Mapped[str] = mapped_column(
        String(20)
    )  # awaiting_payment | credited | failed | refunded
    payment_method: Mapped[str] = mapped_column(String(40))
    payment_state: Mapped[str] = mapped_column(String(20))
    payment_ref: Mapped[str | None] = mapped_column(String(100))
    price_fils: Mapped[int]
    discount_fils: Mapped[int]
    bonus_fils: Mapped[int]
    fee_fils: Mapped[int]
    total_fils: Mapped[int]
    credit_fils: Mapped[int]
    promotions: Mapped[list[str]] = mapped_column(JSON)
    valid_until_before: Mapped[datetime]
    valid_until_after: Mapped[datetime]
    balance_after_fils: Mapped[int | None]
    receipt_no: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]
    credited_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("idempotency_scope", "idempotency_key"),
        Index("ix_renewals_msisdn_created_at", "msisdn", "created_at"),
    )


class LedgerEntry(Base):
    """One change of one balance bucket of one line; the line's balance is their sum."""

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    at: Mapped[datetime]
    bucket: Mapped[str] = mapped_column(String(10))  # paid | bonus
    kind: Mapped[str] = mapped_column(String(30))
    amount_fils: Mapped[int]  # signed: credits positive, debits negative
    balance_after_fils: Mapped[int]
    renewal_id: Mapped[str | None] = mapped_column(String(36))
    charge_id: Mapped[str | None] = mapped_column(String(100))
    charge_kind: Mapped[str | None] = mapped_column(String(30))

    __table_args__ = (
        Index("ix_ledger_entries_msisdn_at", "msisdn", "at"),
        Index("ix_ledger_entries_renewal_id", "renewal_id"),
        # A network charge is debited once per line, however often it is reported; it may
        # touch both buckets, hence the bucket in the key.
        UniqueConstraint("msisdn", "charge_id", "bucket"),
    )


class Receipt(Base):
    """The receipt of a credited renewal, verifiable later by its code."""

    __tablename__ = "receipts"

    receipt_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    renewal_id: Mapped[str] = mapped_column(String(36), unique=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    issued_at: Mapped[datetime]
    verification_code: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_receipts_msisdn", "msisdn"),)


class PromotionUse(Base):
    """A promotion granted to a line by a renewal (for per-line limits)."""

    __tablename__ = "promotion_uses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    operator_code: Mapped[str] = mapped_column(String(32))
    promotion_code: Mapped[str] = mapped_column(String(32))
    renewal_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_promotion_uses_msisdn_code", "msisdn", "promotion_code"),)
