"""Notification rules: SMS encoding and segment counts, quiet hours, the due reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.clock import KUWAIT
from simrenew.notify.rules import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    due_reminder,
    in_quiet_hours,
    parse_quiet_hours,
    quiet_hours_end,
    sms_encoding,
    sms_length,
    sms_segments,
)

# --- encoding and segments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Your line expires in 3 days", "gsm7"),
        ("Prices in € and [brackets] {braces} ~ ^ | \\", "gsm7"),
        ("Ærø, Øresund, Ñoño, ¿qué? ¡sì! §5 £3 ¥9 @home", "gsm7"),
        ("í and ú are not in the GSM alphabet", "ucs2"),
        ("ΔΦΓΛΩΠΨΣΘΞ", "gsm7"),
        ("", "gsm7"),
        ("تنتهي صلاحية خطك", "ucs2"),
        ("您的号码", "ucs2"),
        ("a curly quote ’ is not GSM", "ucs2"),
        ("an en dash – is not GSM", "ucs2"),
        ("ç lower-case c cedilla is not in the basic set", "ucs2"),
        ("emoji 🙂", "ucs2"),
        ("\x1b alone", "ucs2"),
    ],
)
def test_encoding(text: str, encoding: str) -> None:
    assert sms_encoding(text) == encoding


def test_extension_characters_count_twice() -> None:
    assert sms_length("abc") == 3
    assert sms_length("€") == 2
    assert sms_length("[x]") == 5
    assert sms_length("ب") == 1
    assert sms_length("🙂") == 2  # a surrogate pair in UCS-2


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),
        ("ب" * 70, 1),
        ("ب" * 71, 2),
        ("ب" * 134, 2),
        ("ب" * 135, 3),
        ("号" * 70, 1),
        ("号" * 134, 2),
    ],
)
def test_segments_at_the_limits(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 plain septets then "€": the pair does not fit in the first part's last septet.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_length(text) == 306
    assert sms_segments(text) == 3


def test_a_surrogate_pair_is_never_split_across_parts() -> None:
    text = "ب" * 66 + "🙂" + "ب" * 66
    assert sms_length(text) == 134
    assert sms_segments(text) == 3


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=600))
def test_gsm_segments_follow_the_length(text: str) -> None:
    length = sms_length(text)
    segments = sms_segments(text)
    assert sms_encoding(text) == "gsm7"
    if length <= 160:
        assert segments == 1
    else:
        # At least the plain division; at most one more for pairs kept whole.
        assert -(-length // 153) <= segments <= -(-length // 152)


@given(st.text(alphabet="بتثجحخدذرزسشصضطظعغفقكلمنهوي ٠١٢", max_size=400))
def test_ucs2_segments_follow_the_length(text: str) -> None:
    length = len(text)
    assert sms_segments(text) == (1 if length <= 70 else -(-length // 67))


# --- quiet hours ---------------------------------------------------------------------------------


def kuwait(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """An instant given in Kuwait wall-clock time, as aware UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=KUWAIT).astimezone(UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [
        (20, 59, False),
        (21, 0, True),
        (23, 30, True),
        (0, 0, True),
        (3, 0, True),
        (8, 59, True),
        (9, 0, False),
        (12, 0, False),
    ],
)
def test_quiet_hours_wrapping_midnight(hour: int, minute: int, quiet: bool) -> None:
    assert in_quiet_hours(kuwait(hour, minute), "21:00-09:00") is quiet


@pytest.mark.parametrize(
    ("hour", "quiet"), [(12, False), (13, True), (14, True), (15, False), (2, False)]
)
def test_quiet_hours_within_a_day(hour: int, quiet: bool) -> None:
    assert in_quiet_hours(kuwait(hour), "13:00-15:00") is quiet


def test_quiet_hours_are_kuwait_time_not_utc() -> None:
    # 19:00 UTC is 22:00 in Kuwait: quiet. 07:00 UTC is 10:00 in Kuwait: not quiet.
    assert in_quiet_hours(datetime(2026, 12, 2, 19, 0, tzinfo=UTC), "21:00-09:00")
    assert not in_quiet_hours(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), "21:00-09:00")


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_quiet_hours_disable_them(spec: str) -> None:
    assert parse_quiet_hours(spec) is None
    assert not in_quiet_hours(kuwait(23), spec)
    assert quiet_hours_end(kuwait(23), spec) == kuwait(23)


def test_quiet_hours_end_is_the_next_end_in_kuwait() -> None:
    assert quiet_hours_end(kuwait(22, 15), "21:00-09:00") == kuwait(9, 0, day=3)
    assert quiet_hours_end(kuwait(2, 0), "21:00-09:00") == kuwait(9, 0, day=2)
    assert quiet_hours_end(kuwait(13, 30), "13:00-15:00") == kuwait(15, 0)


def test_outside_quiet_hours_the_end_is_now() -> None:
    now = kuwait(10, 0)
    assert quiet_hours_end(now, "21:00-09:00") == now


@given(st.datetimes(timezones=st.just(UTC)))
def test_quiet_hours_end_is_never_quiet_and_never_early(now: datetime) -> None:
    ends = quiet_hours_end(now, "21:00-09:00")
    assert ends >= now
    assert ends - now <= timedelta(hours=12)
    assert not in_quiet_hours(ends, "21:00-09:00")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("21-09", "must look like 21:00-09:00"),
        ("21:00", "must look like 21:00-09:00"),
        ("9:00-21:00", "must look like 21:00-09:00"),
        ("25:00-09:00", "hours run 00-23"),
        ("21:00-09:60", "minutes 00-59"),
        ("09:00-09:00", "must differ"),
        ("night", "or be empty to disable them"),
    ],
)
def test_a_bad_quiet_hours_spec_is_refused_clearly(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        in_quiet_hours(kuwait(12), spec)


def test_spaces_around_the_dash_are_accepted() -> None:
    assert in_quiet_hours(kuwait(22), " 21:00 - 09:00 ")


# --- the due reminder ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POINTS = (7, 3, 1)


@pytest.mark.parametrize(
    ("left", "due"),
    [
        (timedelta(days=8), None),
        (timedelta(days=7, seconds=1), None),
        (timedelta(days=7), 7),
        (timedelta(days=5), 7),
        (timedelta(days=3), 3),
        (timedelta(days=2, hours=12), 3),  # API.md: imported 2.5 days before the end
        (timedelta(days=1), 1),
        (timedelta(hours=2), 1),
        (timedelta(seconds=1), 1),
        (timedelta(0), None),
        (timedelta(days=-1), None),
    ],
)
def test_the_nearest_point_reached(left: timedelta, due: int | None) -> None:
    assert due_reminder(NOW + left, POINTS, NOW) == due


def test_points_in_any_order_and_none_configured() -> None:
    assert due_reminder(NOW + timedelta(days=2), [1, 7, 3], NOW) == 3
    assert due_reminder(NOW + timedelta(days=2), [], NOW) is None
    assert due_reminder(NOW + timedelta(days=2), [0], NOW) is None


@given(
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)),
    st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=5),
)
def test_the_due_point_is_reached_and_the_nearest(left: timedelta, points: list[int]) -> None:
    due = due_reminder(NOW + left, points, NOW)
    reached = [p for p in points if left <= timedelta(days=p)]
    if not reached:
        assert due is None
    else:
        assert due == min(reached)
        assert left <= timedelta(days=due)
