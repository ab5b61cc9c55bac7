"""The catalog file's content, typed: what catalog.rules reads and catalog.service stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class PackageSpec:
    code: str
    name: str
    price_fils: int
    validity_days: int
    channels: tuple[str, ...]
    credit_fils: int  # what the line is credited; the file's default is the price
    names: dict[str, str] = field(default_factory=dict)  # en/ar/zh, for subscribers' pages


@dataclass(frozen=True)
class PlanSpec:
    code: str
    name: str
    grace_days: int
    suspension_days: int
    recycle_days: int
    max_validity_days: int
    reminder_days: tuple[int, ...]  # distinct, sorted descending
    packages: tuple[PackageSpec, ...]


@dataclass(frozen=True)
class PromotionSpec:
    code: str
    name: str
    kind: str
    bonus_percent: int | None
    discount_fils: int | None
    spend_fils: int | None
    save_fils: int | None
    channels: tuple[str, ...] | None  # None = every channel
    packages: tuple[str, ...] | None  # None = every package of the operator
    plans: tuple[str, ...] | None  # None = every plan of the operator
    starts_at: datetime | None  # aware UTC, inclusive
    ends_at: datetime | None  # aware UTC, exclusive
    per_line_limit: int | None
    bonus_validity_days: int


@dataclass(frozen=True)
class OperatorSpec:
    code: str
    name: str
    names: dict[str, str]  # {"en": ..., "ar": ..., "zh": ...}
    colour: str  # the brand colour of the operator's pages, "#rrggbb"
    ussd_code: str
    web_url: str
    care_number: str
    number_prefixes: tuple[str, ...]
    channel_discounts: dict[str, Decimal]  # channel -> percent
    plans: tuple[PlanSpec, ...]
    promotions: tuple[PromotionSpec, ...]


@dataclass(frozen=True)
class PaymentMethodSpec:
    method: str
    gateway: str | None
    fee_fixed_fils: int
    fee_percent: Decimal
    channels: tuple[str, ...]


@dataclass(frozen=True)
class CatalogSpec:
    operators: tuple[OperatorSpec, ...]
    payment_methods: tuple[PaymentMethodSpec, ...]
