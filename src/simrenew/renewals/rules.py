"""Pure pricing and balance rules: what a renewal costs and credits, how a debit is split.

Promotions: at most one discount promotion (the largest saving) and at most one bonus promotion
(the largest bonus) apply to a renewal, on top of the channel's own discount. The payer pays
price - discounts + fee; the line is credited the package's credit, and the bonus goes to its own
bucket with its own expiry. The fee of a third-party method is never credited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simrenew.errors import InsufficientBalance, PackageNotAvailable
from simrenew.lines.rules import extend_validity
from simrenew.money import percent_of

# How long a promotion's bonus lasts when the catalog does not say.
BONUS_VALIDITY_DAYS = 30


@dataclass(frozen=True)
class PackageTerms:
    code: str
    price_fils: int
    credit_fils: int
    validity_days: int
    channels: tuple[str, ...]


@dataclass(frozen=True)
class PromotionTerms:
    code: str
    kind: str  # bonus_percent | double_credit | fixed_discount | spend_save
    bonus_percent: int | None = None
    discount_fils: int | None = None
    spend_fils: int | None = None
    save_fils: int | None = None
    channels: tuple[str, ...] | None = None
    packages: tuple[str, ...] | None = None
    plans: tuple[str, ...] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_line_limit: int | None = None
    bonus_validity_days: int = BONUS_VALIDITY_DAYS


@dataclass(frozen=True)
class FeeRule:
    method: str
    fee_fixed_fils: int = 0
    fee_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class Price:
    price_fils: int
    discount_fils: int
    bonus_fils: int
    fee_fils: int
    total_fils: int
    credit_fils: int
    new_valid_until: datetime
    bonus_expires_at: datetime | None
    promotions: tuple[str, ...]

    def amounts(self) -> dict[str, int]:
        """The money of the price, keyed as quotes, renewals and the API name it."""
        return {name: getattr(self, name) for name in AMOUNT_FIELDS}


# The money fields a price carries, in the order the API shows them.
AMOUNT_FIELDS = (
    "price_fils",
    "discount_fils",
    "bonus_fils",
    "fee_fils",
    "total_fils",
    "credit_fils",
)


def promotion_applies(
    promotion: PromotionTerms,
    *,
    package_code: str,
    plan_code: str,
    channel: str,
    now: datetime,
    uses: int,
) -> bool:
    """Whether a promotion is open to this package, plan, channel and line at `now`."""
    if promotion.starts_at is not None and now < promotion.starts_at:
        return False
    if promotion.ends_at is not None and now >= promotion.ends_at:
        return False
    if promotion.channels is not None and channel not in promotion.channels:
        return False
    if promotion.packages is not None and package_code not in promotion.packages:
        return False
    if promotion.plans is not None and plan_code not in promotion.plans:
        return False
    return promotion.per_line_limit is None or uses < promotion.per_line_limit


def promotion_discount(promotion: PromotionTerms, price_fils: int) -> int:
    """The saving a discount promotion gives on a price (0 for bonus promotions)."""
    if promotion.kind == "fixed_discount":
        return min(promotion.discount_fils or 0, price_fils)
    if promotion.kind == "spend_save" and price_fils >= (promotion.spend_fils or 0):
        return min(promotion.save_fils or 0, price_fils)
    return 0


def promotion_bonus(promotion: PromotionTerms, credit_fils: int) -> int:
    """The bonus credit a bonus promotion gives (0 for discount promotions)."""
    if promotion.kind == "double_credit":
        return credit_fils
    if promotion.kind == "bonus_percent":
        return percent_of(credit_fils, promotion.bonus_percent or 0)
    return 0


def fee_for(rule: FeeRule | None, charged_fils: int) -> int:
    """A payment method's fee on the amount charged: fixed plus percent, rounded up to the fils."""
    if rule is None:
        return 0
    return rule.fee_fixed_fils + percent_of(charged_fils, rule.fee_percent, round_up=True)


def price_renewal(
    package: PackageTerms,
    *,
    plan_code: str,
    channel: str,
    channel_discount_percent: Decimal,
    promotions: Sequence[PromotionTerms],
    promotion_uses: Mapping[str, int],
    fee_rule: FeeRule | None,
    valid_until: datetime,
    max_validity_days: int,
    now: datetime,
) -> Price:
    """Price one package for one line on one channel at `now`."""
    if channel not in package.channels:
        raise PackageNotAvailable(f"Package {package.code} is not sold on the {channel} channel.")
    open_promotions = [
        p
        for p in sorted(promotions, key=lambda p: p.code)
        if promotion_applies(
            p,
            package_code=package.code,
            plan_code=plan_code,
            channel=channel,
            now=now,
            uses=promotion_uses.get(p.code, 0),
        )
    ]
    best_discount = max(
        open_promotions, key=lambda p: promotion_discount(p, package.price_fils), default=None
    )
    best_bonus = max(
        open_promotions, key=lambda p: promotion_bonus(p, package.credit_fils), default=None
    )
    applied: list[PromotionTerms] = []
    promo_discount = 0
    if best_discount and (promo_discount := promotion_discount(best_discount, package.price_fils)):
        applied.append(best_discount)
    bonus = 0
    if best_bonus and (bonus := promotion_bonus(best_bonus, package.credit_fils)):
        applied.append(best_bonus)

    channel_discount = percent_of(package.price_fils, channel_discount_percent)
    discount = min(package.price_fils, channel_discount + promo_discount)
    charged = package.price_fils - discount
    fee = fee_for(fee_rule, charged)
    bonus_expires_at = None
    if bonus and best_bonus is not None:
        bonus_expires_at = now + timedelta(days=best_bonus.bonus_validity_days)
    return Price(
        price_fils=package.price_fils,
        discount_fils=discount,
        bonus_fils=bonus,
        fee_fils=fee,
        total_fils=charged + fee,
        credit_fils=package.credit_fils,
        new_valid_until=extend_validity(
            valid_until, now, days=package.validity_days, max_validity_days=max_validity_days
        ),
        bonus_expires_at=bonus_expires_at,
        promotions=tuple(p.code for p in applied),
    )


@dataclass(frozen=True)
class Buckets:
    """A line's balance as its two buckets."""

    paid_fils: int
    bonus_fils: int
    bonus_expires_at: datetime | None

    @property
    def total_fils(self) -> int:
        return self.paid_fils + self.bonus_fils


def usable_bonus(buckets: Buckets, now: datetime) -> int:
    """The bonus still spendable at `now` (an expired bonus is worth nothing)."""
    if buckets.bonus_expires_at is not None and now >= buckets.bonus_expires_at:
        return 0
    return buckets.bonus_fils


def split_debit(buckets: Buckets, amount_fils: int, now: datetime) -> tuple[int, int]:
    """How a usage charge splits into (from bonus, from paid): bonus first, never below zero."""
    if amount_fils <= 0:
        raise ValueError("a debit must be positive")
    bonus = usable_bonus(buckets, now)
    if amount_fils > bonus + buckets.paid_fils:
        raise InsufficientBalance(
            f"Charge of {amount_fils} fils exceeds the usable balance of "
            f"{bonus + buckets.paid_fils} fils."
        )
    from_bonus = min(bonus, amount_fils)
    return from_bonus, amount_fils - from_bonus


def merge_bonus_expiry(
    current: datetime | None, current_bonus: int, new: datetime | None
) -> datetime | None:
    """A new bonus joins the bucket; the bucket keeps the later expiry of the two."""
    if new is None:
        return current
    if current is None or current_bonus == 0:
        return new
    return max(current, new)


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """A stable hash of a request body, to tell a retry from a different request under one key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
