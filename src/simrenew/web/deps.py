"""Dependencies routes share: the platform, the caller's language and identity, parsed paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from simrenew.accounts.rules import is_session_token
from simrenew.accounts.service import authenticate_subscriber, ensure_bound
from simrenew.bootstrap import Platform
from simrenew.errors import LANGUAGES, NotAllowed, Unauthenticated, ValidationFailed
from simrenew.lines.rules import normalize_msisdn
from simrenew.settings import Settings
from simrenew.staff.rules import Caller, may_read_any_line
from simrenew.staff.service import authenticate

# Longer headers are junk or an attack; parsing them would only cost time.
_MAX_ACCEPT_LANGUAGE = 500
_MAX_TOKEN = 512
MAX_IDEMPOTENCY_KEY = 200


def get_platform(request: Request) -> Platform:
    """The platform the app was built with."""
    platform: Platform = request.app.state.platform
    return platform


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-", 1)[0]


def parse_accept_language(header: str) -> str | None:
    """The supported language an Accept-Language header prefers most, if any ("ar-KW,ar;q=0.9")."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header[:_MAX_ACCEPT_LANGUAGE].split(",")):
        tag, *params = item.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0  # an unreadable weight counts as "not acceptable"
        language = _primary(tag)
        if language not in LANGUAGES or not 0 < quality <= 1:
            continue
        # Highest quality wins; on a tie, the one listed first.
        candidate = (quality, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def request_language(request: Request) -> str:
    """The caller's language: `?lang=`, then Accept-Language, then the configured default."""
    asked = request.query_params.get("lang")
    if asked and _primary(asked) in LANGUAGES:
        return _primary(asked)
    from_header = parse_accept_language(request.headers.get("accept-language", ""))
    if from_header:
        return from_header
    return get_settings(request).language


def negotiate_language(
    request: Request,
    lang: Annotated[
        str | None,
        Query(
            description=(
                "Language of messages and displayed amounts: en, ar or zh. Without it, "
                "Accept-Language decides (e.g. `ar-KW,ar;q=0.9`), then the server's default."
            ),
            examples=["ar"],
        ),
    ] = None,
) -> str:
    """The caller's language (the `lang` parameter is declared here to document it)."""
    return request_language(request)


_bearer = HTTPBearer(
    auto_error=False,
    description=(
        "A channel credential (`simrenew credentials create --channel ...`) or a subscriber "
        "session token, as `Authorization: Bearer <token>`."
    ),
)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token as sent; 401 unauthenticated when there is none."""
    if credentials is None or len(credentials.credentials) > _MAX_TOKEN:
        raise Unauthenticated()
    return credentials.credentials


def get_caller(
    platform: Annotated[Platform, Depends(get_platform)],
    token: Annotated[str, Depends(bearer_token)],
) -> Caller:
    """Who is calling, from the bearer token; 401 unauthenticated when missing or invalid."""
    if is_session_token(token):
        return authenticate_subscriber(platform.uow(), token, clock=platform.clock)
    return authenticate(platform.uow(), token)


def get_subscriber(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """A signed-in subscriber (app or web session); 403 not_allowed for channel credentials."""
    if caller.kind != "subscriber":
        raise NotAllowed("This is for subscribers signed in to their account.")
    return caller


def get_line_reader(
    request: Request,
    platform: Annotated[Platform, Depends(get_platform)],
    caller: Annotated[Caller, Depends(get_caller)],
) -> Caller:
    """A caller allowed to read the path's line; checked before the line is looked up.

    Staff and partner channels read any line; a subscriber only lines bound to its account.
    Anyone else gets 403, whether the line exists or not.
    """
    if caller.kind == "subscriber":
        # The same NotAllowed for another's line and for no line at all: nothing is revealed.
        ensure_bound(platform.uow(), caller, request.path_params.get("msisdn", ""))
        return caller
    if not may_read_any_line(caller):
        raise NotAllowed()
    return caller


def path_msisdn(
    msisdn: Annotated[
        str,
        Path(
            description=(
                "A Kuwaiti mobile number in any usual spelling: +96550001234, 0096550001234, "
                "50001234, with spaces or dashes, or in Arabic-Indic digits."
            ),
            examples=["+96550001234"],
        ),
    ],
) -> str:
    """The path's MSISDN as E.164; 422 invalid_msisdn when it is not a Kuwaiti mobile number."""
    return normalize_msisdn(msisdn)


def idempotency_key(
    key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_IDEMPOTENCY_KEY,
            description=(
                "The client's id for this attempt (1-200 printable ASCII characters). A retry "
                "with the same key and body returns the first answer without acting again."
            ),
            examples=["till-7-20261125-0042"],
        ),
    ],
) -> str:
    """The Idempotency-Key header, checked to be 1-200 printable ASCII characters."""
    if not all(" " <= char <= "~" for char in key):
        raise ValidationFailed("Idempotency-Key: use only printable ASCII characters.")
    return key


PlatformDep = Annotated[Platform, Depends(get_platform)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LanguageDep = Annotated[str, Depends(negotiate_language)]
CallerDep = Annotated[Caller, Depends(get_caller)]
SubscriberDep = Annotated[Caller, Depends(get_subscriber)]
BearerTokenDep = Annotated[str, Depends(bearer_token)]
LineReaderDep = Annotated[Caller, Depends(get_line_reader)]
MsisdnDep = Annotated[str, Depends(path_msisdn)]
IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]
