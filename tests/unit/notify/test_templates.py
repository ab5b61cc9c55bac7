"""SMS templates: every message in every language fits in two parts with realistic values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simrenew.ids import new_receipt_no
from simrenew.money import format_fils
from simrenew.notify.rules import sms_encoding, sms_segments
from simrenew.notify.templates import (
    TEMPLATES,
    count_text,
    kuwait_date,
    kuwait_minute,
    render,
    short_url,
)

LANGUAGES = ("en", "ar", "zh")


@dataclass(frozen=True)
class OperatorValues:
    names: dict[str, str]
    ussd_code: str
    web_url: str
    care_number: str


# The demo catalog's operators, and one with a long name, a long web address and a long USSD
# code: the longest values a Kuwaiti operator's SMS realistically carries.
OPERATORS = {
    "zahra": OperatorValues(
        {"en": "Zahra Telecom", "ar": "زهرة للاتصالات", "zh": "扎赫拉电信"},
        "*135#",
        "https://zahra.example",
        "107",
    ),
    "najm": OperatorValues(
        {"en": "Najm Mobile", "ar": "نجم موبايل", "zh": "纳杰姆移动"},
        "*150#",
        "https://najm.example",
        "121",
    ),
    "bahar": OperatorValues(
        {"en": "Bahar Telecom", "ar": "بحر للاتصالات", "zh": "巴哈尔电信"},
        "*100#",
        "https://www.bahar.example/en",
        "188",
    ),
    "long": OperatorValues(
        {"en": "Wataniya Telecom Kuwait", "ar": "الوطنية للاتصالات", "zh": "科威特国家电信"},
        "*135*1#",
        "https://www.wataniya.com.kw/",
        "1888",
    ),
}
MSISDNS = ("+96550001234", "+96599887766", "+96541234567")
VALID_UNTIL = datetime(2026, 12, 3, 11, 5, tzinfo=UTC)  # 14:05 in Kuwait
AMOUNTS = (500, 12_500, 999_999)
DAYS = (1, 2, 3, 7, 10, 11, 30)
MINUTES = (1, 2, 5, 10, 15)


def params_for(
    template: str, language: str, op: OperatorValues, msisdn: str
) -> list[dict[str, Any]]:
    """Realistic parameters for one template, as the code that queues it builds them."""
    base = {"operator": op.names[language], "msisdn": msisdn}
    web = short_url(op.web_url)
    if template == "reminder":
        return [
            {
                **base,
                "days_left": days,
                "valid_until": kuwait_minute(VALID_UNTIL),
                "ussd_code": op.ussd_code,
                "web_url": web,
            }
            for days in DAYS
        ]
    if template == "grace_started":
        ends = kuwait_date(VALID_UNTIL + timedelta(days=7))
        return [{**base, "grace_ends": ends, "ussd_code": op.ussd_code, "web_url": web}]
    if template == "suspended":
        recycle_on = kuwait_date(VALID_UNTIL + timedelta(days=37))
        return [{**base, "recycle_on": recycle_on, "care_number": op.care_number, "web_url": web}]
    if template == "recycle_warning":
        recycle_on = kuwait_date(VALID_UNTIL + timedelta(days=37))
        return [{**base, "recycle_on": recycle_on, "care_number": op.care_number}]
    if template == "recycled":
        return [base]
    if template == "reactivation":
        return [{**base, "valid_until": kuwait_minute(VALID_UNTIL + timedelta(days=30))}]
    if template == "otp":
        return [{"code": "482913", "minutes": minutes} for minutes in MINUTES]
    if template == "renewal_confirmation":
        return [
            {
                **base,
                "credit": format_fils(amount, language, latin_digits=True),
                "balance": format_fils(amount * 10 + 1, language, latin_digits=True),
                "valid_until": kuwait_minute(VALID_UNTIL),
                "receipt_no": new_receipt_no(),
            }
            for amount in AMOUNTS
        ]
    if template == "payment_refunded":
        return [
            {
                **base,
                "amount": format_fils(amount, language, latin_digits=True),
                "payment_ref": "7KQ2M9XD",
            }
            for amount in AMOUNTS
        ]
    raise AssertionError(f"no realistic values for template {template!r}")


def all_messages() -> list[tuple[str, str, str, dict[str, Any]]]:
    cases = []
    for template in TEMPLATES:
        for language in LANGUAGES:
            for code, op in OPERATORS.items():
                for msisdn in MSISDNS:
                    for params in params_for(template, language, op, msisdn):
                        cases.append((template, language, code, params))
    return cases


def test_every_template_exists_in_every_language() -> None:
    expected = {
        "renewal_confirmation",
        "reminder",
        "grace_started",
        "suspended",
        "recycle_warning",
        "recycled",
        "reactivation",
        "otp",
        "payment_refunded",
    }
    assert expected <= set(TEMPLATES)
    for template, texts in TEMPLATES.items():
        assert set(texts) == set(LANGUAGES), template


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_fits_in_two_segments(template: str, language: str) -> None:
    worst = 0
    for name, lang, _, params in all_messages():
        if (name, lang) != (template, language):
            continue
        body = render(template, language, params)
        encoding = sms_encoding(body)
        segments = sms_segments(body)
        assert segments <= 2, f"{template}/{language}: {segments} parts ({encoding}): {body}"
        worst = max(worst, segments)
        # English must stay in the GSM alphabet: one stray curly quote would make it UCS-2,
        # cutting a part from 160 to 70 characters.
        assert encoding == ("gsm7" if language == "en" else "ucs2"), body
        assert not re.search(r"[{}]", body), f"a placeholder was left: {body}"
    assert worst >= 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_reminders_say_days_left_end_date_and_how_to_renew(language: str) -> None:
    op = OPERATORS["bahar"]
    for params in params_for("reminder", language, op, "+96550001234"):
        body = render("reminder", language, params)
        assert count_text(params["days_left"], "day", language) in body
        assert "2026-12-03 14:05" in body  # the end in Kuwait time, not UTC (11:05)
        assert "*100#" in body
        assert "www.bahar.example/en" in body
        assert op.names[language] in body
        assert "+96550001234" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_lifecycle_notices_carry_their_dates_and_contacts(language: str) -> None:
    op = OPERATORS["zahra"]
    grace = render(
        "grace_started", language, params_for("grace_started", language, op, "+96550001234")[0]
    )
    assert "2026-12-10" in grace
    assert "*135#" in grace
    assert "zahra.example" in grace
    suspended = render(
        "suspended", language, params_for("suspended", language, op, "+96550001234")[0]
    )
    assert "2027-01-09" in suspended
    assert "107" in suspended
    assert "zahra.example" in suspended
    warning = params_for("recycle_warning", language, op, "+96550001234")[0]
    assert "2027-01-09" in render("recycle_warning", language, warning)


def test_days_are_counted_naturally() -> None:
    assert count_text(1, "day", "en") == "1 day"
    assert count_text(3, "day", "en") == "3 days"
    assert count_text(1, "day", "ar") == "يوم واحد"
    assert count_text(2, "day", "ar") == "يومين"
    assert count_text(3, "day", "ar") == "3 أيام"
    assert count_text(10, "day", "ar") == "10 أيام"
    assert count_text(11, "day", "ar") == "11 يومًا"
    assert count_text(100, "day", "ar") == "100 يوم"
    assert count_text(7, "day", "zh") == "7天"
    assert count_text(5, "minute", "ar") == "5 دقائق"
    assert count_text(15, "minute", "ar") == "15 دقيقة"
    assert count_text(1, "minute", "en") == "1 minute"
    assert count_text(10, "minute", "zh") == "10分钟"


def test_otp_states_code_and_minutes() -> None:
    assert render("otp", "en", {"code": "482913", "minutes": 5}) == (
        "Your verification code is 482913. It expires in 5 minutes. "
        "Never share it with anyone, not even our staff."
    )
    assert "482913" in render("otp", "ar", {"code": "482913", "minutes": 5})
    assert "5 دقائق" in render("otp", "ar", {"code": "482913", "minutes": 5})


def test_an_unknown_language_falls_back_to_english() -> None:
    params = {"operator": "Zahra Telecom", "msisdn": "+96550001234"}
    assert render("recycled", "fr", params) == render("recycled", "en", params)


def test_dates_are_kuwait_time() -> None:
    late_evening_utc = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)  # 01:30 on the 3rd in Kuwait
    assert kuwait_date(late_evening_utc) == "2026-12-03"
    assert kuwait_minute(late_evening_utc) == "2026-12-03 01:30"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://zahra.example", "zahra.example"),
        ("https://www.bahar.example/en", "www.bahar.example/en"),
        ("http://najm.example/", "najm.example"),
        ("zain.com.kw/renew", "zain.com.kw/renew"),
    ],
)
def test_web_addresses_are_shown_short(url: str, shown: str) -> None:
    assert short_url(url) == shown


def test_the_renewal_confirmation_keeps_its_parameters() -> None:
    body = render(
        "renewal_confirmation",
        "en",
        {
            "operator": "Zahra Telecom",
            "msisdn": "+96550001234",
            "credit": "5.000 KWD",
            "balance": "12.500 KWD",
            "valid_until": "2026-12-03 14:05",
            "receipt_no": "R0ABCDEFGH12345678",
        },
    )
    for part in ("5.000 KWD", "12.500 KWD", "2026-12-03 14:05", "R0ABCDEFGH12345678"):
        assert part in body
