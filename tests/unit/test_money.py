"""Money: fils parsing, formatting in en/ar/zh, percentages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.errors import ValidationFailed
from simrenew.money import fils_from_kwd, format_fils, parse_fils, percent_of

LANGUAGES = ("en", "ar", "zh")


@pytest.mark.parametrize(
    ("text", "fils"),
    [
        ("12.5", 12_500),
        ("12.500", 12_500),
        ("12", 12_000),
        ("0.250", 250),
        ("0", 0),
        ("12.500 KD", 12_500),
        ("12.500 KWD", 12_500),
        ("12.500kwd", 12_500),
        ("KWD 12.500", 12_500),
        ("12.500 د.ك", 12_500),
        ("١٢٫٥٠٠", 12_500),
        ("١٢.٥٠٠", 12_500),
        ("۱۲٫۵۰۰", 12_500),
        ("١٢٫٥٠٠ د.ك", 12_500),
        ("\u200f١٢٫٥٠٠ د.ك\u200f", 12_500),
        ("12.500 科威特第纳尔", 12_500),
        ("  3.005  ", 3_005),
        ("\u00a012.5\u00a0KWD", 12_500),
        ("1,234.500", 1_234_500),
        ("0.001", 1),
        ("1000000", 1_000_000_000),
    ],
)
def test_parse_fils_accepts_usual_spellings(text: str, fils: int) -> None:
    assert parse_fils(text) == fils


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1", "negative"),
        ("-0.500 KWD", "negative"),
        ("KWD -3", "negative"),
        ("\u22125", "negative"),
        ("12.5001", "3 decimals"),
        ("0.0001", "3 decimals"),
        ("", "empty"),
        ("   ", "empty"),
        ("KWD", "no number"),
        ("twelve", "not a number"),
        ("12.5.0", "not a number"),
        ("1e3", "not a number"),
        ("0x10", "not a number"),
        ("1 234", "not a number"),
        ("12.", "after the decimal point"),
        ("1,234", "ambiguous"),
        ("12,5", "ambiguous"),
        ("1,23.500", "ambiguous"),
        ("1000000.001", "too large"),
        ("99999999999999999999", "too large"),
        ("nan", "finite"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("Infinity", "finite"),
        ("1" * 65, "too long"),
        ("12 KWD 5", "before or after"),
    ],
)
def test_parse_fils_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_fils(text)
    assert raised.value.detail is not None
    assert reason in raised.value.detail


@pytest.mark.parametrize(
    ("fils", "language", "latin", "shown"),
    [
        (12_500, "en", False, "12.500 KWD"),
        (12_500, "ar", False, "١٢٫٥٠٠ د.ك"),
        (12_500, "ar", True, "12.500 د.ك"),
        (12_500, "zh", False, "12.500 科威特第纳尔"),
        (0, "en", False, "0.000 KWD"),
        (5, "en", False, "0.005 KWD"),
        (-5, "en", False, "-0.005 KWD"),
        (-12_500, "ar", False, "-١٢٫٥٠٠ د.ك"),
        (1_234_567, "en", False, "1234.567 KWD"),
        (1_234_567, "fr", False, "1234.567 KWD"),
        (1_234_567, "ar-KW", True, "1234.567 د.ك"),
        (1_000, "zh_Hans", False, "1.000 科威特第纳尔"),
    ],
)
def test_format_fils(fils: int, language: str, latin: bool, shown: str) -> None:
    assert format_fils(fils, language, latin_digits=latin) == shown


def test_format_fils_refuses_floats() -> None:
    with pytest.raises(TypeError):
        format_fils(12.5, "en")  # type: ignore[arg-type]


@given(
    fils=st.integers(min_value=0, max_value=10**9),
    language=st.sampled_from(LANGUAGES),
    latin=st.booleans(),
)
def test_format_then_parse_round_trips(fils: int, language: str, latin: bool) -> None:
    assert parse_fils(format_fils(fils, language, latin_digits=latin)) == fils


@given(fils=st.integers(min_value=10**9 + 1, max_value=10**15))
def test_amounts_above_a_million_kwd_are_refused(fils: int) -> None:
    with pytest.raises(ValidationFailed):
        parse_fils(format_fils(fils))


@pytest.mark.parametrize(
    ("fils", "percent", "down", "up"),
    [
        (1_001, 10, 100, 101),
        (1_000, 10, 100, 100),
        (1_000, "12.5", 125, 125),
        (1_000, "12.5%", 125, 125),
        (999, Decimal("2.5"), 24, 25),
        (3, Decimal("33.333333333"), 0, 1),
        (12_345, 0, 0, 0),
        (0, 50, 0, 0),
        (5_000, 150, 7_500, 7_500),
    ],
)
def test_percent_of_rounds_down_or_up(
    fils: int, percent: Decimal | str | int, down: int, up: int
) -> None:
    assert percent_of(fils, percent) == down
    assert percent_of(fils, percent, round_up=True) == up


@pytest.mark.parametrize("percent", ["abc", "-5", "NaN", "Infinity", "1E-20", "10001"])
def test_percent_of_refuses_bad_percentages(percent: str) -> None:
    with pytest.raises(ValidationFailed):
        percent_of(1_000, percent)


def test_percent_of_refuses_floats_and_negative_amounts() -> None:
    with pytest.raises(TypeError):
        percent_of(1_000, 12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        percent_of(-1_000, 10)


percents = st.one_of(
    st.integers(min_value=0, max_value=1_000),
    st.decimals(min_value=0, max_value=1_000, places=3, allow_nan=False, allow_infinity=False),
)


@given(fils=st.integers(min_value=0, max_value=10**12), percent=percents)
def test_rounding_up_adds_at_most_one_fils(fils: int, percent: Decimal | int) -> None:
    difference = percent_of(fils, percent, round_up=True) - percent_of(fils, percent)
    assert difference in {0, 1}


@given(
    fils=st.integers(min_value=0, max_value=10**12),
    percent=st.decimals(min_value=0, max_value=100, places=4),
    round_up=st.booleans(),
)
def test_percent_up_to_100_never_exceeds_the_amount(
    fils: int, percent: Decimal, round_up: bool
) -> None:
    assert 0 <= percent_of(fils, percent, round_up=round_up) <= fils


@given(fils=st.integers(min_value=0, max_value=10**12), percent=percents)
def test_percent_matches_exact_arithmetic(fils: int, percent: Decimal | int) -> None:
    exact = Decimal(fils) * Decimal(percent) / 100
    assert percent_of(fils, percent) <= exact < percent_of(fils, percent) + 1


def test_fils_from_kwd() -> None:
    assert fils_from_kwd(12) == 12_000
    with pytest.raises(TypeError):
        fils_from_kwd(1.5)  # type: ignore[arg-type]
