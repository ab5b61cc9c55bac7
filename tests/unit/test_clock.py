"""Clock: fixed clocks, Kuwait time, reading instants typed by people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.clock import KUWAIT, FixedClock, SystemClock, parse_instant, to_kuwait, utc
from simrenew.errors import ValidationFailed

NOON_UTC = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        # A date alone is midnight in Kuwait, which is 21:00 UTC the day before.
        ("2025-03-01", datetime(2025, 2, 28, 21, 0, tzinfo=UTC)),
        ("20250301", datetime(2025, 2, 28, 21, 0, tzinfo=UTC)),
        ("2025-03-01T09:30", datetime(2025, 3, 1, 6, 30, tzinfo=UTC)),
        ("2025-03-01 09:30:15", datetime(2025, 3, 1, 6, 30, 15, tzinfo=UTC)),
        ("2025-03-01T09:30:00+03:00", datetime(2025, 3, 1, 6, 30, tzinfo=UTC)),
        ("2025-03-01T09:30:00Z", datetime(2025, 3, 1, 9, 30, tzinfo=UTC)),
        ("2025-03-01T09:30:00+00:00", datetime(2025, 3, 1, 9, 30, tzinfo=UTC)),
        ("2025-03-01T09:30:00-05:00", datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
        ("  2025-03-01T09:30Z  ", datetime(2025, 3, 1, 9, 30, tzinfo=UTC)),
        ("٢٠٢٥-٠٣-٠١", datetime(2025, 2, 28, 21, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, instant: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "2025-02-30",
        "2025-13-01",
        "2025-03-01T25:00",
        "01/03/2025",
        "0001-01-01",
        "2025-03-01T09:30+03:00" * 4,
    ],
)
def test_parse_instant_refuses_garbage(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_instant(text)


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(NOON_UTC)
    assert clock.now() == NOON_UTC
    assert clock.now() == NOON_UTC
    assert clock.advance(days=1, hours=2) == NOON_UTC + timedelta(days=1, hours=2)
    assert clock.now() == NOON_UTC + timedelta(days=1, hours=2)
    clock.advance(minutes=-30)
    assert clock.now() == NOON_UTC + timedelta(days=1, hours=1, minutes=30)
    clock.set(datetime(2030, 1, 1, 3, 0, tzinfo=KUWAIT))
    assert clock.now() == datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fixed_clock_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2025, 3, 1))  # noqa: DTZ001 - the naive value is the point
    clock = FixedClock(NOON_UTC)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2025, 3, 1))  # noqa: DTZ001 - the naive value is the point
    assert clock.now() == NOON_UTC


def test_system_clock_is_aware_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


def test_utc_reads_naive_values_as_utc() -> None:
    naive = datetime(2025, 3, 1, 12, 0)  # noqa: DTZ001 - as SQLite returns it
    assert utc(naive) == NOON_UTC
    assert utc(datetime(2025, 3, 1, 15, 0, tzinfo=KUWAIT)) == NOON_UTC
    assert utc(datetime(2025, 3, 1, 15, 0, tzinfo=KUWAIT)).tzinfo is UTC


# Kuwait has kept UTC+3 since its local mean time ended in 1950; hypothesis bounds are naive.
@given(
    st.datetimes(
        min_value=datetime(1950, 1, 1),  # noqa: DTZ001
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    )
)
def test_kuwait_is_always_utc_plus_three(naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    local = to_kuwait(instant)
    assert local.utcoffset() == timedelta(hours=3)
    assert local.replace(tzinfo=None) == naive + timedelta(hours=3)
    assert local == instant
