"""Line rules: mobile numbers, civil IDs and passports, the lifecycle dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from simrenew.errors import InvalidIdentity, InvalidMsisdn
from simrenew.lines.rules import (
    ALLOWED_TRANSITIONS,
    LifecyclePeriods,
    LineState,
    check_transition,
    days_left,
    extend_validity,
    mask_identity,
    national_number,
    next_transition_at,
    normalize_msisdn,
    renewal_base,
    state_at,
    transitions_between,
    validate_civil_id,
    validate_identity,
    validate_passport,
)

TODAY = date(2025, 3, 1)
WEIGHTS = (2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_digit(first_eleven: str) -> int:
    """The civil ID check digit as FACTS.md defines it (10 and 11 mean no valid ID)."""
    return 11 - sum(int(d) * w for d, w in zip(first_eleven, WEIGHTS, strict=True)) % 11


# --- mobile numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "+96550001234",
        "0096550001234",
        "96550001234",
        "50001234",
        "5000 1234",
        "5000-1234",
        "(+965) 5000-1234",
        "+965 5000 1234",
        " 50001234 ",
        "٥٠٠٠١٢٣٤",
        "۵۰۰۰۱۲۳۴",
        "+٩٦٥ ٥٠٠٠ ١٢٣٤",
        "\u200e50001234\u200e",
    ],
)
def test_normalize_msisdn_accepts_common_spellings(text: str) -> None:
    assert normalize_msisdn(text) == "+96550001234"


@pytest.mark.parametrize("number", ["41001234", "60001234", "65001234", "90001234", "99001234"])
def test_every_mobile_prefix_is_accepted(number: str) -> None:
    assert normalize_msisdn(number) == f"+965{number}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("22221234", "not a mobile"),
        ("+96522221234", "not a mobile"),
        ("+971501234567", "+971"),
        ("00971501234567", "+971"),
        ("+447700900123", "+44"),
        ("5000123", "8 digits"),
        ("500012345", "8 digits"),
        ("5000ABCD", "only digits"),
        ("50001234 ext 5", "only digits"),
        ("five0001234", "only digits"),
        ("", "empty"),
        ("   ", "empty"),
        ("5" * 41, "too long"),
        ("++", "could not be read"),
        ("52000000", "allocated"),
    ],
)
def test_normalize_msisdn_refuses(text: str, reason: str) -> None:
    with pytest.raises(InvalidMsisdn) as raised:
        normalize_msisdn(text)
    assert raised.value.detail is not None
    assert reason in raised.value.detail


# Blocks libphonenumber lists as Kuwaiti mobile ranges, each with any 5 further digits.
allocated_mobiles = st.builds(
    str.__add__,
    st.sampled_from(["410", "419", "500", "559", "600", "650", "669", "900", "949", "965", "999"]),
    st.from_regex(r"[0-9]{5}", fullmatch=True),
)


@given(allocated_mobiles)
def test_every_spelling_of_a_number_gives_the_same_e164(national: str) -> None:
    expected = f"+965{national}"
    for spelling in (national, f"+965{national}", f"00965 {national[:4]} {national[4:]}"):
        assert normalize_msisdn(spelling) == expected
    assert national_number(expected) == national


def test_national_number() -> None:
    assert national_number("+96550001234") == "50001234"
    with pytest.raises(InvalidMsisdn):
        national_number("+96522221234")


# --- civil ID and passport -----------------------------------------------------------------


@pytest.mark.parametrize("civil_id", ["288020122596", "227081660516"])
def test_valid_civil_ids(civil_id: str) -> None:
    assert validate_civil_id(civil_id, today=TODAY) == civil_id


@pytest.mark.parametrize(
    "spelling", ["2 880201 2259 6", "2880-2012-2596", "٢٨٨٠٢٠١٢٢٥٩٦", " 288020122596\n"]
)
def test_civil_id_spellings_are_normalised(spelling: str) -> None:
    assert validate_civil_id(spelling, today=TODAY) == "288020122596"


def _with_check(head: str) -> str:
    """A 12-digit ID starting with `head` (century and birth date) and a right check digit."""
    for serial in range(10_000):
        first_eleven = f"{head}{serial:04d}"
        if check_digit(first_eleven) < 10:
            return f"{first_eleven}{check_digit(first_eleven)}"
    raise AssertionError("unreachable: some serial always has a check digit")


@pytest.mark.parametrize(
    ("civil_id", "reason"),
    [
        ("28802012259", "12 digits"),
        ("2880201225960", "12 digits"),
        ("28802012259A", "12 digits"),
        ("", "12 digits"),
        # Right check digits, so only the part under test is wrong.
        (_with_check("1880201"), "starts with 2"),
        (_with_check("4880201"), "starts with 2"),
        (_with_check("2880230"), "not a real date"),  # 30 February 1988
        (_with_check("2881301"), "not a real date"),  # month 13
        (_with_check("2900229"), "not a real date"),  # 29 February 1900: not a leap year
        (_with_check("3261231"), "future"),  # born 31 December 2026
        ("288020122597", "check digit"),
        ("288020122595", "check digit"),
    ],
)
def test_civil_id_refusals(civil_id: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as raised:
        validate_civil_id(civil_id, today=TODAY)
    assert raised.value.detail is not None
    assert reason in raised.value.detail


def test_leap_day_birth_is_accepted() -> None:
    civil_id = _with_check("3000229")  # 29 February 2000
    assert validate_civil_id(civil_id, today=TODAY) == civil_id


def test_birth_date_is_judged_against_today() -> None:
    civil_id = _with_check("3250302")  # born 2 March 2025
    with pytest.raises(InvalidIdentity, match="future"):
        validate_civil_id(civil_id, today=TODAY)
    assert validate_civil_id(civil_id, today=date(2025, 3, 2)) == civil_id


def test_serial_without_a_check_digit_is_always_refused() -> None:
    # Find, by computation, a serial whose weighted sum leaves 0 or 1 (check 11 or 10).
    impossible = {
        remainder: next(
            f"2880201{serial:04d}"
            for serial in range(10_000)
            if check_digit(f"2880201{serial:04d}") == remainder
        )
        for remainder in (10, 11)
    }
    for first_eleven in impossible.values():
        for last in "0123456789":
            with pytest.raises(InvalidIdentity, match="check digit"):
                validate_civil_id(first_eleven + last, today=TODAY)


valid_births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@given(born=valid_births, serial=st.integers(min_value=0, max_value=9999))
def test_any_civil_id_with_the_right_check_digit_is_accepted(born: date, serial: int) -> None:
    century = "2" if born.year < 2000 else "3"
    first_eleven = f"{century}{born:%y%m%d}{serial:04d}"
    check = check_digit(first_eleven)
    assume(check < 10)
    assert validate_civil_id(f"{first_eleven}{check}", today=TODAY) == f"{first_eleven}{check}"


@given(
    born=valid_births,
    serial=st.integers(min_value=0, max_value=9999),
    position=st.integers(min_value=0, max_value=11),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_mistyped_digit_is_caught(
    born: date, serial: int, position: int, shift: int
) -> None:
    century = "2" if born.year < 2000 else "3"
    first_eleven = f"{century}{born:%y%m%d}{serial:04d}"
    check = check_digit(first_eleven)
    assume(check < 10)
    digits = list(f"{first_eleven}{check}")
    digits[position] = str((int(digits[position]) + shift) % 10)
    with pytest.raises(InvalidIdentity):
        validate_civil_id("".join(digits), today=TODAY)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("A1234567", "A1234567"),
        ("a1234567", "A1234567"),
        (" k12 3456 ", "K123456"),
        ("123456789", "123456789"),
        ("AB12CD", "AB12CD"),
    ],
)
def test_valid_passports(text: str, number: str) -> None:
    assert validate_passport(text) == number


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A1234", "6 to 9"),
        ("A123456789", "6 to 9"),
        ("ABCDEFGH", "at least one digit"),
        ("A12-3456", "6 to 9"),
        ("A12345ı", "Latin"),
        ("Ж1234567", "Latin"),
        ("", "6 to 9"),
    ],
)
def test_passport_refusals(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as raised:
        validate_passport(text)
    assert raised.value.detail is not None
    assert reason in raised.value.detail


def test_validate_identity_dispatches_on_type() -> None:
    assert validate_identity("civil_id", "2880 2012 2596", today=TODAY) == (
        "civil_id",
        "288020122596",
    )
    assert validate_identity("passport", "a1234567") == ("passport", "A1234567")
    with pytest.raises(InvalidIdentity):
        validate_identity("passport", "288020122597x")
    with pytest.raises(InvalidIdentity):
        validate_identity("civil_id", "288020122597", today=TODAY)
    with pytest.raises(InvalidIdentity, match="type"):
        validate_identity("driving_licence", "123456")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("288020122596", "2880******96"),
        ("2880 2012 2596", "2880******96"),
        ("A1234567", "******567"),
        ("K12345123", "******123"),
        ("123", "******"),
    ],
)
def test_mask_identity(number: str, masked: str) -> None:
    assert mask_identity(number) == masked


def test_mask_identity_never_reveals_the_middle() -> None:
    assert "020122" not in mask_identity("288020122596")


# --- lifecycle ------------------------------------------------------------------------------

PERIODS = LifecyclePeriods(grace_days=30, suspension_days=60, recycle_days=90)
VALID_UNTIL = datetime(2025, 3, 1, 21, 0, tzinfo=UTC)
ORDER = list(LineState)


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        (timedelta(days=-10), LineState.ACTIVE),
        (timedelta(microseconds=-1), LineState.ACTIVE),
        (timedelta(0), LineState.GRACE),
        (timedelta(days=30, microseconds=-1), LineState.GRACE),
        (timedelta(days=30), LineState.SUSPENDED),
        (timedelta(days=90, microseconds=-1), LineState.SUSPENDED),
        (timedelta(days=90), LineState.RECYCLED),
        (timedelta(days=900), LineState.RECYCLED),
    ],
)
def test_state_at_each_boundary(offset: timedelta, state: LineState) -> None:
    assert state_at(VALID_UNTIL, PERIODS, VALID_UNTIL + offset) is state


def test_recycle_days_do_not_change_the_lines_own_state() -> None:
    longer_quarantine = LifecyclePeriods(grace_days=30, suspension_days=60, recycle_days=365)
    now = VALID_UNTIL + timedelta(days=91)
    assert state_at(VALID_UNTIL, longer_quarantine, now) is LineState.RECYCLED


def test_recycled_is_sticky_whatever_the_dates() -> None:
    before_expiry = VALID_UNTIL - timedelta(days=5)
    assert state_at(VALID_UNTIL, PERIODS, before_expiry, recorded=LineState.RECYCLED) is (
        LineState.RECYCLED
    )
    assert state_at(VALID_UNTIL, PERIODS, before_expiry, recorded=LineState.GRACE) is (
        LineState.ACTIVE
    )


def test_state_at_reads_naive_database_values_as_utc() -> None:
    naive = datetime(2025, 3, 1, 21, 0)  # noqa: DTZ001 - as SQLite returns it
    assert state_at(naive, PERIODS, VALID_UNTIL) is LineState.GRACE
    assert state_at(naive, PERIODS, VALID_UNTIL - timedelta(seconds=1)) is LineState.ACTIVE


def test_next_transition_at() -> None:
    assert next_transition_at(VALID_UNTIL, PERIODS, LineState.ACTIVE) == VALID_UNTIL
    assert next_transition_at(VALID_UNTIL, PERIODS, LineState.GRACE) == VALID_UNTIL + timedelta(
        days=30
    )
    assert next_transition_at(VALID_UNTIL, PERIODS, LineState.SUSPENDED) == VALID_UNTIL + timedelta(
        days=90
    )
    assert next_transition_at(VALID_UNTIL, PERIODS, LineState.RECYCLED) is None


def test_allowed_and_forbidden_transitions() -> None:
    for allowed in [
        (LineState.ACTIVE, LineState.GRACE),
        (LineState.GRACE, LineState.SUSPENDED),
        (LineState.SUSPENDED, LineState.RECYCLED),
        (LineState.ACTIVE, LineState.ACTIVE),
        (LineState.GRACE, LineState.ACTIVE),
        (LineState.SUSPENDED, LineState.ACTIVE),
    ]:
        check_transition(*allowed)
    forbidden = {(a, b) for a in LineState for b in LineState} - ALLOWED_TRANSITIONS
    assert (LineState.RECYCLED, LineState.ACTIVE) in forbidden
    assert (LineState.ACTIVE, LineState.SUSPENDED) in forbidden
    for pair in forbidden:
        with pytest.raises(ValueError, match="cannot go"):
            check_transition(*pair)


def test_transitions_between_records_each_step_with_its_instant() -> None:
    now = VALID_UNTIL + timedelta(days=95)
    assert transitions_between(VALID_UNTIL, PERIODS, LineState.ACTIVE, now) == [
        (LineState.ACTIVE, LineState.GRACE, VALID_UNTIL),
        (LineState.GRACE, LineState.SUSPENDED, VALID_UNTIL + timedelta(days=30)),
        (LineState.SUSPENDED, LineState.RECYCLED, VALID_UNTIL + timedelta(days=90)),
    ]
    assert transitions_between(VALID_UNTIL, PERIODS, LineState.GRACE, now)[0] == (
        LineState.GRACE,
        LineState.SUSPENDED,
        VALID_UNTIL + timedelta(days=30),
    )
    assert transitions_between(VALID_UNTIL, PERIODS, LineState.RECYCLED, now) == []
    assert transitions_between(VALID_UNTIL, PERIODS, LineState.ACTIVE, VALID_UNTIL) == [
        (LineState.ACTIVE, LineState.GRACE, VALID_UNTIL)
    ]
    # A renewed line whose new end date is ahead: time has nothing to record.
    earlier = VALID_UNTIL - timedelta(days=1)
    assert transitions_between(VALID_UNTIL, PERIODS, LineState.GRACE, earlier) == []


def test_zero_grace_still_passes_through_grace() -> None:
    no_grace = LifecyclePeriods(grace_days=0, suspension_days=60, recycle_days=0)
    now = VALID_UNTIL + timedelta(hours=1)
    assert state_at(VALID_UNTIL, no_grace, now) is LineState.SUSPENDED
    assert transitions_between(VALID_UNTIL, no_grace, LineState.ACTIVE, now) == [
        (LineState.ACTIVE, LineState.GRACE, VALID_UNTIL),
        (LineState.GRACE, LineState.SUSPENDED, VALID_UNTIL),
    ]


def test_negative_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="grace_days"):
        LifecyclePeriods(grace_days=-1, suspension_days=60, recycle_days=90)


# Hypothesis takes naive bounds and attaches the time zone itself.
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
periods = st.builds(
    LifecyclePeriods,
    grace_days=st.integers(min_value=0, max_value=400),
    suspension_days=st.integers(min_value=0, max_value=400),
    recycle_days=st.integers(min_value=0, max_value=400),
)


@given(valid_until=instants, lifecycle=periods, first=instants, second=instants)
def test_state_never_goes_back_as_time_passes(
    valid_until: datetime, lifecycle: LifecyclePeriods, first: datetime, second: datetime
) -> None:
    earlier, later = sorted((first, second))
    before = state_at(valid_until, lifecycle, earlier)
    after = state_at(valid_until, lifecycle, later)
    assert ORDER.index(before) <= ORDER.index(after)


@given(
    valid_until=instants,
    lifecycle=periods,
    recorded=st.sampled_from(list(LineState)),
    now=instants,
)
def test_transitions_chain_to_the_state_at_now(
    valid_until: datetime, lifecycle: LifecyclePeriods, recorded: LineState, now: datetime
) -> None:
    steps = transitions_between(valid_until, lifecycle, recorded, now)
    if not steps:
        return
    assert steps[0][0] is recorded
    assert steps[-1][1] is state_at(valid_until, lifecycle, now, recorded=recorded)
    for (_, to_state, at), (from_state, _, next_at) in pairwise(steps):
        assert to_state is from_state
        assert at <= next_at
    for from_state, to_state, at in steps:
        assert (from_state, to_state) in ALLOWED_TRANSITIONS
        assert at <= now
        assert state_at(valid_until, lifecycle, at) is not from_state


def test_renewal_base_is_the_later_of_end_date_and_now() -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    still_valid = datetime(2025, 3, 20, tzinfo=UTC)
    in_grace = datetime(2025, 3, 5, tzinfo=UTC)
    assert renewal_base(still_valid, now) == still_valid
    assert renewal_base(in_grace, now) == now


def test_extend_validity() -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    still_valid = now + timedelta(days=10)
    assert extend_validity(still_valid, now, days=30, max_validity_days=365) == now + timedelta(
        days=40
    )
    in_grace = now - timedelta(days=5)
    assert extend_validity(in_grace, now, days=30, max_validity_days=365) == now + timedelta(
        days=30
    )
    assert extend_validity(still_valid, now, days=360, max_validity_days=365) == now + timedelta(
        days=365
    )
    with pytest.raises(ValueError, match="negative"):
        extend_validity(still_valid, now, days=-1, max_validity_days=365)


@given(
    valid_until=instants,
    now=instants,
    days=st.integers(min_value=0, max_value=800),
    max_days=st.integers(min_value=0, max_value=800),
)
def test_extend_validity_is_capped_and_never_goes_backwards(
    valid_until: datetime, now: datetime, days: int, max_days: int
) -> None:
    new_end = extend_validity(valid_until, now, days=days, max_validity_days=max_days)
    cap = now + timedelta(days=max_days)
    assert new_end <= cap
    base = renewal_base(valid_until, now)
    if base + timedelta(days=days) <= cap:
        assert new_end == base + timedelta(days=days)
    if days > 0 and base < cap:
        assert new_end > base


@pytest.mark.parametrize(
    ("remaining", "days"),
    [
        (timedelta(days=3), 3),
        (timedelta(days=2, seconds=1), 3),
        (timedelta(seconds=1), 1),
        (timedelta(0), 0),
        (timedelta(days=-4), 0),
    ],
)
def test_days_left(remaining: timedelta, days: int) -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    assert days_left(now + remaining, now) == days
