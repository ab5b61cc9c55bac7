"""Time: every rule asks a Clock; instants are aware UTC, shown and scheduled in Asia/Kuwait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from simrenew.errors import ValidationFailed

KUWAIT = ZoneInfo("Asia/Kuwait")

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
_MAX_TEXT_LENGTH = 64


class Clock(Protocol):
    """Where the current instant comes from: the system in production, a fixed one in tests."""

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to, for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        """The instant the clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to an instant (forwards or backwards)."""
        # One attribute assignment: readers on other threads see the old or the new instant.
        self._at = _aware_utc(at)

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by timedelta keywords (days=1, hours=2) and return the new now."""
        self._at = self._at + timedelta(**delta)
        return self._at


def _aware_utc(at: datetime) -> datetime:
    """Refuse a naive instant: a test that means Kuwait time must not silently get UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("FixedClock needs an aware datetime (tzinfo=UTC or KUWAIT)")
    return at.astimezone(UTC)


def utc(dt: datetime) -> datetime:
    """Aware UTC from a stored instant: naive values (as SQLite returns them) are UTC."""
    if dt.tzinfo is UTC:
        return dt  # the common case (PostgreSQL sessions run in UTC), hot in sweeps
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_kuwait(dt: datetime) -> datetime:
    """The instant in Asia/Kuwait local time (naive input is taken as UTC, like utc())."""
    return utc(dt).astimezone(KUWAIT)


def parse_instant(text: str) -> datetime:
    """Read ISO 8601 input as aware UTC; a date alone or a naive time is Asia/Kuwait local time."""
    cleaned = text.strip().translate(_ARABIC_DIGITS)
    if not cleaned:
        raise ValidationFailed("The date or time is empty.")
    if len(cleaned) > _MAX_TEXT_LENGTH:
        raise ValidationFailed("The date or time is too long.")
    try:
        # A bare date parses as naive midnight, which the naive branch reads as Kuwait midnight.
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValidationFailed(
            "The date or time is not in ISO 8601 form, like 2025-03-01 or 2025-03-01T09:30+03:00."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KUWAIT)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed("The date or time is out of range.") from None
