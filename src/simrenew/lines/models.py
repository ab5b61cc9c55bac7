"""Line registry tables: registered customers, lines and each line's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.db.base import Base


class Customer(Base):
    """A registration: the person (civil ID or passport) a line is registered to."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id_type: Mapped[str] = mapped_column(String(10))  # civil_id | passport
    id_number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    nationality: Mapped[str | None] = mapped_column(String(3))
    language: Mapped[str] = mapped_column(String(2), default="en")
    created_at: Mapped[datetime]

    __table_args__ = (Index("uq_customers_identity", "id_type", "id_number", unique=True),)


class Line(Base):
    """A prepaid line, keyed by its MSISDN so it can be sharded by line."""

    __tablename__ = "lines"

    msisdn: Mapped[str] = mapped_column(String(16), primary_key=True)
    iccid: Mapped[str | None] = mapped_column(String(22), unique=True)
    operator_code: Mapped[str] = mapped_column(String(32))
    plan_code: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    # The state last recorded (by import, renewal or sweep); callers see the state the dates
    # give at that instant (lines.rules.state_at), which may be ahead of this.
    state: Mapped[str] = mapped_column(String(10))
    state_since: Mapped[datetime]
    valid_until: Mapped[datetime]
    balance_fils: Mapped[int] = mapped_column(default=0)  # cached: paid + bonus == ledger sum
    paid_fils: Mapped[int] = mapped_column(default=0)
    bonus_fils: Mapped[int] = mapped_column(default=0)
    bonus_expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(["operator_code", "plan_code"], ["plans.operator_code", "plans.code"]),
        CheckConstraint("paid_fils >= 0", name="paid_not_negative"),
        CheckConstraint("bonus_fils >= 0", name="bonus_not_negative"),
        CheckConstraint("balance_fils = paid_fils + bonus_fils", name="balance_is_buckets"),
        Index("ix_lines_valid_until", "valid_until"),
        Index("ix_lines_customer_id", "customer_id"),
    )


class LineHistory(Base):
    """One row per state change or notable event of a line."""

    __tablename__ = "line_history"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    msisdn: Mapped[str] = mapped_column(ForeignKey("lines.msisdn"))
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(20))  # import | expiry | renewal | reactivation
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    renewal_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_line_history_msisdn_at", "msisdn", "at"),)


class PooledNumber(Base):
    """A recycled number resting in the pool until its quarantine ends."""

    __tablename__ = "number_pool"

    msisdn: Mapped[str] = mapped_column(String(16), primary_key=True)
    operator_code: Mapped[str] = mapped_column(String(32))
    recycled_at: Mapped[datetime]
    available_at: Mapped[datetime]  # recycled_at + the plan's recycle_days
    reused_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_number_pool_available_at", "available_at"),)
