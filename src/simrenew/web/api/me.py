"""The subscriber app's API under /api/v1/me: account, sessions, bound lines, renewals.

Sign-up, sign-in and password resets need no token; everything else takes the session token
that POST /me/sessions returns, as `Authorization: Bearer sub_...`.
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
    BindIn,
    BindingChallengeOut,
    BoundLineOut,
    MeQuoteIn,
    MeQuoteOut,
    MeRenewalIn,
    OffersOut,
    OtpIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordRulesOut,
    RegisterIn,
    SessionOut,
    SignInIn,
    example,
)
from simrenew.web.api.renewals import RenewalOut, answer_renewal, renewal_request
from simrenew.web.deps import (
    BearerTokenDep,
    IdempotencyKeyDep,
    LanguageDep,
    MsisdnDep,
    PlatformDep,
    SubscriberDep,
)

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["me"])

_ME = (*AUTH_PROBLEMS, errors.NotAllowed)  # no token, or a channel credential's
_LINE = (*_ME, errors.InvalidMsisdn)
_OTP_SENT = (errors.RateLimited,)
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
_BIND = example("A line", {"msisdn": "50001234"})
_OTP = example("The code from the SMS", {"otp": "482913"})
_QUOTE = example("10 KD by card", {
    "msisdn": "50001234", "package_code": "kd10", "payment_method": "card"})
_RENEWAL = {
    **example("10 KD by card", {
        "msisdn": "+96550001234", "package_code": "kd10", "payment": {"method": "card"}}),
    "reactivation": {"summary": "Reactivate a suspended line, paying by KNET", "value": {
        "msisdn": "+96550001234", "package_code": "kd5", "payment": {"method": "knet"},
        "reactivation": {"id_type": "civil_id", "id_number": "288020122596"}}},
}
# fmt: on
_REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this answer repeats an earlier request's.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_PRICING = (
    *_LINE,
    *BODY_PROBLEMS,
    errors.LineRecycled,
    errors.PackageNotAvailable,
    errors.PaymentMethodNotAvailable,
)
_BINDING = (
    *_LINE,
    *BODY_PROBLEMS,
    errors.UnknownLine,
    errors.LineRecycled,
    errors.LineAlreadyBound,
    errors.LineBoundElsewhere,
)


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
    responses=problem_responses(*_ME),
)
def delete_session(platform: PlatformDep, caller: SubscriberDep, token: BearerTokenDep) -> Response:
    """End the session of the token sent."""
    service.sign_out(platform.uow(), token, clock=platform.clock)
    return Response(status_code=204)


@router.get("", summary="The account", response_model=AccountOut, responses=problem_responses(*_ME))
def get_me(platform: PlatformDep, caller: SubscriberDep) -> dict[str, Any]:
    """The signed-in subscriber's account."""
    return _account(service.get_account(platform.uow(), caller))


@router.patch(
    "",
    summary="Change the account's language",
    response_model=AccountOut,
    responses=problem_responses(*_ME, *BODY_PROBLEMS),
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


# -- bound lines --------------------------------------------------------------------------------


@router.get(
    "/lines",
    summary="The account's bound lines with balance, validity and state",
    response_model=list[BoundLineOut],
    responses=problem_responses(*_ME),
)
def get_my_lines(platform: PlatformDep, caller: SubscriberDep) -> list[dict[str, Any]]:
    """Every bound line as of now, in the order they were bound."""
    return service.list_bound_lines(platform.uow(), caller, clock=platform.clock)


@router.post(
    "/lines",
    status_code=202,
    summary="Bind a line: a code is texted to it",
    response_model=BindingChallengeOut,
    responses=problem_responses(*_BINDING, errors.RateLimited),
)
def post_my_line(
    platform: PlatformDep,
    caller: SubscriberDep,
    line: Annotated[BindIn, Body(openapi_examples=_BIND)],
) -> dict[str, Any]:
    """The code lives 5 minutes and takes 5 attempts; another can be sent after 60 seconds."""
    challenge = service.start_binding(
        platform.uow(),
        caller,
        line.msisdn,
        clock=platform.clock,
        secret_key=platform.settings.resolved_secret_key(),
    )
    return {
        "msisdn": challenge.msisdn,
        "expires_at": challenge.expires_at,
        "resend_after": challenge.resend_after,
    }


@router.post(
    "/lines/{msisdn}/verify",
    summary="Type the texted code: the line is bound",
    response_model=BoundLineOut,
    responses=problem_responses(*_BINDING, errors.OtpInvalid, errors.OtpExpired),
)
def post_line_verification(
    platform: PlatformDep,
    caller: SubscriberDep,
    msisdn: MsisdnDep,
    otp: Annotated[OtpIn, Body(openapi_examples=_OTP)],
) -> dict[str, Any]:
    """The bound line; a wrong code says how many attempts are left."""
    return service.verify_binding(
        platform.uow(),
        caller,
        msisdn,
        otp.otp,
        clock=platform.clock,
        secret_key=platform.settings.resolved_secret_key(),
    )


@router.delete(
    "/lines/{msisdn}",
    status_code=204,
    summary="Unbind a line from the account",
    responses=problem_responses(*_LINE),
)
def delete_my_line(platform: PlatformDep, caller: SubscriberDep, msisdn: MsisdnDep) -> Response:
    """The line leaves the account (nothing happens to the line itself)."""
    service.unbind(platform.uow(), caller, msisdn, clock=platform.clock)
    return Response(status_code=204)


# -- recharge -----------------------------------------------------------------------------------


@router.get(
    "/lines/{msisdn}/offers",
    summary="What a bound line can buy on this channel, and the online payment methods",
    response_model=OffersOut,
    responses=problem_responses(*_LINE),
)
def get_offers(platform: PlatformDep, caller: SubscriberDep, msisdn: MsisdnDep) -> dict[str, Any]:
    """Packages of the line's plan sold on the app (or web), cheapest first."""
    return service.recharge_offers(platform.uow(), caller, msisdn, clock=platform.clock)


@router.post(
    "/quotes",
    summary="Price a package for a bound line before paying",
    response_model=MeQuoteOut,
    responses=problem_responses(*_PRICING),
)
def post_my_quote(
    platform: PlatformDep,
    caller: SubscriberDep,
    language: LanguageDep,
    quote: Annotated[MeQuoteIn, Body(openapi_examples=_QUOTE)],
) -> dict[str, Any]:
    """Price, discount, bonus, fee, credit and new end date, honoured until `expires_at`."""
    return service.quote_bound_line(
        platform.uow(),
        caller,
        quote.msisdn,
        package_code=quote.package_code,
        payment_method=quote.payment_method,
        clock=platform.clock,
        ttl_seconds=platform.settings.quote_ttl_seconds,
        language=language,
    )


@router.post(
    "/renewals",
    status_code=201,
    summary="Renew a bound line, paid on the gateway's page (exactly once per Idempotency-Key)",
    response_model=RenewalOut,
    responses={
        201: {"description": "awaiting_payment: send the payer to payment.redirect_url.",
              "headers": _REPLAYED_HEADER},
        **problem_responses(
            *_PRICING,
            errors.LineSuspended,
            errors.IdentityMismatch,
            errors.QuoteExpired,
            errors.IdempotencyKeyReused,
            errors.GatewayUnavailable,
        ),
    },
)  # fmt: skip
def post_my_renewal(
    platform: PlatformDep,
    caller: SubscriberDep,
    key: IdempotencyKeyDep,
    renewal: Annotated[MeRenewalIn, Body(openapi_examples=_RENEWAL)],
    response: Response,
) -> dict[str, Any]:
    """The renewal awaiting payment, with `payment.redirect_url`; credited when paid."""
    request = renewal_request(renewal, key)
    outcome = service.renew_bound_line(
        platform.uow(), platform.payments, caller, request, clock=platform.clock
    )
    return answer_renewal(outcome, response)


@router.get(
    "/renewals",
    summary="The account's renewals, newest first, with receipt numbers",
    response_model=list[RenewalOut],
    responses=problem_responses(*_ME),
)
def get_my_renewals(platform: PlatformDep, caller: SubscriberDep) -> list[dict[str, Any]]:
    """Renewals of the bound lines (the last 100), whatever channel made them."""
    return service.list_account_renewals(platform.uow(), caller, desk=platform.payments)
