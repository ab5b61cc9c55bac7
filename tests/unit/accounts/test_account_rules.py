"""Account rules: logins, passwords, one-time codes, sign-in locks and the words around them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.accounts.rules import (
    OTP_MAX_ATTEMPTS,
    OTP_MAX_SENDS_PER_HOUR,
    PASSWORD_RULES,
    SIGNIN_LOCK,
    SIGNIN_WINDOW,
    Login,
    OtpVerdict,
    SigninGuard,
    account_id_of,
    attempts_left_text,
    binding_is_current,
    check_language,
    check_password,
    clean_name,
    is_session_token,
    judge_otp,
    new_otp_code,
    new_session_token,
    normalize_login,
    normalize_otp,
    otp_digest,
    sends_blocked_until,
    try_again_in,
    wait_seconds,
)
from simrenew.errors import LANGUAGES, NotAllowed, ValidationFailed
from simrenew.staff.rules import Caller, new_token

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MOBILE = Login("mobile", "+96550001234")
EMAIL = Login("email", "fatima@example.com")


# -- logins, names, languages -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["50001234", "+96550001234", "00965 5000-1234", "٥٠٠٠١٢٣٤", "\u200e50001234\u200f"]
)
def test_a_mobile_login_is_stored_in_e164_however_it_is_typed(typed: str) -> None:
    assert normalize_login(typed) == MOBILE


def test_an_email_login_is_stored_lower_cased_and_trimmed() -> None:
    assert normalize_login("  Fatima@Example.COM ") == EMAIL


@pytest.mark.parametrize(
    ("typed", "english"),
    [
        ("fatima@", "e-mail address is not valid"),
        ("fatima@example", "e-mail address is not valid"),
        ("a b@example.com", "e-mail address is not valid"),
        ("12345", "Kuwaiti mobile number (8 digits) or an e-mail"),
        ("22001234", "Kuwaiti mobile number (8 digits) or an e-mail"),  # a landline
        ("fatima", "Kuwaiti mobile number (8 digits) or an e-mail"),
    ],
)
def test_a_bad_login_is_refused_naming_the_field_in_every_language(
    typed: str, english: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        normalize_login(typed)

    assert raised.value.context["field"] == "login"
    assert english in raised.value.message("en")
    assert "تسجيل الدخول" in raised.value.message("ar")
    assert "登录名" in raised.value.message("zh")


def test_names_are_trimmed_and_bounded() -> None:
    assert clean_name("  Fatima   Al-Sabah \n") == "Fatima Al-Sabah"
    for bad in ("   ", "x" * 101, "Fatima\x00"):
        with pytest.raises(ValidationFailed) as raised:
            clean_name(bad)
        assert raised.value.context["field"] == "name"


def test_only_the_three_languages_are_accepted() -> None:
    assert [check_language(code) for code in LANGUAGES] == list(LANGUAGES)
    with pytest.raises(ValidationFailed, match="language"):
        check_language("fr")


# -- passwords ----------------------------------------------------------------------------------


def test_the_password_rules_are_shown_in_every_language() -> None:
    assert set(PASSWORD_RULES) == set(LANGUAGES)
    assert all("8" in text and "128" in text for text in PASSWORD_RULES.values())


@pytest.mark.parametrize(
    ("password", "login", "reason"),
    [
        ("short1", EMAIL, "8 to 128 characters"),
        ("x1" * 65, EMAIL, "8 to 128 characters"),
        ("onlyletters", EMAIL, "one letter and one digit"),
        ("1234567890", EMAIL, "one letter and one digit"),
        ("pass50001234", MOBILE, "mobile number or e-mail"),
        ("my-Fatima-2026", EMAIL, "mobile number or e-mail"),
    ],
)
def test_a_password_that_breaks_a_rule_is_refused_with_that_rule(
    password: str, login: Login, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_password(password, login=login)

    assert raised.value.context["field"] == "password"
    assert reason in raised.value.message("en")
    assert "كلمة المرور" in raised.value.message("ar")


@pytest.mark.parametrize("password", ["sahra-2026", "كلمة-سر-٢٠٢٦", "我的密码很长很长1", "a1" * 64])
def test_passwords_of_every_script_that_follow_the_rules_pass(password: str) -> None:
    assert check_password(password, login=MOBILE)


def test_a_password_typed_with_full_width_characters_is_the_same_password() -> None:
    # NFKC: "ｓａｈｒａ２０２６" on a phone's full-width keyboard is "sahra2026".
    assert check_password("ｓａｈｒａ２０２６", login=EMAIL) == "sahra2026"


def test_a_short_local_part_does_not_forbid_every_password() -> None:
    assert check_password("ab-cd-2026", login=Login("email", "ab@example.com"))


# -- one-time codes -----------------------------------------------------------------------------


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_otp_code() for _ in range(200)}

    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(codes) > 150  # a constant or a tiny range would collide


@pytest.mark.parametrize(
    ("typed", "code"),
    [("482913", "482913"), (" 482 913 ", "482913"), ("٤٨٢٩١٣", "482913"), ("482-913", "482913")],
)
def test_a_typed_code_is_read_the_way_people_type_it(typed: str, code: str) -> None:
    assert normalize_otp(typed) == code


@pytest.mark.parametrize("typed", ["", "48291", "4829130", "48291x", "４８２９１３x"])
def test_anything_but_six_digits_is_not_a_code(typed: str) -> None:
    assert normalize_otp(typed) is None


def test_the_stored_digest_is_bound_to_key_purpose_account_and_number() -> None:
    base = {"purpose": "bind", "account_id": "a1", "msisdn": "+96550001234", "code": "482913"}
    digest = otp_digest("key", **base)

    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "482913" not in digest
    assert otp_digest("key", **base) == digest
    for change in (
        {"purpose": "reset"},
        {"account_id": "a2"},
        {"msisdn": "+96550005678"},
        {"code": "482914"},
    ):
        assert otp_digest("key", **{**base, **change}) != digest
    assert otp_digest("other-key", **base) != digest


def _judge(
    given_code: str, *, attempts: int = 0, age: timedelta = timedelta(0), used: bool = False
) -> tuple[OtpVerdict, int]:
    return judge_otp(
        stored_digest=otp_digest("k", purpose="bind", account_id="a", msisdn="m", code="111111"),
        given_digest=otp_digest("k", purpose="bind", account_id="a", msisdn="m", code=given_code),
        attempts=attempts,
        expires_at=NOW + timedelta(minutes=5),
        used=used,
        now=NOW + age,
    )


def test_the_right_code_in_time_is_accepted() -> None:
    assert _judge("111111", attempts=4, age=timedelta(minutes=4, seconds=59)) == (
        OtpVerdict.ACCEPTED,
        4,
    )


@given(st.lists(st.booleans(), min_size=1, max_size=12))
def test_no_code_is_accepted_after_five_wrong_ones(right_or_wrong: list[bool]) -> None:
    attempts, accepted_at = 0, None
    for step, right in enumerate(right_or_wrong):
        verdict, attempts = _judge("111111" if right else "222222", attempts=attempts)
        if verdict is OtpVerdict.ACCEPTED:
            accepted_at = step
            break
    wrong_before = right_or_wrong[: accepted_at if accepted_at is not None else None].count(False)

    if accepted_at is not None:
        assert wrong_before < OTP_MAX_ATTEMPTS
    else:
        assert attempts == min(wrong_before, OTP_MAX_ATTEMPTS)
    assert attempts <= OTP_MAX_ATTEMPTS


def test_the_fifth_wrong_code_exhausts_the_challenge() -> None:
    assert _judge("222222", attempts=3) == (OtpVerdict.WRONG, 4)
    assert _judge("222222", attempts=4) == (OtpVerdict.EXHAUSTED, 5)
    assert _judge("111111", attempts=5) == (OtpVerdict.SPENT, 5)


@pytest.mark.parametrize(
    ("age", "used"),
    [(timedelta(minutes=5), False), (timedelta(hours=1), False), (timedelta(0), True)],
)
def test_an_expired_or_used_code_is_spent_and_counts_nothing(age: timedelta, used: bool) -> None:
    assert _judge("111111", attempts=2, age=age, used=used) == (OtpVerdict.SPENT, 2)


def test_sends_are_capped_per_hour_until_the_oldest_leaves_the_window() -> None:
    sends = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]

    assert sends_blocked_until(sends[1:], NOW) is None
    assert sends_blocked_until(sends, NOW) == NOW + timedelta(minutes=10)
    assert sends_blocked_until([*sends, NOW - timedelta(minutes=61)], NOW) == NOW + timedelta(
        minutes=10
    )


@given(st.lists(st.integers(min_value=0, max_value=3599), max_size=12))
def test_once_unblocked_a_send_keeps_the_hour_under_the_cap(minutes_ago: list[int]) -> None:
    sends = [NOW - timedelta(seconds=s) for s in minutes_ago]
    blocked_until = sends_blocked_until(sends, NOW)
    later = blocked_until or NOW

    in_window_then = [t for t in sends if later - t < timedelta(hours=1)]
    assert len(in_window_then) < OTP_MAX_SENDS_PER_HOUR
    assert (blocked_until is None) == (len(sends) < OTP_MAX_SENDS_PER_HOUR)


# -- sign-in locks ------------------------------------------------------------------------------


def test_five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() -> None:
    guard = SigninGuard()
    for minute in range(5):
        assert not guard.locked_at(NOW + timedelta(minutes=minute))
        guard = guard.after_failure(NOW + timedelta(minutes=minute * 3))

    assert guard.locked_until == NOW + timedelta(minutes=12) + SIGNIN_LOCK
    assert guard.locked_at(NOW + timedelta(minutes=26))
    assert not guard.locked_at(NOW + timedelta(minutes=27))


@given(st.lists(st.integers(min_value=0, max_value=24 * 60), max_size=20))
def test_failures_never_lock_unless_five_fall_within_fifteen_minutes(offsets: list[int]) -> None:
    guard = SigninGuard()
    times = [NOW + timedelta(minutes=m) for m in sorted(offsets)]
    for at in times:
        guard = guard.after_failure(at)
        if guard.locked_until is not None:
            # The lock is earned: the four failures before it all fell in one window.
            window = [t for t in times if t <= at][-5:]
            assert len(window) == 5
            assert window[-1] - window[0] < SIGNIN_WINDOW
            assert guard.locked_until == at + SIGNIN_LOCK
            return


def test_a_failure_after_the_window_starts_counting_again() -> None:
    guard = SigninGuard()
    for _ in range(4):
        guard = guard.after_failure(NOW)
    guard = guard.after_failure(NOW + SIGNIN_WINDOW)

    assert (guard.failures, guard.locked_until) == (1, None)


# -- who, and words ----------------------------------------------------------------------------


def test_session_tokens_are_told_apart_from_channel_credentials() -> None:
    token = new_session_token()

    assert is_session_token(token)
    assert len(token) > 40
    assert not is_session_token(new_token())


def test_only_subscribers_have_an_account() -> None:
    assert account_id_of(Caller(kind="subscriber", channel="app", id="a1", name="F")) == "a1"
    with pytest.raises(NotAllowed):
        account_id_of(Caller(kind="channel", channel="store", id="c1", name="till"))


def test_a_binding_holds_while_the_line_keeps_its_holder() -> None:
    assert binding_is_current("c1", "c1")
    assert binding_is_current(None, None)
    assert not binding_is_current("c1", "c2")
    assert not binding_is_current("c1", None)


def test_waits_are_said_in_whole_minutes_rounded_up() -> None:
    assert wait_seconds(NOW + timedelta(seconds=0.2), NOW) == 1
    assert wait_seconds(NOW - timedelta(seconds=5), NOW) == 0
    assert try_again_in(20)["en"] == "Please try again in 1 minute."
    assert try_again_in(61)["en"] == "Please try again in 2 minutes."
    assert try_again_in(900)["ar"] == "يرجى المحاولة مجدداً بعد 15 دقيقة."
    assert try_again_in(120)["ar"] == "يرجى المحاولة مجدداً بعد دقيقتين."
    assert try_again_in(300, reason={"en": "Busy.", "ar": "مشغول.", "zh": "忙。"})["zh"] == (
        "忙。请在5分钟后重试。"
    )


@pytest.mark.parametrize(
    ("left", "en", "ar"),
    [
        (1, "1 attempt left.", "تبقّت محاولة واحدة."),
        (2, "2 attempts left.", "تبقّت محاولتان."),
        (4, "4 attempts left.", "تبقّت 4 محاولات."),
        (11, "11 attempts left.", "تبقّت 11 محاولة."),
    ],
)
def test_attempts_left_are_counted_in_each_language(left: int, en: str, ar: str) -> None:
    words = attempts_left_text(left)

    assert (words["en"], words["ar"]) == (en, ar)
    assert words["zh"] == f"还剩{left}次机会。"
