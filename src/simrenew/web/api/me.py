"""The subscriber app's API under /api/v1/me: account, sessions, bound lines, renewals.

Sign-up, sign-in and password resets need no token; everything else takes the session token
that POST /me/sessions returns, as `Authorization: Bearer sub_...`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field

from simrenew import errors
from simrenew.accounts import service
from simrenew.lines.rules import normalize_msisdn
from simrenew.renewals.service import RenewalRequest
from simrenew.web.api import (
    API_PREFIX,
    AUTH_PROBLEMS,
    BODY_PROBLEMS,
    RequestBody,
    problem_responses,
)
from simrenew.web.api.lines import LineStatusOut
from simrenew.web.api.renewals import QuoteOut, ReactivationIn, RenewalOut
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
_MSISDN = Field(min_length=1, max_length=40, description="Any usual spelling of the number.")
_LANGUAGE = Field(min_length=2, max_length=2, description="en, ar or zh.")
_PASSWORD = Field(min_length=1, max_length=1000, description="See GET /me/password-rules.")
_EXAMPLE_LINE = {
    "msisdn": "+96550001234",
    "operator": "zahra",
    "operator_name": "Zahra Telecom",
    "operator_colour": "#0b5cad",
    "plan": "prepaid",
    "state": "grace",
    "balance_fils": 1500,
    "balance_display": "1.500 KWD",
    "paid_fils": 1500,
    "bonus_fils": 0,
    "bonus_expires_at": None,
    "valid_until": "2026-11-24T12:00:00+03:00",
    "days_left": 0,
    "reactivation_required": False,
    "bound_at": "2026-11-25T12:05:00+03:00",
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    """A request body's one OpenAPI example."""
    return {"example": {"summary": summary, "value": value}}


class AccountOut(BaseModel):
    """A subscriber's account."""

    model_config = _examples(
        {"id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90", "name": "Fatima", "login": "+96550001234",
         "language": "ar"}
    )  # fmt: skip

    id: str
    name: str
    login: str = Field(description="The mobile number in E.164 or the e-mail, lower-cased.")
    language: str = Field(description="en, ar or zh: pages, messages and SMS.")


class SessionOut(BaseModel):
    """A new session: send `token` as a bearer token until `expires_at` (30 days)."""

    model_config = _examples(
        {"token": "sub_Vx3...", "expires_at": "2026-12-25T12:00:00+03:00",
         "account": {"id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90", "name": "Fatima",
                     "login": "+96550001234", "language": "ar"}}
    )  # fmt: skip

    token: str
    expires_at: datetime
    account: AccountOut


class PasswordRulesOut(BaseModel):
    """The password rules in words, to show before the user types one."""

    model_config = _examples({"language": "en", "rules": service.PASSWORD_RULES["en"]})

    language: str
    rules: str


class AcceptedOut(BaseModel):
    """Taken: what happens next, in the caller's language."""

    model_config = _examples(
        {"message": "If this login has an account, a code is on its way by SMS to its mobile."}
    )

    message: str


class BoundLineOut(LineStatusOut):
    """A line bound to the account: its status now, its operator and when it was bound."""

    model_config = _examples(_EXAMPLE_LINE)

    operator_name: str = Field(description="In the account's language.")
    operator_colour: str = Field(description="The operator's brand colour, #rrggbb.")
    bound_at: datetime


class BindingChallengeOut(BaseModel):
    """A code was texted to the line: type it before `expires_at`; ask again from `resend_after`."""

    model_config = _examples(
        {"msisdn": "+96550001234", "expires_at": "2026-11-25T12:05:00+03:00",
         "resend_after": "2026-11-25T12:01:00+03:00"}
    )  # fmt: skip

    msisdn: str
    expires_at: datetime
    resend_after: datetime


class OperatorOut(BaseModel):
    """The line's operator, named in the account's language."""

    code: str
    name: str
    colour: str


class PackageOut(BaseModel):
    """A package the line's plan sells on the caller's channel."""

    code: str
    name: str
    price_fils: int
    price_display: str
    validity_days: int


class MethodOut(BaseModel):
    """An online payment method of the caller's channel, with its fee rule."""

    method: str = Field(description="card, knet or wallet:<provider>.")
    gateway: str | None
    fee_fixed_fils: int
    fee_percent: str = Field(description="Percent of the amount charged, as a decimal string.")


class OffersOut(BaseModel):
    """What a bound line can buy on the caller's channel, and how it can pay."""

    model_config = _examples(
        {"line": _EXAMPLE_LINE | {"bound_at": None}, "operator": {"code": "zahra",
         "name": "Zahra Telecom", "colour": "#0b5cad"},
         "packages": [{"code": "kd10", "name": "10 KD", "price_fils": 10000,
                       "price_display": "10.000 KWD", "validity_days": 90}],
         "methods": [{"method": "card", "gateway": "tap", "fee_fixed_fils": 0,
                      "fee_percent": "0"}]}
    )  # fmt: skip

    line: LineStatusOut
    operator: OperatorOut
    packages: list[PackageOut]
    methods: list[MethodOut]


class MeQuoteOut(QuoteOut):
    """A quote for a bound line; a suspended line's quote is for its reactivation."""

    reactivation_required: bool = Field(
        description="True for a suspended line: renew it with `reactivation` (the holder's ID)."
    )


class RegisterIn(RequestBody):
    """A new account."""

    name: str = Field(min_length=1, max_length=200)
    login: str = Field(min_length=1, max_length=300, description="Mobile number or e-mail.")
    password: str = _PASSWORD
    language: str | None = Field(
        default=None, min_length=2, max_length=2, description="en, ar or zh (default: asked)."
    )


class SignInIn(RequestBody):
    """A login and its password."""

    login: str = Field(min_length=1, max_length=300)
    password: str = _PASSWORD


class AccountChangeIn(RequestBody):
    """What to change on the account."""

    language: str = _LANGUAGE


class PasswordResetIn(RequestBody):
    """The login whose password is forgotten."""

    login: str = Field(min_length=1, max_length=300)


class PasswordResetConfirmIn(RequestBody):
    """The code texted for a reset and the new password."""

    login: str = Field(min_length=1, max_length=300)
    code: str = Field(min_length=1, max_length=20, description="The 6 digits from the SMS.")
    new_password: str = _PASSWORD


class BindIn(RequestBody):
    """The line to bind."""

    msisdn: str = _MSISDN


class OtpIn(RequestBody):
    """The code texted to the line."""

    otp: str = Field(min_length=1, max_length=20, description="The 6 digits from the SMS.")


class MeQuoteIn(RequestBody):
    """What to price for a bound line."""

    msisdn: str = _MSISDN
    package_code: str = Field(min_length=1, max_length=32)
    payment_method: str = Field(
        min_length=1, max_length=40, description="card, knet or wallet:<provider>."
    )


class MePaymentIn(RequestBody):
    """How the subscriber pays: always on the gateway's page."""

    method: str = Field(min_length=1, max_length=40, description="card, knet or wallet:<provider>.")


class MeRenewalIn(RequestBody):
    """A renewal of a bound line, paid online; with `reactivation` for a suspended line."""

    msisdn: str = _MSISDN
    package_code: str = Field(min_length=1, max_length=32)
    quote_id: str | None = Field(default=None, min_length=1, max_length=36)
    payment: MePaymentIn
    reactivation: ReactivationIn | None = Field(
        default=None,
        description="The holder's civil ID or passport number, re-checked against the line's "
        "registration: required to renew (and so restore) a suspended line.",
    )


_RESET_SENT = {
    "en": "If this login has an account, a code is on its way by SMS to its mobile number.",
    "ar": "إذا كان لهذا الحساب وجود، فسيصل رمز برسالة نصية إلى رقم الهاتف المرتبط به.",
    "zh": "如果此登录名有账户，验证码将通过短信发送到其手机号码。",
}
# One example per request body (the values are made up).
# fmt: off
_REGISTER = _example("With a mobile number, in Arabic", {
    "name": "Fatima", "login": "5000 1234", "password": "sahra-2026", "language": "ar"})
_SIGN_IN = _example("With a mobile number", {"login": "+96550001234", "password": "sahra-2026"})
_LANGUAGE_CHANGE = _example("Arabic", {"language": "ar"})
_RESET = _example("By mobile number", {"login": "50001234"})
_RESET_CONFIRM = _example("The code and a new password", {
    "login": "50001234", "code": "482913", "new_password": "new-pass-2026"})
_BIND = _example("A line", {"msisdn": "50001234"})
_OTP = _example("The code from the SMS", {"otp": "482913"})
_QUOTE = _example("10 KD by card", {
    "msisdn": "50001234", "package_code": "kd10", "payment_method": "card"})
_RENEWAL = {
    **_example("10 KD by card", {
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
    msisdn = normalize_msisdn(renewal.msisdn)
    # Fingerprinted with the number normalised: a retry spelling it differently is the same.
    body = {**renewal.model_dump(mode="json", exclude_none=True), "msisdn": msisdn}
    identity = renewal.reactivation
    request = RenewalRequest(
        msisdn=msisdn,
        package_code=renewal.package_code,
        payment_method=renewal.payment.method,
        idempotency_key=key,
        body=body,
        quote_id=renewal.quote_id,
        reactivation=(identity.id_type, identity.id_number) if identity else None,
    )
    outcome = service.renew_bound_line(
        platform.uow(), platform.payments, caller, request, clock=platform.clock
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body


@router.get(
    "/renewals",
    summary="The account's renewals, newest first, with receipt numbers",
    response_model=list[RenewalOut],
    responses=problem_responses(*_ME),
)
def get_my_renewals(platform: PlatformDep, caller: SubscriberDep) -> list[dict[str, Any]]:
    """Renewals of the bound lines (the last 100), whatever channel made them."""
    return service.list_account_renewals(platform.uow(), caller, desk=platform.payments)
