"""Who is looking at a page: the cookie session, the page's language and the CSRF token.

The session cookie holds the token `sign_in(channel="web")` gave; signed-out visitors get a random
pre-session cookie so their forms (sign-in, register, reset) are CSRF-protected too. A form's token
is an HMAC of one of those cookie values under the site's secret, so a page on another site can
neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, Request

from simrenew.accounts import service as accounts
from simrenew.accounts.service import AccountView
from simrenew.errors import Unauthenticated
from simrenew.staff.rules import Caller
from simrenew.web.deps import PlatformDep, get_settings, parse_accept_language
from simrenew.web.pages.selfcare.i18n import supported

SESSION_COOKIE = "simrenew_session"
PRESESSION_COOKIE = "simrenew_presession"
LANGUAGE_COOKIE = "simrenew_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Longer cookie values are junk or an attack; a real token is about 50 characters.
_MAX_COOKIE = 512


class SignInRequired(Exception):
    """The page needs a signed-in subscriber: the browser goes to /signin, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A form arrived without this site's token for this browser: nothing is done."""


@dataclass(frozen=True)
class CookieChange:
    """A cookie to set (value) or delete (value None) on the response."""

    name: str
    value: str | None
    max_age: int | None = None
    expires: datetime | None = None


def session_cookie(grant: accounts.SessionGrant, now: datetime) -> CookieChange:
    """The session cookie of a new sign-in, kept by the browser as long as the session lasts.

    Max-Age is counted from the server's clock: a browser whose own clock is off by hours
    (or a test whose clock is fixed) still keeps the cookie exactly as long as the session.
    Expires is there too, for browsers that know only that.
    """
    seconds = max(0, int((grant.expires_at - now).total_seconds()))
    return CookieChange(SESSION_COOKIE, grant.token, max_age=seconds, expires=grant.expires_at)


@dataclass
class Visitor:
    """The person looking at a page: language, form token and, once signed in, the account."""

    language: str
    csrf_token: str
    caller: Caller | None = None
    account: AccountView | None = None
    cookies: list[CookieChange] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        """Whether a subscriber is signed in."""
        return self.caller is not None


def _usable(value: str | None) -> str | None:
    return value if value and len(value) <= _MAX_COOKIE else None


def _secret(request: Request) -> bytes:
    return get_settings(request).resolved_secret_key().encode()


def csrf_token_for(request: Request, bound_to: str) -> str:
    """The form token of a browser holding this session or pre-session cookie value."""
    return hmac.new(_secret(request), b"csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()


def language_without_account(request: Request) -> str:
    """The page language from `?lang=`, the language cookie, then Accept-Language."""
    return (
        supported(request.query_params.get("lang"))
        or supported(request.cookies.get(LANGUAGE_COOKIE))
        or parse_accept_language(request.headers.get("accept-language", ""))
        or get_settings(request).language
    )


def current_visitor(request: Request, platform: PlatformDep) -> Visitor:
    """The visitor of this request (read once, kept on the request for the page and errors)."""
    found = getattr(request.state, "visitor", None)
    if isinstance(found, Visitor):
        return found
    changes: list[CookieChange] = []
    presession = _usable(request.cookies.get(PRESESSION_COOKIE))
    if presession is None:
        presession = secrets.token_urlsafe(32)
        changes.append(CookieChange(PRESESSION_COOKIE, presession))
    token = _usable(request.cookies.get(SESSION_COOKIE))
    caller: Caller | None = None
    account: AccountView | None = None
    if token is not None:
        try:
            caller = accounts.authenticate_subscriber(platform.uow(), token, clock=platform.clock)
            account = accounts.get_account(platform.uow(), caller)
        except Unauthenticated:
            caller, account, token = None, None, None
            changes.append(CookieChange(SESSION_COOKIE, None))
    elif SESSION_COOKIE in request.cookies:
        changes.append(CookieChange(SESSION_COOKIE, None))
    asked = supported(request.query_params.get("lang"))
    if asked:
        changes.append(CookieChange(LANGUAGE_COOKIE, asked, max_age=LANGUAGE_COOKIE_SECONDS))
        if caller is not None and account is not None and account.language != asked:
            # The account's language is also its SMS language: the switcher changes both.
            account = accounts.change_language(platform.uow(), caller, asked, clock=platform.clock)
    language = (
        asked
        or supported(request.cookies.get(LANGUAGE_COOKIE))
        or (supported(account.language) if account else None)
        or language_without_account(request)
    )
    visitor = Visitor(
        language=language,
        csrf_token=csrf_token_for(request, token or presession),
        caller=caller,
        account=account,
        cookies=changes,
    )
    request.state.visitor = visitor
    return visitor


VisitorDep = Annotated[Visitor, Depends(current_visitor)]


def current_subscriber(request: Request, visitor: VisitorDep) -> Visitor:
    """The signed-in visitor; anyone else is sent to sign in and brought back here."""
    if visitor.caller is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/home")
    return visitor


SubscriberDep = Annotated[Visitor, Depends(current_subscriber)]


def subscriber_caller(visitor: Visitor) -> Caller:
    """The signed-in visitor's caller (only called on pages that required one)."""
    if visitor.caller is None:  # pragma: no cover - current_subscriber refused it already
        raise Unauthenticated()
    return visitor.caller


def check_csrf(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> None:
    """Refuse a form whose token is not this browser's (CsrfRejected); checked before any work."""
    sent = csrf_token.encode()
    for name in (SESSION_COOKIE, PRESESSION_COOKIE):
        value = _usable(request.cookies.get(name))
        if value and hmac.compare_digest(sent, csrf_token_for(request, value).encode()):
            return
    raise CsrfRejected()


CsrfChecked = Depends(check_csrf)


def local_path(target: str | None, default: str = "/home") -> str:
    """`target` when it is a path on this site (never another site: no open redirects)."""
    if not target or len(target) > 2000:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 32 for char in target):
        return default
    return target


def sign_in_url(next_path: str) -> str:
    """The sign-in page that brings the visitor back to `next_path`."""
    return f"/signin?next={quote(local_path(next_path), safe='/')}"


def apply_cookies(request: Request, response: Any, changes: list[CookieChange]) -> None:
    """Write cookie changes on a response: HttpOnly, SameSite=Lax, Secure behind https."""
    secure = get_settings(request).public_url.startswith("https")
    for change in changes:
        if change.value is None:
            response.delete_cookie(
                change.name, path="/", secure=secure, httponly=True, samesite="lax"
            )
        else:
            response.set_cookie(
                change.name,
                change.value,
                max_age=change.max_age,
                # Cookies speak GMT; sessions end at an instant given in Kuwait time.
                expires=change.expires.astimezone(UTC) if change.expires else None,
                path="/",
                secure=secure,
                httponly=True,
                samesite="lax",
            )
