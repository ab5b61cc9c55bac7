"""The subscriber app's API under /api/v1/me: bound lines, offers, quotes, renewals, receipts.

Every route takes the session token that POST /me/sessions returns (web.api.me_account, with
sign-up, sessions and password resets), as `Authorization: Bearer sub_...`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from simrenew import errors
from simrenew.accounts import service
from simrenew.web.api import (
    API_PREFIX,
    BODY_PROBLEMS,
    problem_responses,
)
from simrenew.web.api.me_account import ME_PROBLEMS
from simrenew.web.api.me_schemas import (
    BindIn,
    BindingChallengeOut,
    BoundLineOut,
    MeQuoteIn,
    MeQuoteOut,
    MeRenewalIn,
    OffersOut,
    OtpIn,
    example,
)
from simrenew.web.api.renewals import answer_renewal, renewal_request
from simrenew.web.api.renewals_schemas import RenewalOut
from simrenew.web.deps import (
    IdempotencyKeyDep,
    LanguageDep,
    MsisdnDep,
    PlatformDep,
    SubscriberDep,
)

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["me"])

_ME = ME_PROBLEMS
_LINE = (*_ME, errors.InvalidMsisdn)
# One example per request body (the values are made up).
# fmt: off
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
