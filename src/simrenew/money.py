"""Money as integer fils (1 KWD = 1000 fils): parsing and formatting in English, Arabic and Chinese.

Amounts never pass through floats: text is split into whole and fractional digits and combined as
integers; percentages use exact rational arithmetic.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from simrenew.errors import ValidationFailed

FILS_PER_KWD = 1000
# Far above any prepaid renewal; a larger figure is a typo (or an attack), not a payment.
MAX_FILS = 1_000_000 * FILS_PER_KWD

_ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
_EASTERN_ARABIC_INDIC = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DECIMAL_SEPARATOR = "٫"
_ARABIC_THOUSANDS_SEPARATOR = "٬"
_TO_LATIN = str.maketrans(
    _ARABIC_INDIC + _EASTERN_ARABIC_INDIC + _ARABIC_DECIMAL_SEPARATOR + _ARABIC_THOUSANDS_SEPARATOR,
    "0123456789" * 2 + ".,",
)
_TO_ARABIC = str.maketrans("0123456789.", _ARABIC_INDIC + _ARABIC_DECIMAL_SEPARATOR)
# Text copied from Arabic pages and SMS often carries invisible direction marks around numbers.
_BIDI_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)

_CURRENCY_NAMES = {"en": "KWD", "ar": "د.ك", "zh": "科威特第纳尔"}
_CURRENCY_TOKEN = re.compile(r"kwd|k\.?d\.?|د\.ك\.?|科威特第纳尔", re.IGNORECASE)
_PLAIN_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<frac>[0-9]*))?")
_GROUPED_AMOUNT = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+)\.(?P<frac>[0-9]*)")
_MAX_TEXT_LENGTH = 64
_MAX_PERCENT = 10_000
_MAX_PERCENT_DECIMALS = 9
_PERCENT_QUANTUM = Decimal(1).scaleb(-_MAX_PERCENT_DECIMALS)


def parse_fils(text: str) -> int:
    """Parse an amount of KWD as typed or printed (en/ar digits, optional currency) into fils."""
    if len(text) > _MAX_TEXT_LENGTH:
        raise ValidationFailed(f"The amount is too long (more than {_MAX_TEXT_LENGTH} characters).")
    cleaned = text.translate(_BIDI_MARKS).translate(_TO_LATIN).strip()
    if not cleaned:
        raise ValidationFailed("The amount is empty.")
    number = _strip_currency(cleaned)
    if not number:
        raise ValidationFailed("The amount has a currency but no number.")
    if number[0] in "-−(" or number[-1] == "-":
        raise ValidationFailed("The amount must not be negative.")
    if number.lower().lstrip("+") in {"nan", "inf", "infinity", "snan"}:
        raise ValidationFailed("The amount must be a finite number.")
    whole, frac = _split_digits(number)
    if len(frac) > 3:
        raise ValidationFailed("The amount has more than 3 decimals (1 KWD = 1000 fils).")
    # Leading zeros are harmless but must not let a long string past the size check below.
    whole = whole.lstrip("0") or "0"
    if len(whole) > len(str(MAX_FILS // FILS_PER_KWD)):
        raise ValidationFailed("The amount is too large (at most 1000000 KWD).")
    fils = int(whole) * FILS_PER_KWD + int(frac.ljust(3, "0"))
    if fils > MAX_FILS:
        raise ValidationFailed("The amount is too large (at most 1000000 KWD).")
    return fils


def _strip_currency(text: str) -> str:
    """Remove one currency name written before or after the number."""
    match = _CURRENCY_TOKEN.search(text)
    if match is None:
        return text
    before, after = text[: match.start()].strip(), text[match.end() :].strip()
    if before and after:
        raise ValidationFailed("The currency must be written before or after the amount.")
    return before or after


def _split_digits(number: str) -> tuple[str, str]:
    """Split an amount into whole and fractional digit strings, refusing anything unclear."""
    number = number.removeprefix("+")
    plain = _PLAIN_AMOUNT.fullmatch(number)
    if plain is not None and (plain["whole"] or plain["frac"]):
        if plain["frac"] == "" and "." in number:
            raise ValidationFailed("The amount must have digits after the decimal point.")
        return plain["whole"], plain["frac"] or ""
    if "," in number:
        # "1,234" is 1.234 KWD in decimal-comma locales and 1234 KWD elsewhere: only a
        # properly grouped figure with a decimal point ("1,234.500") reads one way.
        grouped = _GROUPED_AMOUNT.fullmatch(number)
        if grouped is not None and grouped["frac"]:
            return grouped["whole"].replace(",", ""), grouped["frac"]
        raise ValidationFailed(
            "The amount has an ambiguous separator: write it without grouping, like 1234.500."
        )
    raise ValidationFailed("The amount is not a number of KWD, like 12.500.")


def format_fils(fils: int, language: str = "en", *, latin_digits: bool = False) -> str:
    """Display fils as KWD with 3 decimals in en/ar/zh, e.g. "12.500 KWD" or "١٢٫٥٠٠ د.ك"."""
    _require_int(fils, "fils")
    lang = _primary_language(language)
    sign = "-" if fils < 0 else ""
    whole, frac = divmod(abs(fils), FILS_PER_KWD)
    # No thousands grouping: separators cost SMS characters and confuse parsing back.
    number = f"{whole}.{frac:03d}"
    if lang == "ar" and not latin_digits:
        number = number.translate(_TO_ARABIC)
    return f"{sign}{number} {_CURRENCY_NAMES[lang]}"


def _primary_language(language: str) -> str:
    """Reduce "ar-KW", "zh_Hans" and the like to a supported language, defaulting to en."""
    primary = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return primary if primary in _CURRENCY_NAMES else "en"


def percent_of(fils: int, percent: Decimal | str | int, *, round_up: bool = False) -> int:
    """Percent of a non-negative amount in fils, rounded down (bonuses) or up (fees)."""
    _require_int(fils, "fils")
    if fils < 0:
        raise ValueError("percent_of applies to non-negative amounts")
    ratio = _percent_ratio(percent)
    numerator, denominator = ratio.as_integer_ratio()
    numerator *= fils
    denominator *= 100
    quotient, remainder = divmod(numerator, denominator)
    return quotient + 1 if round_up and remainder else quotient


def _percent_ratio(percent: Decimal | str | int) -> Decimal:
    """Read a percentage exactly, refusing floats, negatives and non-numbers."""
    if isinstance(percent, bool) or not isinstance(percent, Decimal | str | int):
        raise TypeError(f"percent must be Decimal, str or int, not {type(percent).__name__}")
    if isinstance(percent, str):
        try:
            value = Decimal(percent.strip().removesuffix("%").strip())
        except InvalidOperation:
            raise ValidationFailed(f"The percentage {percent!r} is not a number.") from None
    else:
        value = Decimal(percent)
    if not value.is_finite():
        raise ValidationFailed("The percentage must be a finite number.")
    if value < 0:
        raise ValidationFailed("The percentage must not be negative.")
    # Bounds keep the exact arithmetic small: "1E-999999" would mean a million-digit integer.
    if value > _MAX_PERCENT or value != value.quantize(_PERCENT_QUANTUM):
        raise ValidationFailed(
            f"The percentage must be at most {_MAX_PERCENT} with at most "
            f"{_MAX_PERCENT_DECIMALS} decimals."
        )
    return value


def fils_from_kwd(kwd: int) -> int:
    """Whole KWD to fils, for prices written in whole dinars."""
    _require_int(kwd, "kwd")
    return kwd * FILS_PER_KWD


def _require_int(value: object, name: str) -> None:
    """Refuse floats (and bools) at run time too: a float amount is always a bug."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
