"""Passwords of subscriber accounts: argon2 hashing and checking, and resets by SMS code."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from simrenew.accounts import repository, rules
from simrenew.accounts.binding import current_bindings
from simrenew.accounts.otp import judge_code, send_code, typed_code
from simrenew.accounts.rules import SigninGuard
from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.errors import OtpExpired
from simrenew.staff.service import record_audit

# argon2id with the library's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes).
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of a password (checked against the rules before)."""
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def decoy_hash() -> str:
    """A hash to check unknown logins against, so that they take as long as known ones."""
    return _hasher.hash(rules.new_otp_code())


def password_matches(password_hash: str, password: str) -> bool:
    """Whether the password is the one hashed (a malformed hash matches nothing)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def start_password_reset(uow: UnitOfWork, *, login: str, clock: Clock, secret_key: str) -> None:
    """Text a reset code to the account's mobile; silent when there is no account to text."""
    parsed = rules.normalize_login(login)
    now = clock.now()
    with uow:
        session = uow.session
        account = repository.find_account(session, parsed.value, lock=True)
        if account is None:
            return
        if parsed.kind == "mobile":
            mobile: str | None = parsed.value
        else:
            bound = current_bindings(session, account.id)
            mobile = bound[0][0].msisdn if bound else None
        if mobile is None:
            return  # an e-mail login with no bound line: no phone to prove
        send_code(
            session,
            account=account,
            purpose="reset",
            msisdn=mobile,
            secret_key=secret_key,
            now=now,
        )
        uow.commit()


def reset_password(
    uow: UnitOfWork,
    *,
    login: str,
    code: str,
    new_password: str,
    clock: Clock,
    secret_key: str,
) -> None:
    """Set a new password with the code texted for it; every session of the account ends."""
    parsed = rules.normalize_login(login)
    # Checked before the code, so that a password the rules refuse costs no attempt.
    password_hash = hash_password(rules.check_password(new_password, login=parsed))
    typed = typed_code(code)
    now = clock.now()
    with uow:
        session = uow.session
        account = repository.find_account(session, parsed.value, lock=True)
        if account is None:
            raise OtpExpired()  # as for an account that never asked: nothing to say more
        challenge = repository.latest_challenge(session, account.id, "reset", None, lock=True)
        error = judge_code(challenge, typed, secret_key=secret_key, now=now)
        if error is not None:
            uow.commit()  # the wrong attempt stays counted
            raise error
        account.password_hash = password_hash
        account.password_changed_at = account.updated_at = now
        # Whoever holds the phone is the holder again: old locks and sessions go.
        account.set_signin_guard(SigninGuard())
        ended = repository.revoke_sessions(session, account.id, now=now)
        record_audit(
            session,
            actor=account.id,
            action="account.password_reset",
            subject=account.id,
            details={"sessions_ended": ended},
            now=now,
        )
        uow.commit()
