"""Catalog file rules: the demo catalog parses; every kind of mistake names its file and line."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.catalog.rules import (
    CHANNELS,
    PROMOTION_KINDS,
    parse_catalog,
    read_catalog_file,
)
from simrenew.catalog.specs import CatalogSpec
from simrenew.errors import CatalogInvalid

DEMO = Path(__file__).parents[3] / "src" / "simrenew" / "catalog" / "demo" / "demo.yaml"

# A small valid catalog; the cases below change one thing and expect the error on a given line.
BASE = textwrap.dedent(
    """\
    operators:
      - code: zahra
        name: Zahra Telecom
        names: {en: Zahra Telecom, ar: زهرة للاتصالات, zh: 扎赫拉电信}
        ussd_code: "*135#"
        web_url: https://zahra.example
        care_number: "107"
        number_prefixes: ["50", "51"]
        channel_discounts: {app: "5"}
        plans:
          - code: prepaid
            name: Zahra Prepaid
            grace_days: 7
            suspension_days: 30
            recycle_days: 90
            max_validity_days: 365
            reminder_days: [1, 7, 3]
            packages:
              - code: kd10
                name: 10 KD
                price: "10.000"
                validity_days: 90
                channels: [store, kiosk, web, app]
              - code: week
                name: Weekly
                price_fils: 2500
                validity_days: 7
                channels: [app, web]
        promotions:
          - code: double
            name: Double credit
            kind: double_credit
            packages: [kd10]
            plans: [prepaid]
            starts_at: 2026-01-01
            ends_at: 2027-12-31
            per_line_limit: 1
    payment_methods:
      - method: cash
        channels: [store, kiosk]
      - method: wallet:applepay
        gateway: sandbox
        fee_fixed: "0.100"
        fee_percent: "1.5"
        channels: [app]
    """
)


def _error(text: str, filename: str = "test.yaml") -> str:
    with pytest.raises(CatalogInvalid) as caught:
        parse_catalog(text, filename=filename)
    detail = caught.value.detail
    assert detail is not None
    return detail


def _changed(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def _line_of(text: str, fragment: str) -> int:
    (index,) = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return index


# ---------------------------------------------------------------------------------------------
# The demo catalog


@pytest.fixture(scope="module")
def demo() -> CatalogSpec:
    return read_catalog_file(DEMO)


def test_the_example_in_the_docs_is_valid() -> None:
    doc = (DEMO.parents[4] / "docs" / "catalog.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert parse_catalog(example).operators[0].code == "zahra"


def test_base_catalog_is_valid() -> None:
    spec = parse_catalog(BASE)
    (operator,) = spec.operators
    (plan,) = operator.plans
    assert plan.reminder_days == (7, 3, 1)  # stored distinct and sorted descending
    assert [(p.code, p.price_fils, p.credit_fils) for p in plan.packages] == [
        ("kd10", 10_000, 10_000),  # credit defaults to the price
        ("week", 2_500, 2_500),
    ]
    assert operator.channel_discounts == {"app": Decimal("5")}
    wallet = spec.payment_methods[1]
    assert (wallet.fee_fixed_fils, wallet.fee_percent) == (100, Decimal("1.5"))


def test_demo_has_three_operators_with_their_own_rules(demo: CatalogSpec) -> None:
    assert [op.code for op in demo.operators] == ["zahra", "najm", "bahar"]
    for op in demo.operators:
        assert set(op.names) == {"en", "ar", "zh"}
        assert op.web_url.endswith(".example") or ".example/" in op.web_url
        assert op.ussd_code.startswith("*")
        assert op.ussd_code.endswith("#")
    assert len({op.ussd_code for op in demo.operators}) == 3
    assert len({op.care_number for op in demo.operators}) == 3
    main_plans = [op.plans[0] for op in demo.operators]
    assert [p.reminder_days for p in main_plans] == [(7, 3, 1), (5, 2), (10, 3, 1)]
    assert [p.max_validity_days for p in main_plans] == [365, 180, 400]
    periods = {(p.grace_days, p.suspension_days, p.recycle_days) for p in main_plans}
    assert len(periods) == 3
    assert max(len(op.plans) for op in demo.operators) >= 2


def test_demo_packages_prices_and_channels(demo: CatalogSpec) -> None:
    for op in demo.operators:
        prices = {pk.price_fils for plan in op.plans for pk in plan.packages}
        assert {2_500, 5_000, 10_000, 20_000, 50_000} <= prices
        for plan in op.plans:
            for pk in plan.packages:
                assert pk.validity_days <= plan.max_validity_days
                assert set(pk.channels) <= set(CHANNELS)
    packages = [pk for op in demo.operators for plan in op.plans for pk in plan.packages]
    assert any(set(pk.channels) <= {"app", "web"} for pk in packages)  # online-only packages
    assert any(pk.credit_fils > pk.price_fils for pk in packages)
    assert all(op.channel_discounts.get("app", 0) > 0 for op in demo.operators)


def test_demo_promotions_cover_every_kind_and_window(demo: CatalogSpec) -> None:
    promotions = [pr for op in demo.operators for pr in op.promotions]
    assert {pr.kind for pr in promotions} == set(PROMOTION_KINDS)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    expired = [pr for pr in promotions if pr.ends_at is not None and pr.ends_at <= now]
    assert expired
    start, end = datetime(2025, 12, 31, 21, tzinfo=UTC), datetime(2027, 12, 31, 21, tzinfo=UTC)
    assert [pr for pr in promotions if (pr.starts_at, pr.ends_at) == (start, end)]
    assert any(pr.per_line_limit for pr in promotions)
    for pr in promotions:
        for moment in (pr.starts_at, pr.ends_at):
            assert moment is None or moment.utcoffset() is not None


def test_demo_payment_methods(demo: CatalogSpec) -> None:
    methods = {m.method: m for m in demo.payment_methods}
    assert set(methods) == {
        "cash", "till", "card_terminal", "card", "knet", "wallet:applepay", "wallet:paypal"
    }  # fmt: skip
    assert methods["cash"].channels == ("store", "kiosk", "partner")
    assert methods["till"].channels == ("store", "partner")
    assert (methods["card"].gateway, methods["knet"].gateway) == ("tap", "knet")
    apple = methods["wallet:applepay"]
    assert (apple.fee_fixed_fils, apple.fee_percent) == (100, Decimal("1.5"))
    assert methods["wallet:paypal"].fee_percent == Decimal("2.5")
    assert all(methods[m].gateway is None for m in ("cash", "till", "card_terminal"))


# ---------------------------------------------------------------------------------------------
# Dates: a date alone is a whole day in Kuwait; everything is stored as aware UTC


def test_dates_alone_are_whole_kuwaiti_days() -> None:
    (promotion,) = parse_catalog(BASE).operators[0].promotions
    assert promotion.starts_at == datetime(2025, 12, 31, 21, 0, tzinfo=UTC)  # 00:00 in Kuwait
    assert promotion.ends_at == datetime(2027, 12, 31, 21, 0, tzinfo=UTC)  # end of 31 Dec


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-03-01T10:00:00+03:00", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("2026-03-01 10:00", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),  # no offset: Kuwait time
    ],
)
@pytest.mark.parametrize("quote", ['"', ""])
def test_date_times_become_aware_utc(written: str, expected: datetime, quote: str) -> None:
    text = _changed("starts_at: 2026-01-01", f"starts_at: {quote}{written}{quote}")
    assert parse_catalog(text).operators[0].promotions[0].starts_at == expected


@given(st.integers(min_value=1, max_value=999_999_999))
def test_kwd_text_reads_as_exact_fils(fils: int) -> None:
    text = _changed('price: "10.000"', f'price: "{fils // 1000}.{fils % 1000:03d}"')
    spec = parse_catalog(text)
    assert spec.operators[0].plans[0].packages[0].price_fils == fils


# ---------------------------------------------------------------------------------------------
# Mistakes: each names the file, the exact line and a reason a person understands

MISTAKES = [
    # YAML syntax
    ("syntax-colon", "name: Zahra Telecom", "name: Zahra: Telecom", 3,
     "YAML syntax error: mapping values are not allowed here"),
    ("syntax-unclosed-list", '["50", "51"]', '["50", "51"', 8, "it is not closed"),
    ("syntax-indent", "        grace_days: 7", "      grace_days: 7", 13, "indentation"),
    # Unknown and duplicate keys
    ("unknown-key", "grace_days: 7", "grace_dayz: 7", 13,
     "plan 'prepaid': unknown key 'grace_dayz' (did you mean 'grace_days'?)"),
    ("unknown-top-key", "operators:", "operatorz:", 1, "unknown key 'operatorz'"),
    ("key-twice", "name: Weekly", "name: Weekly\n            name: Again", 26,
     "package 'week': key 'name' is given twice"),
    ("unknown-language", "zh: 扎赫拉电信}", "fr: Zahra}", 4, "unknown language 'fr'"),
    # Missing keys are reported where their mapping starts
    ("missing-validity", "            validity_days: 90\n", "", 19,
     "package 'kd10': validity_days is required"),
    ("missing-price", '            price: "10.000"\n', "", 19,
     "package 'kd10': price is required"),
    ("missing-language", "zh: 扎赫拉电信}", "}", 4, "names: zh is required"),
    # Wrong types
    ("text-as-number", 'ussd_code: "*135#"', "ussd_code: 135", 5,
     "ussd_code must be text, but '135' reads as a number: put it in quotes"),
    ("days-as-text", "grace_days: 7", 'grace_days: "7"', 13, "grace_days must be a whole number"),
    ("days-as-fraction", "grace_days: 7", "grace_days: 7.5", 13,
     "grace_days must be a whole number"),
    # Prices
    ("price-float", 'price: "10.000"', "price: 10.000", 21,
     'price is an amount of KWD and must be quoted text like "10.000"'),
    ("price-four-decimals", 'price: "10.000"', 'price: "10.0005"', 21,
     "has more than 3 decimals"),
    ("price-negative", 'price: "10.000"', 'price: "-10"', 21, "price must not be negative"),
    ("price-zero", 'price: "10.000"', 'price: "0.000"', 21, "price must be more than 0"),
    ("fils-negative", "price_fils: 2500", "price_fils: -2500", 26,
     "price_fils must be more than 0, not -2500 fils"),
    ("fils-as-text", "price_fils: 2500", 'price_fils: "2500"', 26,
     "price_fils must be a whole number of fils"),
    ("fils-octal-looking", "price_fils: 2500", "price_fils: 02500", 26,
     "must be written in plain decimal digits"),
    ("price-twice", "price_fils: 2500", 'price_fils: 2500\n            price: "2.500"', 26,
     "give either price or price_fils, not both"),
    # Duplicate codes name the line of the first use
    ("duplicate-package", "- code: week", "- code: kd10", 24,
     "package code 'kd10' is used twice (first on line 19)"),
    ("duplicate-payment-method", "method: wallet:applepay", "method: cash", 41,
     "payment method 'cash' is used twice (first on line 39)"),
    # Channels
    ("bad-channel", "[store, kiosk, web, app]", "[store, kiosks]", 23,
     "'kiosks' is not a known channel (did you mean 'kiosk'?)"),
    ("channel-twice", "[store, kiosk, web, app]", "[store, store]", 23,
     "channel 'store' is used twice"),
    ("no-channels", "[store, kiosk, web, app]", "[]", 23, "channels must list at least one"),
    ("bad-discount-channel", '{app: "5"}', '{apps: "5"}', 9,
     "channel_discounts: unknown channel 'apps' (did you mean 'app'?)"),
    ("discount-percent-sign", '{app: "5"}', '{app: "5%"}', 9, "no % sign"),
    # Promotions
    ("bad-kind", "kind: double_credit", "kind: double", 32,
     "'double' is not a known kind (did you mean 'double_credit'?)"),
    ("bonus-missing", "kind: double_credit", "kind: bonus_percent", 30,
     "promotion 'double': bonus_percent is required (1 to 500)"),
    ("bonus-too-big", "kind: double_credit", "kind: bonus_percent\n        bonus_percent: 600", 33,
     "bonus_percent must be at most 500, not 600"),
    ("discount-missing", "kind: double_credit", "kind: fixed_discount", 30,
     "promotion 'double': discount is required"),
    ("discount-gives-away", "kind: double_credit",
     'kind: fixed_discount\n        discount: "10.000"', 33, "would make package 'kd10'"),
    ("save-not-below-spend", "kind: double_credit",
     'kind: spend_save\n        spend: "5.000"\n        save_fils: 5000', 34,
     "save must be less than spend"),
    ("term-of-other-kind", "kind: double_credit",
     'kind: double_credit\n        discount: "1.000"', 33,
     "discount does not apply to a double_credit promotion"),
    ("ends-before-start", "ends_at: 2027-12-31", "ends_at: 2025-12-31", 36,
     "ends_at must be after starts_at"),
    ("bad-date", "ends_at: 2027-12-31", "ends_at: 2027-02-30", 36,
     "'2027-02-30' is not a valid ISO 8601 date"),
    # References to codes of the same operator
    ("bad-package-ref", "packages: [kd10]", "packages: [kd100]", 33,
     "'kd100' is not a known package in this operator (did you mean 'kd10'?)"),
    ("bad-plan-ref", "plans: [prepaid]", "plans: [visitor]", 34,
     "'visitor' is not a known plan in this operator; the plans in this operator are prepaid"),
    # Number prefixes
    ("bad-prefix", '["50", "51"]', '["50", "31"]', 8,
     "'31' is not a Kuwaiti mobile range: a prefix is 1-8 digits starting with 41, 5, 6 or 9"),
    ("prefix-four-alone", '["50", "51"]', '["50", "4"]', 8, "'4' is not a Kuwaiti mobile range"),
    ("prefix-too-long", '["50", "51"]', '["50", "512345678"]', 8, "not a Kuwaiti mobile range"),
    ("prefix-item-line", '["50", "51"]', '\n      - "50"\n      - "7"', 10,
     "'7' is not a Kuwaiti mobile range"),
    ("prefix-twice", '["50", "51"]', '["50", "50"]', 8, "prefix '50' is used twice"),
    # Plans
    ("reminder-twice", "[1, 7, 3]", "[1, 7, 1]", 17, "reminder_days: day '1' is used twice"),
    ("reminder-zero", "[1, 7, 3]", "[0]", 17, "reminder_days must be at least 1, not 0"),
    ("validity-over-max", "max_validity_days: 365", "max_validity_days: 60", 22,
     "package 'kd10': validity_days 90 is more than the plan's max_validity_days 60"),
    ("bad-code", "  - code: zahra", "  - code: Zahra", 2, "code 'Zahra' is not valid"),
    # Payment methods
    ("bad-method", "method: wallet:applepay", "method: Wallet:ApplePay", 41,
     "use cash, till, card_terminal, card, knet or wallet:<provider> (lowercase)"),
    ("fee-too-high", 'fee_percent: "1.5"', 'fee_percent: "25"', 44,
     "fee_percent must be at most 20 percent"),
    ("fee-float", 'fee_percent: "1.5"', "fee_percent: 1.5", 44,
     'fee_percent must be a percentage written as quoted text like "1.5"'),
    ("empty-value", "packages: [kd10]", "packages:", 33,
     "promotion 'double': packages has no value: give one or remove the key"),
    ("empty-required", "grace_days: 7", "grace_days:", 13, "grace_days has no value"),
    ("gateway-missing", "    gateway: sandbox\n", "", 41, "gateway is required"),
    ("gateway-on-cash", "  - method: cash\n", "  - method: cash\n    gateway: sandbox\n", 40,
     "cash is paid in person, not online"),
    # Version and tricks
    ("future-version", "operators:", "version: 2\noperators:", 1, "format version 1 only"),
    ("merge-key", "    plans:\n", "    <<: {name: x}\n    plans:\n", 10,
     "merge keys (<<) are not supported"),
    ("python-tag", "per_line_limit: 1", "per_line_limit: !!python/object:os.system 1", 37,
     "per_line_limit must be a whole number"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in MISTAKES],
)
def test_mistake_names_file_line_and_reason(old: str, new: str, line: int, reason: str) -> None:
    detail = _error(_changed(old, new))
    assert detail.startswith(f"test.yaml:{line}: "), detail
    assert reason in detail


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- a\n- b\n", "the catalog must be a mapping"),
        ("operators: []\npayment_methods: []\n", "operators must list at least one item"),
    ],
)
def test_empty_or_shapeless_files_fail_on_line_one(text: str, reason: str) -> None:
    detail = _error(text)
    assert detail.startswith("test.yaml:1: ")
    assert reason in detail


def test_second_document_is_refused_at_its_line() -> None:
    detail = _error(BASE + "---\nmore: 1\n")
    assert detail.startswith(f"test.yaml:{_line_of(BASE, 'channels: [app]') + 1}: ")
    assert "single document" in detail


def test_duplicate_operator_code_in_demo_names_both_lines() -> None:
    demo = DEMO.read_text(encoding="utf-8")
    text = demo.replace("  - code: najm\n", "  - code: zahra\n")
    detail = _error(text, filename="demo.yaml")
    first, second = _line_of(demo, "- code: zahra"), _line_of(demo, "- code: najm")
    assert detail == (
        f"demo.yaml:{second}: operator code 'zahra' is used twice (first on line {first})"
    )


def test_promotion_package_outside_its_plans_could_never_apply() -> None:
    demo = DEMO.read_text(encoding="utf-8")
    text = demo.replace(
        "        packages: [kd50]\n", "        packages: [visitor-week]\n        plans: [prepaid]\n"
    )
    detail = _error(text, filename="demo.yaml")
    line = _line_of(text, "packages: [visitor-week]")
    assert detail.startswith(f"demo.yaml:{line}: promotion 'double-kd50': packages: ")
    assert "'visitor-week' is not in any of the promotion's plans (prepaid)" in detail


def test_huge_lists_are_refused_before_they_are_walked() -> None:
    days = ", ".join(["1"] * 100_001)
    detail = _error(_changed("[1, 7, 3]", f"[{days}]"))
    assert detail.startswith("test.yaml:17: ")
    assert "too large" in detail


# ---------------------------------------------------------------------------------------------
# Reading files


def test_read_catalog_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(_changed("grace_days: 7", "grace_dayz: 7"), encoding="utf-8")
    with pytest.raises(CatalogInvalid) as caught:
        read_catalog_file(path)
    assert caught.value.detail is not None
    assert caught.value.detail.startswith(f"{path}:13: ")


def test_read_catalog_file_refuses_non_utf8_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("Weekly", "Hebdo é").encode("latin-1", errors="replace"))
    with pytest.raises(CatalogInvalid) as caught:
        read_catalog_file(path)
    assert caught.value.detail == f"{path}:25: the file is not UTF-8 text"


def test_read_catalog_file_missing(tmp_path: Path) -> None:
    with pytest.raises(CatalogInvalid) as caught:
        read_catalog_file(tmp_path / "nope.yaml")
    assert caught.value.detail is not None
    assert "cannot read the file" in caught.value.detail


def test_in_person_method_may_say_gateway_null() -> None:
    spec = parse_catalog(_changed("  - method: cash\n", "  - method: cash\n    gateway: null\n"))
    assert spec.payment_methods[0].gateway is None


def test_packages_and_operators_carry_their_names_and_colour_for_subscribers(
    demo: CatalogSpec,
) -> None:
    zahra = demo.operators[0]
    kd10 = next(p for plan in zahra.plans for p in plan.packages if p.code == "kd10")
    assert kd10.names == {"en": "10 KD", "ar": "10 د.ك", "zh": "10 第纳尔"}
    assert zahra.colour == "#0f7b6c"
    plain = parse_catalog(BASE).operators[0]
    assert plain.colour == "#0b5cad"  # the default when a catalog names none
    assert all(p.names == {} for plan in plain.plans for p in plan.packages)


def test_a_colour_that_is_not_hex_is_refused_with_its_line() -> None:
    with pytest.raises(CatalogInvalid, match=r":3: operator .zahra.: colour .green. is not valid"):
        parse_catalog(
            BASE.replace("  - code: zahra\n", '  - code: zahra\n    colour: "green"\n', 1)
        )
