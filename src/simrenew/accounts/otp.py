"""One-time codes by SMS, inside the caller's transaction: send one, judge a typed one.

Binding a line and resetting a password both prove a phone with a code: six digits, five
minutes, five attempts, a new code at most every 60 seconds and five an hour per number and
per account. Only an HMAC of the code is stored; the SMS goes through the outbox (priority
lane) in the same commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from simrenew.accounts import repository, rules
from simrenew.accounts.models import Account, OtpChallenge
from simrenew.accounts.rules import OtpVerdict
from simrenew.db.base import insert_row
from simrenew.errors import OtpExpired, OtpInvalid, RateLimited, SimrenewError
from simrenew.ids import new_id
from simrenew.notify.service import queue_sms

OTP_TEMPLATE = "otp"


def rate_limited(
    until: datetime, now: datetime, *, reason: dict[str, str] | None = None
) -> RateLimited:
    """A RateLimited error saying, in every language, why (if given) and when to try again."""
    seconds = rules.wait_seconds(until, now)
    return RateLimited(retry_after=seconds, translated=rules.try_again_in(seconds, reason=reason))


def send_code(
    session: Session,
    *,
    account: Account,
    purpose: str,
    msisdn: str,
    secret_key: str,
    now: datetime,
) -> OtpChallenge:
    """Store a new code for (account, purpose, number) and queue its SMS (RateLimited: too soon)."""
    previous = repository.latest_challenge(session, account.id, purpose, msisdn)
    if previous is not None and now < previous.resend_after:
        raise rate_limited(previous.resend_after, now)
    since = now - rules.OTP_SEND_WINDOW
    for sent in (
        repository.list_send_times(session, since=since, msisdn=msisdn),
        repository.list_send_times(session, since=since, account_id=account.id),
    ):
        blocked_until = rules.sends_blocked_until(sent, now)
        if blocked_until is not None:
            raise rate_limited(blocked_until, now)
    # Only the newest code works: an older SMS arriving late must not bind or reset.
    repository.spend_open_challenges(session, account.id, purpose, msisdn, now=now)
    code = rules.new_otp_code()
    challenge = OtpChallenge(
        id=new_id(),
        purpose=purpose,
        account_id=account.id,
        msisdn=msisdn,
        code_hash=rules.otp_digest(
            secret_key, purpose=purpose, account_id=account.id, msisdn=msisdn, code=code
        ),
        attempts=0,
        created_at=now,
        expires_at=now + rules.OTP_TTL,
        resend_after=now + rules.OTP_RESEND_AFTER,
        used_at=None,
    )
    insert_row(session, challenge)
    queue_sms(
        session,
        msisdn=msisdn,
        template=OTP_TEMPLATE,
        language=account.language,
        params={"code": code, "minutes": int(rules.OTP_TTL.total_seconds() // 60)},
        now=now,
        lane="priority",
    )
    return challenge


def judge_code(
    challenge: OtpChallenge | None, typed: str, *, secret_key: str, now: datetime
) -> SimrenewError | None:
    """Count a typed code against its challenge; the error to raise once counted, None if right.

    The caller commits before raising, so that a wrong attempt stays counted.
    """
    if challenge is None:
        return OtpExpired()
    verdict, challenge.attempts = rules.judge_otp(
        stored_digest=challenge.code_hash,
        given_digest=rules.otp_digest(
            secret_key,
            purpose=challenge.purpose,
            account_id=challenge.account_id,
            msisdn=challenge.msisdn,
            code=typed,
        ),
        attempts=challenge.attempts,
        expires_at=challenge.expires_at,
        used=challenge.used_at is not None,
        now=now,
    )
    if verdict is OtpVerdict.ACCEPTED:
        challenge.used_at = now
        return None
    if verdict is OtpVerdict.WRONG:
        left = rules.OTP_MAX_ATTEMPTS - challenge.attempts
        return OtpInvalid(translated=rules.attempts_left_text(left), attempts_left=left)
    if verdict is OtpVerdict.EXHAUSTED:
        challenge.used_at = now
        return OtpExpired(
            translated={
                "en": "That was the last attempt.",
                "ar": "كانت تلك المحاولة الأخيرة.",
                "zh": "这是最后一次尝试。",
            }
        )
    return OtpExpired()


def typed_code(text: str) -> str:
    """The six digits of a typed code; a clear error (no attempt counted) when it is not one."""
    code = rules.normalize_otp(text)
    if code is None:
        raise rules.invalid(
            "otp",
            f"otp: enter the {rules.OTP_DIGITS}-digit code from the SMS.",
            f"الرمز: أدخل الرمز المكوّن من {rules.OTP_DIGITS} أرقام الوارد في الرسالة.",
            f"验证码：请输入短信中的{rules.OTP_DIGITS}位数字验证码。",
        )
    return code
