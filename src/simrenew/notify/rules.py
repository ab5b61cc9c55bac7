"""Pure notification rules: SMS encoding and segments, quiet hours, which reminder is due."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Literal

from simrenew.clock import KUWAIT, utc

# GSM 03.38: a character's septet is its index in the default alphabet (0x1B is the escape that
# introduces the extension table); extension characters are sent as ESC + their septet, so they
# cost two septets.
GSM_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                 "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
# The escape is never text of its own.
GSM7_BASIC = frozenset(GSM_ALPHABET) - {"\x1b"}
GSM7_EXTENSION = frozenset(GSM_EXTENSION)


def gsm_septets(char: str) -> bytes:
    """One character in GSM 03.38, one septet per byte (unpacked, as SMPP carries it)."""
    if char in GSM_EXTENSION:
        return bytes([0x1B, GSM_EXTENSION[char]])
    return bytes([GSM_ALPHABET.index(char)])


SINGLE_LIMITS = {"gsm7": 160, "ucs2": 70}
PART_LIMITS = {"gsm7": 153, "ucs2": 67}  # a concatenated part loses room to its UDH

Encoding = Literal["gsm7", "ucs2"]


def sms_encoding(text: str) -> Encoding:
    """ "gsm7" when every character is in the GSM 03.38 alphabet or its extension, else "ucs2"."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return "gsm7"
    return "ucs2"


def _widths(text: str, encoding: Encoding) -> Iterable[int]:
    """What each character costs: septets (GSM 7-bit) or UTF-16 code units (UCS-2)."""
    if encoding == "gsm7":
        return (2 if char in GSM7_EXTENSION else 1 for char in text)
    # Outside the Basic Multilingual Plane (emoji) a character is a surrogate pair.
    return (2 if ord(char) > 0xFFFF else 1 for char in text)


def sms_length(text: str) -> int:
    """The message's length in its encoding's units (septets or UTF-16 code units)."""
    return sum(_widths(text, sms_encoding(text)))


def sms_segments(text: str) -> int:
    """How many SMS parts the text is sent in (160/153 GSM 7-bit, 70/67 UCS-2)."""
    encoding = sms_encoding(text)
    widths = list(_widths(text, encoding))
    if sum(widths) <= SINGLE_LIMITS[encoding]:
        return 1
    # Packed character by character: an escape pair or a surrogate pair is never split
    # across parts, so a part may end a unit short of its limit.
    limit = PART_LIMITS[encoding]
    parts, used = 1, 0
    for width in widths:
        if used + width > limit:
            parts, used = parts + 1, 0
        used += width
    return parts


# ---------------------------------------------------------------------------------------------
# Quiet hours

_QUIET_SPEC = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """The (start, end) local times of a "HH:MM-HH:MM" spec; None when empty (disabled)."""
    cleaned = spec.strip()
    if not cleaned:
        return None
    match = _QUIET_SPEC.fullmatch(cleaned.replace(" ", ""))
    problem = f"quiet hours {spec!r} must look like 21:00-09:00 (HH:MM-HH:MM, Asia/Kuwait time)"
    if match is None:
        raise ValueError(f"{problem}, or be empty to disable them")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if max(start_h, end_h) > 23 or max(start_m, end_m) > 59:
        raise ValueError(f"{problem}: hours run 00-23 and minutes 00-59")
    start, end = time(start_h, start_m), time(end_h, end_m)
    if start == end:
        raise ValueError(f"{problem}: the start and the end must differ")
    return start, end


def in_quiet_hours(now_utc: datetime, spec: str) -> bool:
    """Whether `now_utc` falls in the quiet hours (Asia/Kuwait; a window may wrap midnight)."""
    window = parse_quiet_hours(spec)
    if window is None:
        return False
    start, end = window
    local = utc(now_utc).astimezone(KUWAIT).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps midnight, like 21:00-09:00


def quiet_hours_end(now_utc: datetime, spec: str) -> datetime:
    """When bulk SMS may go out: the end of the quiet hours, or `now_utc` outside them."""
    if not in_quiet_hours(now_utc, spec):
        return utc(now_utc)
    window = parse_quiet_hours(spec)
    assert window is not None  # noqa: S101 - in_quiet_hours is False without a window
    end = window[1]
    local = utc(now_utc).astimezone(KUWAIT)
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)  # Kuwait keeps no daylight saving: a day is 24 hours
    return utc(ends)


# ---------------------------------------------------------------------------------------------
# Reminders


def due_reminder(valid_until: datetime, reminder_days: Iterable[int], now: datetime) -> int | None:
    """The nearest reminder point already reached before the end (e.g. 3 with 2.5 days left)."""
    remaining = utc(valid_until) - utc(now)
    if remaining <= timedelta(0):
        return None
    reached = [days for days in reminder_days if days > 0 and remaining <= timedelta(days=days)]
    return min(reached, default=None)
