"""Pure rules of subscriber accounts: logins, passwords, one-time codes, sign-in locks, tokens."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from simrenew.errors import LANGUAGES, InvalidMsisdn, NotAllowed, ValidationFailed
from simrenew.lines.rules import normalize_msisdn
from simrenew.notify.templates import count_text
from simrenew.staff.rules import Caller

# ---------------------------------------------------------------------------------------------
# Names, logins, languages

NAME_MAX = 100
LOGIN_MAX = 254  # the longest e-mail address SMTP can carry
_EMAIL = re.compile(r"[^@\s]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+")
# Numbers copied from Arabic text carry invisible direction marks; e-mails never need them.
_BIDI_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)

LoginKind = Literal["mobile", "email"]


@dataclass(frozen=True)
class Login:
    """A login as stored: a mobile number in E.164 or a lower-cased e-mail address."""

    kind: LoginKind
    value: str


def invalid(field: str, en: str, ar: str, zh: str) -> ValidationFailed:
    """A validation error naming its field, worded in every language."""
    return ValidationFailed(translated={"en": en, "ar": ar, "zh": zh}, field=field)


def normalize_login(text: str) -> Login:
    """A mobile number (any usual spelling, to E.164) or an e-mail address (lower-cased)."""
    cleaned = text.translate(_BIDI_MARKS).strip()
    if "@" in cleaned:
        email = cleaned.lower()
        if len(email) > LOGIN_MAX or not _EMAIL.fullmatch(email):
            raise invalid(
                "login",
                "login: this e-mail address is not valid.",
                "تسجيل الدخول: عنوان البريد الإلكتروني هذا غير صحيح.",
                "登录名：此电子邮件地址无效。",
            )
        return Login("email", email)
    try:
        return Login("mobile", normalize_msisdn(cleaned))
    except InvalidMsisdn:
        raise invalid(
            "login",
            "login: enter a Kuwaiti mobile number (8 digits) or an e-mail address.",
            "تسجيل الدخول: أدخل رقم هاتف نقال كويتي (8 أرقام) أو عنوان بريد إلكتروني.",
            "登录名：请输入科威特手机号码（8位数字）或电子邮件地址。",
        ) from None


def clean_name(text: str) -> str:
    """A person's name as given, trimmed, with inner runs of spaces made one."""
    name = " ".join(text.split())
    if not name:
        raise invalid(
            "name",
            "name: please enter your name.",
            "الاسم: يرجى إدخال اسمك.",
            "姓名：请输入您的姓名。",
        )
    if len(name) > NAME_MAX or any(unicodedata.category(c) == "Cc" for c in name):
        raise invalid(
            "name",
            f"name: use at most {NAME_MAX} characters, without control characters.",
            f"الاسم: استخدم {NAME_MAX} حرفاً كحد أقصى، دون رموز تحكم.",
            f"姓名：最多{NAME_MAX}个字符，不含控制字符。",
        )
    return name


def check_language(language: str) -> str:
    """One of the languages simrenew speaks (en, ar, zh)."""
    if language not in LANGUAGES:
        raise invalid(
            "language",
            "language: choose en (English), ar (العربية) or zh (中文).",
            "اللغة: اختر en (English) أو ar (العربية) أو zh (中文).",
            "语言：请选择 en (English)、ar (العربية) 或 zh (中文)。",
        )
    return language


# ---------------------------------------------------------------------------------------------
# Passwords

PASSWORD_MIN = 8
PASSWORD_MAX = 128  # long enough for any passphrase; bounds the work of hashing one

PASSWORD_RULES: dict[str, str] = {
    "en": f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters, with at least one letter and one "
    "digit. Do not use your mobile number or e-mail address in it.",
    "ar": f"استخدم من {PASSWORD_MIN} إلى {PASSWORD_MAX} حرفاً، منها حرف واحد ورقم واحد على "
    "الأقل. لا تضمّنها رقم هاتفك أو بريدك الإلكتروني.",
    "zh": f"使用{PASSWORD_MIN}至{PASSWORD_MAX}个字符，至少包含一个字母和一个数字。"
    "密码中不要包含您的手机号码或电子邮件地址。",
}


def normalize_password(password: str) -> str:
    """The password as hashed: NFKC, so the same password typed on another keyboard matches."""
    # NIST SP 800-63B: normalise Unicode before hashing (an Arabic or full-width digit typed on
    # a phone is the digit typed on a PC).
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, login: Login) -> str:
    """The normalised password when it follows PASSWORD_RULES; a clear error otherwise."""
    normalized = normalize_password(password)
    if not PASSWORD_MIN <= len(normalized) <= PASSWORD_MAX:
        raise invalid(
            "password",
            f"password: use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            f"كلمة المرور: استخدم من {PASSWORD_MIN} إلى {PASSWORD_MAX} حرفاً.",
            f"密码：请使用{PASSWORD_MIN}至{PASSWORD_MAX}个字符。",
        )
    if not any(c.isalpha() for c in normalized) or not any(c.isdigit() for c in normalized):
        raise invalid(
            "password",
            "password: include at least one letter and one digit.",
            "كلمة المرور: يجب أن تتضمن حرفاً واحداً ورقماً واحداً على الأقل.",
            "密码：请至少包含一个字母和一个数字。",
        )
    if _contains_login(normalized, login):
        raise invalid(
            "password",
            "password: do not use your mobile number or e-mail address in it.",
            "كلمة المرور: لا تضمّنها رقم هاتفك أو بريدك الإلكتروني.",
            "密码：请勿在密码中使用您的手机号码或电子邮件地址。",
        )
    return normalized


def _contains_login(password: str, login: Login) -> bool:
    folded = password.casefold()
    if login.kind == "mobile":
        return login.value.removeprefix("+965") in folded
    local = login.value.split("@", 1)[0]
    # A one- or two-letter local part ("a@b.com") would forbid half the passwords on earth.
    return len(local) >= 3 and local in folded


# ---------------------------------------------------------------------------------------------
# Tokens and one-time codes

SESSION_TOKEN_PREFIX = "sub_"  # noqa: S105 - a public marker telling sessions from `srn_` keys
SESSION_TTL: dict[str, timedelta] = {"web": timedelta(hours=12), "app": timedelta(days=30)}

OTP_DIGITS = 6
OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_AFTER = timedelta(seconds=60)
# Codes sent to one number, or by one account, per hour: an account cannot flood a phone.
OTP_MAX_SENDS_PER_HOUR = 5
OTP_SEND_WINDOW = timedelta(hours=1)

_TO_LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


def new_session_token() -> str:
    """A new subscriber session token (shown once, stored only as its SHA-256)."""
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def is_session_token(token: str) -> bool:
    """Whether a bearer token is a subscriber session (not a channel credential)."""
    return token.startswith(SESSION_TOKEN_PREFIX)


def new_otp_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def normalize_otp(text: str) -> str | None:
    """The six digits of a typed code (spaces and Arabic-Indic digits allowed), else None."""
    digits = re.sub(r"[\s-]", "", text.translate(_BIDI_MARKS).translate(_TO_LATIN_DIGITS))
    if len(digits) == OTP_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


def otp_digest(secret_key: str, *, purpose: str, account_id: str, msisdn: str, code: str) -> str:
    """The stored form of a code: an HMAC bound to what it was sent for, never the code."""
    # Without the server's key a stolen table cannot be searched through the million codes, and
    # the purpose, account and number in the message keep one code from serving another use.
    message = f"{purpose}\n{account_id}\n{msisdn}\n{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


class OtpVerdict(StrEnum):
    """What a typed code does to its challenge."""

    ACCEPTED = "accepted"
    WRONG = "wrong"  # attempts left
    EXHAUSTED = "exhausted"  # this wrong code was the last attempt
    SPENT = "spent"  # expired, used, superseded or out of attempts before this code


def judge_otp(
    *,
    stored_digest: str,
    given_digest: str,
    attempts: int,
    expires_at: datetime,
    used: bool,
    now: datetime,
) -> tuple[OtpVerdict, int]:
    """The verdict on a typed code and the challenge's attempts afterwards."""
    if used or now >= expires_at or attempts >= OTP_MAX_ATTEMPTS:
        return OtpVerdict.SPENT, attempts
    if hmac.compare_digest(stored_digest, given_digest):
        return OtpVerdict.ACCEPTED, attempts
    attempts += 1
    return (OtpVerdict.EXHAUSTED if attempts >= OTP_MAX_ATTEMPTS else OtpVerdict.WRONG), attempts


def wait_seconds(until: datetime, now: datetime) -> int:
    """Whole seconds from now until an instant (0 once it has passed), rounded up."""
    return max(0, math.ceil((until - now).total_seconds()))


def sends_blocked_until(sent_at: list[datetime], now: datetime) -> datetime | None:
    """When another code may be sent, given the send times in the last hour (None: now)."""
    recent = sorted(t for t in sent_at if now - t < OTP_SEND_WINDOW)
    if len(recent) < OTP_MAX_SENDS_PER_HOUR:
        return None
    # The oldest send that keeps the count at the limit has to leave the window first.
    return recent[len(recent) - OTP_MAX_SENDS_PER_HOUR] + OTP_SEND_WINDOW


# ---------------------------------------------------------------------------------------------
# Sign-in failures

SIGNIN_MAX_FAILURES = 5
SIGNIN_WINDOW = timedelta(minutes=15)
SIGNIN_LOCK = timedelta(minutes=15)


@dataclass(frozen=True)
class SigninGuard:
    """An account's recent failed sign-ins: how many since when, and any lock."""

    failures: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        """Whether sign-in is refused at `now`, even with the right password."""
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> SigninGuard:
        """The guard after one more wrong password at `now` (locks on the fifth in 15 minutes)."""
        if self.first_failure_at is None or now - self.first_failure_at >= SIGNIN_WINDOW:
            failures, first = 1, now  # a new window starts with this failure
        else:
            failures, first = self.failures + 1, self.first_failure_at
        if failures >= SIGNIN_MAX_FAILURES:
            return SigninGuard(0, None, now + SIGNIN_LOCK)
        return SigninGuard(failures, first, None)


# ---------------------------------------------------------------------------------------------
# Who may act, and the words of a few messages


def account_id_of(caller: Caller) -> str:
    """The account a subscriber caller stands for; NotAllowed for channel credentials."""
    if caller.kind != "subscriber":
        raise NotAllowed("This is for subscribers signed in to their account.")
    return caller.id


def binding_is_current(bound_customer_id: str | None, line_customer_id: str | None) -> bool:
    """Whether a binding still holds: the line is registered to whom it was when bound."""
    # A recycled number issued again belongs to someone else: the old account loses it.
    return bound_customer_id == line_customer_id


TOO_MANY_SIGNINS = {
    "en": "Too many failed sign-ins.",
    "ar": "محاولات دخول فاشلة كثيرة.",
    "zh": "登录失败次数过多。",
}


def try_again_in(seconds: int, *, reason: dict[str, str] | None = None) -> dict[str, str]:
    """The words "[Reason.] Please try again in N minutes." in every language (rounded up)."""
    minutes = max(1, math.ceil(seconds / 60))
    wait = {
        "en": f"Please try again in {count_text(minutes, 'minute', 'en')}.",
        "ar": f"يرجى المحاولة مجدداً بعد {count_text(minutes, 'minute', 'ar')}.",
        "zh": f"请在{count_text(minutes, 'minute', 'zh')}后重试。",
    }
    if reason is None:
        return wait
    # Chinese sentences follow one another without a space.
    return {lang: (" " if lang != "zh" else "").join((reason[lang], wait[lang])) for lang in wait}


def attempts_left_text(left: int) -> dict[str, str]:
    """The words "N attempts left." in every language, Arabic with its dual and plural."""
    if left == 1:
        ar = "تبقّت محاولة واحدة."
    elif left == 2:  # the Arabic dual
        ar = "تبقّت محاولتان."
    elif 3 <= left % 100 <= 10:  # the Arabic plural of 3 to 10
        ar = f"تبقّت {left} محاولات."
    else:
        ar = f"تبقّت {left} محاولة."
    return {
        "en": f"{left} attempt left." if left == 1 else f"{left} attempts left.",
        "ar": ar,
        "zh": f"还剩{left}次机会。",
    }
