"""Renewals over HTTP: quote a package, credit a renewal exactly once, look a renewal up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from simrenew import errors
from simrenew.lines.rules import normalize_msisdn
from simrenew.payments.service import renew_with_payment
from simrenew.payments.views import get_renewal_with_payment
from simrenew.renewals.quotes import quote_renewal
from simrenew.renewals.service import RenewalOutcome, RenewalRequest, credit_renewal
from simrenew.staff.rules import IMMEDIATE_METHODS
from simrenew.web.api import (
    API_PREFIX,
    AUTH_PROBLEMS,
    BODY_PROBLEMS,
    problem_responses,
)
from simrenew.web.api.renewals_schemas import (
    QuoteIn,
    QuoteOut,
    RenewalBody,
    RenewalIn,
    RenewalOut,
)
from simrenew.web.deps import CallerDep, IdempotencyKeyDep, LanguageDep, PlatformDep

router = APIRouter(prefix=API_PREFIX, tags=["renewals"])

# Problems of pricing a package for a line, shared by quotes and renewals.
_PRICING_PROBLEMS = (
    *AUTH_PROBLEMS,
    *BODY_PROBLEMS,
    errors.NotAllowed,
    errors.InvalidMsisdn,
    errors.UnknownLine,
    errors.LineRecycled,
    errors.LineSuspended,
    errors.PackageNotAvailable,
    errors.PaymentMethodNotAvailable,
)


def renewal_request(
    renewal: RenewalBody, key: str, *, channel: str | None = None
) -> RenewalRequest:
    """The service's request for a renewal body under an Idempotency-Key."""
    msisdn = normalize_msisdn(renewal.msisdn)
    # The body as the service fingerprints it: the number normalised, so that a retry spelling
    # it differently is still the same request; absent and null optional fields alike.
    body = {**renewal.model_dump(mode="json", exclude_none=True), "msisdn": msisdn}
    identity = renewal.reactivation
    return RenewalRequest(
        msisdn=msisdn,
        package_code=renewal.package_code,
        payment_method=renewal.payment.method,
        idempotency_key=key,
        body=body,
        quote_id=renewal.quote_id,
        channel=channel,
        reactivation=(identity.id_type, identity.id_number) if identity else None,
    )


def answer_renewal(outcome: RenewalOutcome, response: Response) -> dict[str, Any]:
    """The renewal's body; a replayed answer says so in a header."""
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body


@router.post(
    "/quotes",
    summary="Price a package for a line on the caller's channel",
    response_model=QuoteOut,
    responses=problem_responses(*_PRICING_PROBLEMS),
)
def post_quote(
    platform: PlatformDep,
    caller: CallerDep,
    language: LanguageDep,
    quote: Annotated[
        QuoteIn,
        Body(
            openapi_examples={
                "cash": {
                    "summary": "10 KD package, paid in cash at a store",
                    "value": {
                        "msisdn": "90001234",
                        "package_code": "kd10",
                        "payment_method": "cash",
                    },
                }
            }
        ),
    ],
) -> dict[str, Any]:
    """The price, discounts, bonus, fee and new end date, honoured until the quote expires."""
    return quote_renewal(
        platform.uow(),
        caller,
        msisdn=normalize_msisdn(quote.msisdn),
        package_code=quote.package_code,
        channel=quote.channel,
        payment_method=quote.payment_method,
        clock=platform.clock,
        ttl_seconds=platform.settings.quote_ttl_seconds,
        language=language,
        reactivation=quote.reactivation,
    )


@router.post(
    "/renewals",
    status_code=201,
    summary="Renew a line (exactly once per Idempotency-Key)",
    response_model=RenewalOut,
    responses={
        201: {
            "description": "Created, or the first answer again for a repeated key.",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "`true` when this answer repeats an earlier request's.",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        },
        **problem_responses(
            *_PRICING_PROBLEMS,
            errors.QuoteExpired,
            errors.IdempotencyKeyReused,
            errors.IdentityMismatch,
            errors.GatewayUnavailable,
        ),
    },
)
def post_renewal(
    platform: PlatformDep,
    caller: CallerDep,
    key: IdempotencyKeyDep,
    renewal: Annotated[
        RenewalIn,
        Body(
            openapi_examples={
                "cash": {
                    "summary": "Cash at a store, honouring a quote",
                    "value": {
                        "msisdn": "+96550001234",
                        "package_code": "kd5",
                        "quote_id": "01937a2e-8c4b-7d2a-9f1e-3b5c6d7e8f90",
                        "payment": {"method": "cash"},
                    },
                },
                "card": {
                    "summary": "A partner's customer pays by card on the gateway's page",
                    "value": {
                        "msisdn": "+96550001234",
                        "package_code": "kd10",
                        "payment": {"method": "card"},
                    },
                },
            }
        ),
    ],
    response: Response,
) -> dict[str, Any]:
    """Credit the line; a retry with the same key and body answers the first result again."""
    request = renewal_request(renewal, key, channel=renewal.channel)
    if renewal.payment.method in IMMEDIATE_METHODS:
        outcome = credit_renewal(platform.uow(), caller, request, clock=platform.clock)
    else:
        outcome = renew_with_payment(
            platform.uow(), platform.payments, caller, request, clock=platform.clock
        )
    return answer_renewal(outcome, response)


@router.get(
    "/renewals/{renewal_id}",
    summary="A renewal and its payment state",
    response_model=RenewalOut,
    responses=problem_responses(
        *AUTH_PROBLEMS, errors.ValidationFailed, errors.NotAllowed, errors.UnknownRenewal
    ),
)
def get_one_renewal(
    platform: PlatformDep,
    caller: CallerDep,
    renewal_id: Annotated[str, Path(max_length=36, description="The renewal's id.")],
) -> dict[str, Any]:
    """One renewal, as it was answered when created (state and payment up to date)."""
    return get_renewal_with_payment(platform.uow(), platform.payments, caller, renewal_id)
