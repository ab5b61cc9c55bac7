"""Catalog tables: operators, plans, packages, promotions, payment methods (loaded from a file)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from simrenew.db.base import Base
from simrenew.lines.rules import LifecyclePeriods


class Operator(Base):
    __tablename__ = "operators"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    colour: Mapped[str] = mapped_column(String(7), server_default="#0b5cad")
    ussd_code: Mapped[str] = mapped_column(String(20))
    web_url: Mapped[str] = mapped_column(String(200))
    care_number: Mapped[str] = mapped_column(String(30))
    number_prefixes: Mapped[list[str]] = mapped_column(JSON)
    channel_discounts: Mapped[dict[str, Any]] = mapped_column(JSON)  # channel -> percent string
    updated_at: Mapped[datetime]


class Plan(Base):
    __tablename__ = "plans"

    operator_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grace_days: Mapped[int]
    suspension_days: Mapped[int]
    recycle_days: Mapped[int]
    max_validity_days: Mapped[int]
    reminder_days: Mapped[list[int]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (ForeignKeyConstraint(["operator_code"], ["operators.code"]),)

    def periods(self) -> LifecyclePeriods:
        """The plan's lifecycle periods, as the lifecycle rules take them."""
        return LifecyclePeriods(
            grace_days=self.grace_days,
            suspension_days=self.suspension_days,
            recycle_days=self.recycle_days,
        )


class Package(Base):
    __tablename__ = "packages"

    operator_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The name in each language ({} when the catalog gives only `name`).
    names: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")
    price_fils: Mapped[int]
    credit_fils: Mapped[int]
    validity_days: Mapped[int]
    channels: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        ForeignKeyConstraint(["operator_code", "plan_code"], ["plans.operator_code", "plans.code"]),
    )


class Promotion(Base):
    __tablename__ = "promotions"

    operator_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    bonus_percent: Mapped[int | None]
    discount_fils: Mapped[int | None]
    spend_fils: Mapped[int | None]
    save_fils: Mapped[int | None]
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    packages: Mapped[list[str] | None] = mapped_column(JSON)
    plans: Mapped[list[str] | None] = mapped_column(JSON)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    per_line_limit: Mapped[int | None]
    bonus_validity_days: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (ForeignKeyConstraint(["operator_code"], ["operators.code"]),)


class PaymentMethod(Base):
    __tablename__ = "payment_methods"

    method: Mapped[str] = mapped_column(String(40), primary_key=True)
    gateway: Mapped[str | None] = mapped_column(String(40))
    fee_fixed_fils: Mapped[int]
    fee_percent: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    channels: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)


class CatalogVersion(Base):
    """One row naming the loaded catalog; every load writes a new token.

    Processes cache the catalog and compare this token (read with the line, at no extra round
    trip) to know when to reload it.
    """

    __tablename__ = "catalog_version"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # always "catalog"
    version: Mapped[str] = mapped_column(String(36))
    loaded_at: Mapped[datetime]
