"""The subscriber app's account API under /api/v1/me: sign-up, sessions, the account, resets.

Sign-up, sign-in and password resets need no token; reading or changing the account and signing
out take the session token that POST /me/sessions returns, as `Authorization: Bearer sub_...`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from simrenew import errors
from simrenew.accounts import service
from simrenew.web.api import (
    API_PREFIX,
    AUTH_PROBLEMS,
    BODY_PROBLEMS,
    problem_responses,
)
from simrenew.web.api.me_schemas import (
    AcceptedOut,
    AccountChangeIn,
    AccountOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordRulesOut,
    RegisterIn,
    SessionOut,
    SignInIn,
    example,
)
from simrenew.web.deps import (
    BearerTokenDep,
    LanguageDep,
    PlatformDep,
    SubscriberDep,
)

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["me"])

ME_PROBLEMS = (*AUTH_PROBLEMS, errors.NotAllowed)  # no token, or a channel credential's
_RESET_SENT = {
    "en": "If this login has an account, a code is on its way by SMS to its mobile number.",
    "ar": "إذا كان لهذا الحساب وجود، فسيصل رمز برسالة نصية إلى رقم الهاتف المرتبط به.",
    "zh": "如果此登录名有账户，验证码将通过短信发送到其手机号码。",
}
# One example per request body (the values are made up).
# fmt: off
_REGISTER = example("With a mobile number, in Arabic", {
    "name": "Fatima", "login": "5000 1234", "password": "sahra-2026", "language": "ar"})
_SIGN_IN = example("With a mobile number", {"login": "+96550001234", "password": "sahra-2026"})
_LANGUAGE_CHANGE = example("Arabic", {"language": "ar"})
_RESET = example("By mobile number", {"login": "50001234"})
_RESET_CONFIRM = example("The code and a new password", {
    "login": "50001234", "code": "482913", "new_password": "new-pass-2026"})
# fmt: on


def _account(view: service.AccountView) -> dict[str, Any]:
    return {"id": view.id, "name": view.name, "login": view.login, "language": view.language}


# -- account and sessions ---------------------------------------------------------------------


@router.get(
    "/password-rules",
    summary="The password rules, to show before the user types a password",
    response_model=PasswordRulesOut,
    responses=problem_responses(errors.ValidationFailed),
)
def get_password_rules(language: LanguageDep) -> dict[str, str]:
    """The rules register and reset apply, in the caller's language."""
    return {"language": language, "rules": service.PASSWORD_RULES[language]}


@router.post(
    "/register",
    status_code=201,
    summary="Open an account with a mobile number or e-mail and a password",
    response_model=AccountOut,
    responses=problem_responses(*BODY_PROBLEMS, errors.LoginTaken),
)
def post_register(
    platform: PlatformDep,
    language: LanguageDep,
    account: Annotated[RegisterIn, Body(openapi_examples=_REGISTER)],
) -> dict[str, Any]:
    """The new account (sign in next); its language defaults to the request's."""
    view = service.register(
        platform.uow(),
        name=account.name,
        login=account.login,
        password=account.password,
        language=account.language or language,
        clock=platform.clock,
    )
    return _account(view)


@router.post(
    "/sessions",
    summary="Sign in: a bearer token for the app (30 days)",
    response_model=SessionOut,
    responses=problem_responses(*BODY_PROBLEMS, errors.Unauthenticated, errors.RateLimited),
)
def post_session(
    platform: PlatformDep, credentials: Annotated[SignInIn, Body(openapi_examples=_SIGN_IN)]
) -> dict[str, Any]:
    """A session token; five wrong passwords in 15 minutes lock the login for 15 minutes."""
    grant = service.sign_in(
        platform.uow(),
        login=credentials.login,
        password=credentials.password,
        channel="app",
        clock=platform.clock,
    )
    return {
        "token": grant.token,
        "expires_at": grant.expires_at,
        "account": _account(grant.account),
    }


@router.delete(
    "/sessions",
    status_code=204,
    summary="Sign out: the token stops working at once",
    responses=problem_responses(*ME_PROBLEMS),
)
def delete_session(platform: PlatformDep, caller: SubscriberDep, token: BearerTokenDep) -> Response:
    """End the session of the token sent."""
    service.sign_out(platform.uow(), token, clock=platform.clock)
    return Response(status_code=204)


@router.get(
    "", summary="The account", response_model=AccountOut, responses=problem_responses(*ME_PROBLEMS)
)
def get_me(platform: PlatformDep, caller: SubscriberDep) -> dict[str, Any]:
    """The signed-in subscriber's account."""
    return _account(service.get_account(platform.uow(), caller))


@router.patch(
    "",
    summary="Change the account's language",
    response_model=AccountOut,
    responses=problem_responses(*ME_PROBLEMS, *BODY_PROBLEMS),
)
def patch_me(
    platform: PlatformDep,
    caller: SubscriberDep,
    change: Annotated[AccountChangeIn, Body(openapi_examples=_LANGUAGE_CHANGE)],
) -> dict[str, Any]:
    """The account as changed: pages, messages and SMS follow the new language."""
    view = service.change_language(platform.uow(), caller, change.language, clock=platform.clock)
    return _account(view)


@router.post(
    "/password-resets",
    status_code=202,
    summary="Forgotten password: text a code to the account's mobile",
    response_model=AcceptedOut,
    responses=problem_responses(*BODY_PROBLEMS, errors.RateLimited),
)
def post_password_reset(
    platform: PlatformDep,
    language: LanguageDep,
    reset: Annotated[PasswordResetIn, Body(openapi_examples=_RESET)],
) -> dict[str, str]:
    """The same answer whether or not the login has an account (nothing is revealed)."""
    service.start_password_reset(
        platform.uow(),
        login=reset.login,
        clock=platform.clock,
        secret_key=platform.settings.resolved_secret_key(),
    )
    return {"message": _RESET_SENT[language]}


@router.post(
    "/password-resets/confirm",
    status_code=204,
    summary="Set a new password with the texted code (ends every session)",
    responses=problem_responses(*BODY_PROBLEMS, errors.OtpInvalid, errors.OtpExpired),
)
def post_password_reset_confirm(
    platform: PlatformDep,
    confirm: Annotated[PasswordResetConfirmIn, Body(openapi_examples=_RESET_CONFIRM)],
) -> Response:
    """Five wrong codes or five minutes spend the code: ask for a new one."""
    service.reset_password(
        platform.uow(),
        login=confirm.login,
        code=confirm.code,
        new_password=confirm.new_password,
        clock=platform.clock,
        secret_key=platform.settings.resolved_secret_key(),
    )
    return Response(status_code=204)
