"""Pricing and balance rules: what a subscriber pays, what the line receives, how usage is spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.errors import InsufficientBalance, PackageNotAvailable
from simrenew.renewals.rules import (
    Buckets,
    FeeRule,
    PackageTerms,
    PromotionTerms,
    fee_for,
    merge_bonus_expiry,
    price_renewal,
    request_fingerprint,
    split_debit,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
KD10 = PackageTerms(
    code="kd10", price_fils=10_000, credit_fils=10_000, validity_days=30, channels=("store", "app")
)


def price(package: PackageTerms = KD10, **overrides: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "plan_code": "prepaid",
        "channel": "store",
        "channel_discount_percent": Decimal(0),
        "promotions": (),
        "promotion_uses": {},
        "fee_rule": None,
        "valid_until": NOW + timedelta(days=5),
        "max_validity_days": 365,
        "now": NOW,
    }
    arguments.update(overrides)
    return price_renewal(package, **arguments)  # type: ignore[arg-type]


def test_plain_package_costs_its_price_and_extends_from_the_current_end() -> None:
    result = price()
    assert (result.price_fils, result.discount_fils, result.fee_fils) == (10_000, 0, 0)
    assert result.total_fils == 10_000
    assert result.credit_fils == 10_000
    assert result.bonus_fils == 0
    assert result.new_valid_until == NOW + timedelta(days=35)


def test_line_in_grace_is_extended_from_now() -> None:
    result = price(valid_until=NOW - timedelta(days=2))
    assert result.new_valid_until == NOW + timedelta(days=30)


def test_validity_is_capped_by_the_plan_maximum() -> None:
    result = price(valid_until=NOW + timedelta(days=350), max_validity_days=365)
    assert result.new_valid_until == NOW + timedelta(days=365)


def test_package_not_sold_on_the_channel_is_refused() -> None:
    with pytest.raises(PackageNotAvailable):
        price(channel="kiosk")


def test_channel_discount_reduces_what_is_paid_not_what_is_credited() -> None:
    result = price(channel="app", channel_discount_percent=Decimal(5))
    assert result.discount_fils == 500
    assert result.total_fils == 9_500
    assert result.credit_fils == 10_000


def test_largest_discount_and_largest_bonus_promotion_apply_once_each() -> None:
    promotions = [
        PromotionTerms(code="fixed1", kind="fixed_discount", discount_fils=1_000),
        PromotionTerms(code="save2", kind="spend_save", spend_fils=10_000, save_fils=2_000),
        PromotionTerms(code="bonus10", kind="bonus_percent", bonus_percent=10),
        PromotionTerms(code="double", kind="double_credit", bonus_validity_days=14),
    ]
    result = price(promotions=promotions)
    assert result.discount_fils == 2_000
    assert result.bonus_fils == 10_000
    assert result.total_fils == 8_000
    assert set(result.promotions) == {"save2", "double"}
    assert result.bonus_expires_at == NOW + timedelta(days=14)


def test_spend_save_needs_the_minimum_spend() -> None:
    promotion = PromotionTerms(code="save5", kind="spend_save", spend_fils=20_000, save_fils=5_000)
    assert price(promotions=[promotion]).discount_fils == 0


@pytest.mark.parametrize(
    ("promotion", "uses"),
    [
        (PromotionTerms(code="p", kind="double_credit", starts_at=NOW + timedelta(hours=1)), 0),
        (PromotionTerms(code="p", kind="double_credit", ends_at=NOW), 0),
        (PromotionTerms(code="p", kind="double_credit", channels=("app",)), 0),
        (PromotionTerms(code="p", kind="double_credit", packages=("kd20",)), 0),
        (PromotionTerms(code="p", kind="double_credit", plans=("visitor",)), 0),
        (PromotionTerms(code="p", kind="double_credit", per_line_limit=1), 1),
    ],
)
def test_promotion_outside_its_terms_gives_nothing(promotion: PromotionTerms, uses: int) -> None:
    result = price(promotions=[promotion], promotion_uses={"p": uses})
    assert result.bonus_fils == 0
    assert result.promotions == ()


def test_wallet_fee_is_fixed_plus_percent_rounded_up_and_never_credited() -> None:
    rule = FeeRule(method="wallet:applepay", fee_fixed_fils=100, fee_percent=Decimal("1.5"))
    result = price(
        package=PackageTerms("odd", 3_333, 3_333, 7, ("store",)),
        fee_rule=rule,
    )
    # 1.5% of 3.333 KWD is 49.995 fils: the payer is charged 50.
    assert result.fee_fils == 150
    assert result.total_fils == 3_483
    assert result.credit_fils == 3_333


amounts = st.integers(min_value=1, max_value=10_000_000)


@given(
    price_fils=amounts,
    discount=st.integers(min_value=0, max_value=20_000_000),
    percent=st.decimals(min_value=0, max_value=50, places=2),
    fixed=st.integers(min_value=0, max_value=5_000),
    fee_percent=st.decimals(min_value=0, max_value=20, places=2),
)
def test_money_adds_up_for_any_package_and_promotion(
    price_fils: int, discount: int, percent: Decimal, fixed: int, fee_percent: Decimal
) -> None:
    package = PackageTerms("p", price_fils, price_fils, 30, ("store",))
    result = price(
        package=package,
        channel_discount_percent=percent,
        promotions=[PromotionTerms(code="d", kind="fixed_discount", discount_fils=discount)],
        fee_rule=FeeRule("wallet:x", fixed, fee_percent),
    )
    assert all(
        isinstance(v, int)
        for v in (result.total_fils, result.discount_fils, result.fee_fils, result.credit_fils)
    )
    assert 0 <= result.discount_fils <= price_fils
    assert result.fee_fils >= fixed
    assert result.total_fils == price_fils - result.discount_fils + result.fee_fils
    assert result.fee_fils == fee_for(
        FeeRule("w", fixed, fee_percent), price_fils - result.discount_fils
    )


@given(
    paid=st.integers(min_value=0, max_value=1_000_000),
    bonus=st.integers(min_value=0, max_value=1_000_000),
    charge=st.integers(min_value=1, max_value=3_000_000),
    expired=st.booleans(),
)
def test_debit_spends_bonus_first_and_never_goes_below_zero(
    paid: int, bonus: int, charge: int, expired: bool
) -> None:
    expiry = NOW - timedelta(seconds=1) if expired else NOW + timedelta(days=1)
    buckets = Buckets(paid, bonus, expiry)
    usable = paid + (0 if expired else bonus)
    if charge > usable:
        with pytest.raises(InsufficientBalance):
            split_debit(buckets, charge, NOW)
        return
    from_bonus, from_paid = split_debit(buckets, charge, NOW)
    assert from_bonus + from_paid == charge
    assert from_bonus == min(charge, 0 if expired else bonus)
    assert 0 <= from_paid <= paid


def test_new_bonus_keeps_the_later_expiry() -> None:
    early, late = NOW + timedelta(days=3), NOW + timedelta(days=30)
    assert merge_bonus_expiry(early, 500, late) == late
    assert merge_bonus_expiry(late, 500, early) == late
    assert merge_bonus_expiry(late, 0, early) == early  # an empty bucket takes the new expiry


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    a = request_fingerprint({"msisdn": "+96550001234", "package_code": "kd10"})
    b = request_fingerprint({"package_code": "kd10", "msisdn": "+96550001234"})
    c = request_fingerprint({"package_code": "kd20", "msisdn": "+96550001234"})
    assert a == b != c
