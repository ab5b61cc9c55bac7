"""A payment method's fee at the rounding edges: in whole fils, rounded up, never credited."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.renewals.rules import (
    FeeRule,
    PackageTerms,
    Price,
    PromotionTerms,
    fee_for,
    price_renewal,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
KD10 = PackageTerms(
    code="kd10", price_fils=10_000, credit_fils=10_000, validity_days=30, channels=("app",)
)


def percent(value: str, fixed: int = 0) -> FeeRule:
    return FeeRule(method="wallet:test", fee_fixed_fils=fixed, fee_percent=Decimal(value))


def priced(
    package: PackageTerms = KD10,
    *,
    fee_rule: FeeRule | None,
    channel_discount: str = "0",
    promotions: tuple[PromotionTerms, ...] = (),
) -> Price:
    return price_renewal(
        package,
        plan_code="prepaid",
        channel="app",
        channel_discount_percent=Decimal(channel_discount),
        promotions=promotions,
        promotion_uses={},
        fee_rule=fee_rule,
        valid_until=NOW + timedelta(days=5),
        max_validity_days=365,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("rule", "charged", "fee"),
    [
        (percent("1.5"), 10_000, 150),  # exactly 150: nothing to round
        (percent("1.5"), 10_001, 151),  # 150.015 -> 151
        (percent("1.5"), 66, 1),  # 0.99 -> 1
        (percent("1.5"), 1, 1),  # 0.015 -> 1: the smallest fee is a whole fils, not nothing
        (percent("1.5"), 0, 0),
        (percent("2.5"), 10_039, 251),  # 250.975 -> 251
        (percent("2.5"), 10_040, 251),  # exactly 251
        (percent("2.5"), 10_041, 252),  # 251.025 -> 252, not 251
        (percent("0.001"), 100_000, 1),  # exactly 1
        (percent("0.001"), 100_001, 2),  # 1.00001 -> 2
        (percent("0"), 10_001, 0),
        (percent("0", fixed=100), 10_001, 100),  # fixed only
        (percent("0", fixed=100), 0, 100),
        (percent("1.5", fixed=100), 10_000, 250),  # 0.100 KWD + 1.5 % of 10.000 KWD
        (percent("1.5", fixed=100), 10_001, 251),  # the fixed part is not rounded again
        (None, 10_001, 0),  # a method with no fee rule
    ],
)
def test_a_percent_fee_rounds_up_to_the_next_fils(
    rule: FeeRule | None, charged: int, fee: int
) -> None:
    assert fee_for(rule, charged) == fee


@given(
    charged=st.integers(min_value=0, max_value=1_000_000_000),
    thousandths=st.integers(min_value=0, max_value=100_000),  # 0.000 % to 100.000 %
    fixed=st.integers(min_value=0, max_value=5_000),
)
def test_the_fee_is_never_below_its_exact_value_nor_a_whole_fils_above(
    charged: int, thousandths: int, fixed: int
) -> None:
    rule = FeeRule(method="card", fee_fixed_fils=fixed, fee_percent=Decimal(thousandths) / 1000)
    exact = fixed + Fraction(charged) * Fraction(thousandths, 1000) / 100
    fee = fee_for(rule, charged)
    assert type(fee) is int
    assert fee >= exact
    assert fee - exact < 1


def test_the_fee_is_charged_on_what_the_payer_pays_after_a_channel_discount() -> None:
    price = priced(fee_rule=percent("1.5", fixed=100), channel_discount="10")
    assert price.discount_fils == 1_000
    assert price.fee_fils == 100 + 135  # 1.5 % of 9.000 KWD, not of the 10.000 KWD list price
    assert price.total_fils == 9_000 + 235
    assert price.credit_fils == 10_000


def test_the_fee_is_charged_on_what_the_payer_pays_after_a_promotion() -> None:
    promotion = PromotionTerms(code="save", kind="fixed_discount", discount_fils=3_333)
    price = priced(fee_rule=percent("1.5"), promotions=(promotion,))
    assert price.discount_fils == 3_333
    assert price.fee_fils == 101  # 1.5 % of 6667 = 100.005 -> 101
    assert price.total_fils == 6_667 + 101


def test_a_fully_discounted_renewal_pays_only_the_fixed_fee() -> None:
    promotion = PromotionTerms(code="free", kind="fixed_discount", discount_fils=50_000)
    price = priced(fee_rule=percent("2.5", fixed=100), promotions=(promotion,))
    assert (price.discount_fils, price.fee_fils, price.total_fils) == (10_000, 100, 100)
    assert price.credit_fils == 10_000


@pytest.mark.parametrize("rule", [percent("1.5"), percent("2.5", fixed=100), percent("0", 75)])
def test_the_fee_is_added_to_the_total_and_never_to_the_credit(rule: FeeRule) -> None:
    without = priced(fee_rule=None)
    price = priced(fee_rule=rule)
    assert price.fee_fils > 0
    assert price.total_fils == without.total_fils + price.fee_fils
    assert price.credit_fils == without.credit_fils == KD10.credit_fils
    assert price.bonus_fils == without.bonus_fils


@given(
    price_fils=st.integers(min_value=1, max_value=100_000_000),
    discount=st.integers(min_value=0, max_value=100),
    thousandths=st.integers(min_value=0, max_value=100_000),
    fixed=st.integers(min_value=0, max_value=5_000),
)
def test_every_amount_of_a_price_is_a_whole_number_of_fils(
    price_fils: int, discount: int, thousandths: int, fixed: int
) -> None:
    package = PackageTerms(
        code="p", price_fils=price_fils, credit_fils=price_fils, validity_days=30, channels=("app",)
    )
    rule = FeeRule(method="card", fee_fixed_fils=fixed, fee_percent=Decimal(thousandths) / 1000)
    price = priced(package, fee_rule=rule, channel_discount=str(discount))
    for name in (f.name for f in fields(price)):
        assert not isinstance(getattr(price, name), float), name
    for name, value in price.amounts().items():
        assert type(value) is int, name
    charged = price_fils - price.discount_fils
    assert price.fee_fils == fee_for(rule, charged)
    assert price.total_fils == charged + price.fee_fils
    assert price.credit_fils == price_fils


def test_a_float_never_enters_the_fee() -> None:
    with pytest.raises(TypeError):
        fee_for(FeeRule(method="card", fee_percent=1.5), 10_000)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fee_for(percent("1.5"), 10_000.0)  # type: ignore[arg-type]
