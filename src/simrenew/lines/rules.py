"""Pure rules about lines: numbers, subscriber identity and the lifecycle dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import phonenumbers

from simrenew.clock import KUWAIT, utc
from simrenew.errors import InvalidIdentity, InvalidMsisdn

_TO_LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
# Numbers copied from Arabic text often carry invisible direction marks.
_BIDI_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)

# ---------------------------------------------------------------------------------------------
# Mobile numbers

KUWAIT_COUNTRY_CODE = 965
_MAX_MSISDN_TEXT = 40
# Only separators people really type: phonenumbers would otherwise read letters as a keypad
# ("5000ABCD") and accept extensions, both of which would register a number nobody typed.
_MSISDN_CHARACTERS = re.compile(r"[0-9\s().+-]+")
_MOBILE_PREFIXES = ("41", "5", "6", "9")
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def normalize_msisdn(text: str) -> str:
    """Any usual spelling of a Kuwaiti mobile number as E.164, e.g. "+96550001234"."""
    if len(text) > _MAX_MSISDN_TEXT:
        raise InvalidMsisdn(f"The number is too long (more than {_MAX_MSISDN_TEXT} characters).")
    cleaned = text.translate(_BIDI_MARKS).translate(_TO_LATIN_DIGITS).strip()
    if not cleaned:
        raise InvalidMsisdn("The number is empty.")
    if not _MSISDN_CHARACTERS.fullmatch(cleaned):
        raise InvalidMsisdn("The number may contain only digits, spaces, dashes and a leading +.")
    try:
        parsed = phonenumbers.parse(cleaned, "KW")
    except phonenumbers.NumberParseException:
        raise InvalidMsisdn("The number could not be read as a phone number.") from None
    if parsed.country_code != KUWAIT_COUNTRY_CODE:
        raise InvalidMsisdn(
            f"The number has country code +{parsed.country_code}; only Kuwait (+965) is served."
        )
    national = phonenumbers.national_significant_number(parsed)
    if len(national) != 8:
        raise InvalidMsisdn("A Kuwaiti number has 8 digits after +965.")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidMsisdn("The number is not in an allocated Kuwaiti range.")
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise InvalidMsisdn("The number is a landline or service number, not a mobile number.")
    # Belt and braces against a metadata update widening what counts as mobile.
    if not national.startswith(_MOBILE_PREFIXES):
        raise InvalidMsisdn("Kuwaiti mobile numbers start with 41, 5, 6 or 9.")
    # The prefix is deliberately not mapped to an operator: numbers are portable.
    return f"+{KUWAIT_COUNTRY_CODE}{national}"


def national_number(msisdn_e164: str) -> str:
    """The 8 national digits of a Kuwaiti mobile number, e.g. "50001234"."""
    return normalize_msisdn(msisdn_e164).removeprefix(f"+{KUWAIT_COUNTRY_CODE}")


# ---------------------------------------------------------------------------------------------
# Subscriber identity

ID_TYPES = ("civil_id", "passport")
_CIVIL_ID_WEIGHTS = (2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CENTURIES = {"2": 1900, "3": 2000}
_MAX_IDENTITY_TEXT = 40
_PASSPORT = re.compile(r"[A-Z0-9]{6,9}")


def _civil_id_check_digit(first_eleven: str) -> int | None:
    """The check digit for the first 11 digits of a civil ID, or None when none exists."""
    pairs = zip(first_eleven, _CIVIL_ID_WEIGHTS, strict=True)
    total = sum(int(digit) * weight for digit, weight in pairs)
    check = 11 - total % 11
    # 10 and 11 cannot be written as one digit: such serials are never issued.
    return None if check >= 10 else check


def validate_civil_id(text: str, *, today: date | None = None) -> str:
    """The 12 digits of a valid Kuwaiti civil ID (birth date and check digit verified)."""
    if len(text) > _MAX_IDENTITY_TEXT:
        raise InvalidIdentity("The civil ID is too long.")
    digits = re.sub(r"[\s-]", "", text.translate(_BIDI_MARKS).translate(_TO_LATIN_DIGITS))
    if not (len(digits) == 12 and digits.isascii() and digits.isdigit()):
        raise InvalidIdentity("A civil ID has exactly 12 digits.")
    century = _CENTURIES.get(digits[0])
    if century is None:
        raise InvalidIdentity("A civil ID starts with 2 (born 1900-1999) or 3 (born 2000-2099).")
    try:
        born = date(century + int(digits[1:3]), int(digits[3:5]), int(digits[5:7]))
    except ValueError:
        raise InvalidIdentity("The birth date in the civil ID is not a real date.") from None
    # Without a given day, today in Kuwait: a civil ID is issued by the Kuwaiti calendar.
    if born > (today if today is not None else datetime.now(KUWAIT).date()):
        raise InvalidIdentity("The birth date in the civil ID is in the future.")
    check = _civil_id_check_digit(digits[:11])
    if check is None or check != int(digits[11]):
        raise InvalidIdentity("The civil ID check digit does not match: please check for typos.")
    return digits


def validate_passport(text: str) -> str:
    """A passport number in upper case without spaces: 6-9 of A-Z and 0-9, at least one digit."""
    if len(text) > _MAX_IDENTITY_TEXT:
        raise InvalidIdentity("The passport number is too long.")
    compact = re.sub(r"\s", "", text)
    # Check ASCII before upper(): "ı".upper() is "I" and would slip a non-Latin letter in.
    if not compact.isascii():
        raise InvalidIdentity("A passport number has only Latin letters A-Z and digits 0-9.")
    number = compact.upper()
    if not _PASSPORT.fullmatch(number):
        raise InvalidIdentity("A passport number has 6 to 9 letters A-Z and digits 0-9.")
    if not any(char.isdigit() for char in number):
        raise InvalidIdentity("A passport number has at least one digit.")
    return number


def validate_identity(
    id_type: str, id_number: str, *, today: date | None = None
) -> tuple[str, str]:
    """The normalised (id_type, id_number) of a civil ID or passport."""
    kind = id_type.strip().lower()
    if kind == "civil_id":
        return kind, validate_civil_id(id_number, today=today)
    if kind == "passport":
        return kind, validate_passport(id_number)
    raise InvalidIdentity(f"The identity type must be one of {', '.join(ID_TYPES)}.")


def mask_identity(id_number: str) -> str:
    """An identity number safe for logs and receipts: "2880******96", "******123"."""
    compact = re.sub(r"[\s-]", "", id_number.translate(_TO_LATIN_DIGITS))
    if len(compact) == 12 and compact.isdigit():
        return f"{compact[:4]}******{compact[-2:]}"
    # A fixed run of stars hides the length; short values are hidden entirely.
    if len(compact) < 6:
        return "******"
    return f"******{compact[-3:]}"


# ---------------------------------------------------------------------------------------------
# Lifecycle


class LineState(StrEnum):
    """Where a line is in its life; the order of members is the order of time."""

    ACTIVE = "active"
    GRACE = "grace"
    SUSPENDED = "suspended"
    RECYCLED = "recycled"


_ORDER = tuple(LineState)
_NEXT_BY_TIME = {
    LineState.ACTIVE: LineState.GRACE,
    LineState.GRACE: LineState.SUSPENDED,
    LineState.SUSPENDED: LineState.RECYCLED,
}


@dataclass(frozen=True)
class LifecyclePeriods:
    """A plan's periods in days; recycle_days is the pool quarantine, not a line state."""

    grace_days: int
    suspension_days: int
    recycle_days: int

    def __post_init__(self) -> None:
        for name in ("grace_days", "suspension_days", "recycle_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


ALLOWED_TRANSITIONS: frozenset[tuple[LineState, LineState]] = frozenset(
    {
        (LineState.ACTIVE, LineState.GRACE),
        (LineState.GRACE, LineState.SUSPENDED),
        (LineState.SUSPENDED, LineState.RECYCLED),
        (LineState.ACTIVE, LineState.ACTIVE),
        (LineState.GRACE, LineState.ACTIVE),
        (LineState.SUSPENDED, LineState.ACTIVE),
    }
)


def _grace_ends(valid_until: datetime, periods: LifecyclePeriods) -> datetime:
    return utc(valid_until) + timedelta(days=periods.grace_days)


def _suspension_ends(valid_until: datetime, periods: LifecyclePeriods) -> datetime:
    return _grace_ends(valid_until, periods) + timedelta(days=periods.suspension_days)


def state_at(
    valid_until: datetime,
    periods: LifecyclePeriods,
    now: datetime,
    *,
    recorded: LineState | None = None,
) -> LineState:
    """The state the dates give at `now`; a recorded recycled state is final."""
    # Once recycled the number went back to the pool: no date can bring the old line back.
    if recorded is LineState.RECYCLED:
        return LineState.RECYCLED
    instant = utc(now)
    if instant < utc(valid_until):
        return LineState.ACTIVE
    if instant < _grace_ends(valid_until, periods):
        return LineState.GRACE
    if instant < _suspension_ends(valid_until, periods):
        return LineState.SUSPENDED
    return LineState.RECYCLED


def next_transition_at(
    valid_until: datetime, periods: LifecyclePeriods, state: LineState
) -> datetime | None:
    """When a line in `state` leaves it by time alone (None for recycled)."""
    if state is LineState.RECYCLED:
        return None
    return _leaves_at(valid_until, periods, state)


def _leaves_at(valid_until: datetime, periods: LifecyclePeriods, state: LineState) -> datetime:
    """The end of a state that time does end (active, grace, suspended)."""
    if state is LineState.ACTIVE:
        return utc(valid_until)
    if state is LineState.GRACE:
        return _grace_ends(valid_until, periods)
    if state is LineState.SUSPENDED:
        return _suspension_ends(valid_until, periods)
    raise ValueError(f"time never ends the {state} state")


def check_transition(from_state: LineState, to_state: LineState) -> None:
    """Raise ValueError unless the lifecycle allows moving from one state to the other."""
    if (from_state, to_state) not in ALLOWED_TRANSITIONS:
        raise ValueError(f"a line cannot go from {from_state} to {to_state}")


def transitions_between(
    valid_until: datetime,
    periods: LifecyclePeriods,
    recorded: LineState,
    now: datetime,
) -> list[tuple[LineState, LineState, datetime]]:
    """The time-driven transitions from the recorded state to the state at `now`, with instants."""
    target = state_at(valid_until, periods, now, recorded=recorded)
    # Dates that point backwards (a renewal not yet recorded) are not time's business.
    if _ORDER.index(target) <= _ORDER.index(recorded):
        return []
    steps: list[tuple[LineState, LineState, datetime]] = []
    state = recorded
    while state is not target:
        following = _NEXT_BY_TIME[state]
        steps.append((state, following, _leaves_at(valid_until, periods, state)))
        state = following
    return steps


def renewal_base(valid_until: datetime, now: datetime) -> datetime:
    """Where new validity starts: the current end date if still valid, else now."""
    return max(utc(valid_until), utc(now))


def extend_validity(
    valid_until: datetime, now: datetime, *, days: int, max_validity_days: int
) -> datetime:
    """The end date after adding `days`, capped at now + max_validity_days."""
    if days < 0 or max_validity_days < 0:
        raise ValueError("days and max_validity_days must not be negative")
    extended = renewal_base(valid_until, now) + timedelta(days=days)
    # The cap can fall before an end date stacked beyond it: the quote must refuse such a renewal.
    return min(extended, utc(now) + timedelta(days=max_validity_days))


def days_left(valid_until: datetime, now: datetime) -> int:
    """Whole days of validity remaining, a started day counting as one (0 once expired)."""
    remaining = utc(valid_until) - utc(now)
    if remaining <= timedelta(0):
        return 0
    whole, part = divmod(remaining, timedelta(days=1))
    return whole + (1 if part else 0)
