"""Subscriber account use cases: register, sign in and out, sessions, language, password reset.

The web pages (cookies) and the app API (bearer tokens) both come here. Binding lines and
renewing them live in `binding` and `recharge`, passwords (hashing, resets) in `passwords`;
their use cases are re-exported below so that `accounts.service` is the one address of the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from simrenew.accounts import repository, rules
from simrenew.accounts.binding import (
    BindingChallenge,
    ensure_bound,
    list_bound_lines,
    start_binding,
    unbind,
    verify_binding,
)
from simrenew.accounts.models import Account, SubscriberSession
from simrenew.accounts.otp import rate_limited
from simrenew.accounts.passwords import (
    decoy_hash,
    hash_password,
    needs_rehash,
    password_matches,
    reset_password,
    start_password_reset,
)
from simrenew.accounts.recharge import (
    ensure_receipt_bound,
    list_account_renewals,
    quote_bound_line,
    receipt_of_bound_line,
    recharge_offers,
    renew_bound_line,
)
from simrenew.accounts.rules import PASSWORD_RULES, SESSION_TTL, SigninGuard
from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    LoginTaken,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from simrenew.ids import new_id
from simrenew.staff.rules import Caller, token_hash
from simrenew.staff.service import record_audit

__all__ = [
    "PASSWORD_RULES",
    "AccountView",
    "BindingChallenge",
    "SessionGrant",
    "authenticate_subscriber",
    "change_language",
    "ensure_bound",
    "ensure_receipt_bound",
    "get_account",
    "list_account_renewals",
    "list_bound_lines",
    "quote_bound_line",
    "receipt_of_bound_line",
    "recharge_offers",
    "register",
    "renew_bound_line",
    "reset_password",
    "sign_in",
    "sign_out",
    "start_binding",
    "start_password_reset",
    "unbind",
    "verify_binding",
]


@dataclass(frozen=True)
class AccountView:
    """An account as the pages and the app show it."""

    id: str
    name: str
    login: str
    language: str


@dataclass(frozen=True)
class SessionGrant:
    """A new session: its token (shown once), when it ends (Kuwait time) and its account."""

    token: str
    expires_at: datetime
    account: AccountView


def _view(account: Account) -> AccountView:
    return AccountView(
        id=account.id, name=account.name, login=account.login, language=account.language
    )


def _wrong_credentials() -> Unauthenticated:
    # One message whether the login or the password is wrong: no hint which.
    return Unauthenticated(
        translated={
            "en": "The login or password is not correct.",
            "ar": "بيانات الدخول أو كلمة المرور غير صحيحة.",
            "zh": "登录名或密码不正确。",
        }
    )


def register(
    uow: UnitOfWork, *, name: str, login: str, password: str, language: str, clock: Clock
) -> AccountView:
    """Open an account with a mobile number or e-mail login and a password (argon2id)."""
    clean_name = rules.clean_name(name)
    parsed = rules.normalize_login(login)
    chosen_language = rules.check_language(language)
    password_hash = hash_password(rules.check_password(password, login=parsed))
    now = clock.now()

    def attempt() -> AccountView:
        with uow:
            session = uow.session
            if repository.find_account(session, parsed.value) is not None:
                raise LoginTaken()
            account = Account(
                id=new_id(),
                name=clean_name,
                login=parsed.value,
                login_kind=parsed.kind,
                password_hash=password_hash,
                language=chosen_language,
                created_at=now,
                updated_at=now,
                password_changed_at=now,
                failed_signins=0,
                first_failed_signin_at=None,
                locked_until=None,
            )
            session.add(account)
            session.flush()
            record_audit(
                session,
                actor=account.id,
                action="account.registered",
                subject=account.id,
                details={"login_kind": parsed.kind, "language": chosen_language},
                now=now,
            )
            uow.commit()
            return _view(account)

    # Two sign-ups racing for one login: the loser's retry finds the winner's account.
    return retrying(attempt)


def sign_in(
    uow: UnitOfWork,
    *,
    login: str,
    password: str,
    channel: Literal["web", "app"],
    clock: Clock,
) -> SessionGrant:
    """Check a login and password and open a session; five failures lock the login 15 minutes."""
    if channel not in SESSION_TTL:
        raise ValidationFailed(f"channel: {channel!r} is not web or app.")
    try:
        login_value: str | None = rules.normalize_login(login).value
    except ValidationFailed:
        login_value = None  # a malformed login is simply not a known one
    with uow:
        found = repository.find_account(uow.session, login_value) if login_value else None
        known = (found.id, found.password_hash, found.signin_guard()) if found else None
    now = clock.now()
    typed = rules.normalize_password(password)
    if known is None:
        password_matches(decoy_hash(), typed)
        raise _wrong_credentials()
    account_id, password_hash, guard = known
    if guard.locked_at(now):
        raise _locked(guard, now)
    # Hashing takes a while: done with no transaction open, the outcome recorded after.
    matches = password_matches(password_hash, typed)
    rehashed = hash_password(typed) if matches and needs_rehash(password_hash) else None
    return retrying(
        lambda: _record_sign_in(
            uow,
            account_id,
            checked_hash=password_hash,
            matches=matches,
            rehashed=rehashed,
            channel=channel,
            now=now,
        )
    )


def _locked(guard: SigninGuard, now: datetime) -> RateLimited:
    return rate_limited(guard.locked_until or now, now, reason=rules.TOO_MANY_SIGNINS)


def _record_sign_in(
    uow: UnitOfWork,
    account_id: str,
    *,
    checked_hash: str,
    matches: bool,
    rehashed: str | None,
    channel: str,
    now: datetime,
) -> SessionGrant:
    with uow:
        session = uow.session
        account = repository.get_account(session, account_id, lock=True)
        if account is None:
            raise _wrong_credentials()
        guard = account.signin_guard()
        if guard.locked_at(now):
            raise _locked(guard, now)  # a parallel attempt locked it meanwhile
        if account.password_hash != checked_hash:
            raise _wrong_credentials()  # the password changed while it was being checked
        if not matches:
            after = guard.after_failure(now)
            account.set_signin_guard(after)
            if after.locked_at(now):
                record_audit(
                    session,
                    actor=account.id,
                    action="account.signin_locked",
                    subject=account.id,
                    details={
                        "failures": rules.SIGNIN_MAX_FAILURES,
                        "locked_until": to_kuwait(after.locked_until or now).isoformat(),
                    },
                    now=now,
                )
            uow.commit()
            raise _wrong_credentials()
        account.set_signin_guard(SigninGuard())
        if rehashed is not None:
            account.password_hash = rehashed
        token = rules.new_session_token()
        expires_at = now + SESSION_TTL[channel]
        session.add(
            SubscriberSession(
                id=new_id(),
                token_hash=token_hash(token),
                account_id=account.id,
                channel=channel,
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
            )
        )
        uow.commit()
        return SessionGrant(token=token, expires_at=to_kuwait(expires_at), account=_view(account))


def sign_out(uow: UnitOfWork, token: str, *, clock: Clock) -> None:
    """End the session a token stands for (nothing happens for an unknown or ended one)."""
    with uow:
        found = repository.find_session(uow.session, token_hash(token))
        if found is not None and found[0].revoked_at is None:
            found[0].revoked_at = clock.now()
            uow.commit()


def authenticate_subscriber(uow: UnitOfWork, token: str, *, clock: Clock) -> Caller:
    """The subscriber a session token stands for; Unauthenticated when unknown, ended or expired."""
    with uow:
        found = repository.find_session(uow.session, token_hash(token))
    if found is None:
        raise Unauthenticated()
    subscriber_session, account = found
    if subscriber_session.revoked_at is not None or clock.now() >= subscriber_session.expires_at:
        raise Unauthenticated()
    return Caller(
        kind="subscriber", channel=subscriber_session.channel, id=account.id, name=account.name
    )


def get_account(uow: UnitOfWork, caller: Caller) -> AccountView:
    """The caller's own account."""
    account_id = rules.account_id_of(caller)
    with uow:
        account = repository.get_account(uow.session, account_id)
        if account is None:
            raise Unauthenticated()
        return _view(account)


def change_language(uow: UnitOfWork, caller: Caller, language: str, *, clock: Clock) -> AccountView:
    """Set the language of the caller's pages, messages and SMS."""
    account_id = rules.account_id_of(caller)
    chosen = rules.check_language(language)
    with uow:
        account = repository.get_account(uow.session, account_id, lock=True)
        if account is None:
            raise Unauthenticated()
        account.language = chosen
        account.updated_at = clock.now()
        uow.commit()
        return _view(account)


# Ended sessions and spent codes are kept a day (support can see what happened), then removed;
# the hourly cap on codes only looks one hour back.
KEEP_ENDED = timedelta(days=1)


def purge_ended_sessions_and_codes(uow: UnitOfWork, *, clock: Clock) -> int:
    """Delete sessions and one-time codes that ended over a day ago; how many went."""
    with uow:
        removed = repository.delete_stale_sessions_and_codes(uow.session, clock.now() - KEEP_ENDED)
        uow.commit()
        return removed
