"""Payments over HTTP: gateways' signed callbacks, and a payment's story for staff and partners."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from simrenew import errors
from simrenew.payments.service import record_callback
from simrenew.payments.views import get_payment
from simrenew.web.api import API_PREFIX, AUTH_PROBLEMS, problem_responses
from simrenew.web.deps import CallerDep, PlatformDep

router = APIRouter(prefix=API_PREFIX, tags=["payments"])


class PaymentEventOut(BaseModel):
    """One thing that happened to a payment."""

    at: datetime
    source: str = Field(description="created, checkout, callback, inquiry, reconcile or refund.")
    outcome: str | None = Field(description="What the gateway said: captured, declined, ...")
    state_before: str
    state_after: str
    amount_fils: int | None
    event_id: str | None = Field(description="The gateway's event id (replays share it).")
    details: dict[str, Any] = Field(description="Support fields; never card data.")


class PaymentStoryOut(BaseModel):
    """A hosted payment with every event stored for it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_ref": "cr3cgttg6rr0tsfq7vc4hhfg",
                    "method": "card",
                    "gateway": "tap",
                    "state": "captured",
                    "reason": None,
                    "flag": None,
                    "amount_fils": 10000,
                    "fee_fils": 0,
                    "currency": "KWD",
                    "language": "en",
                    "captured_fils": 10000,
                    "refunded_fils": 0,
                    "redirect_url": "http://127.0.0.1:8000/pay/cr3cgttg6rr0tsfq7vc4hhfg",
                    "expires_at": "2026-11-25T20:55:54+03:00",
                    "msisdn": "+96550000102",
                    "renewal_id": "01a213cb-d072-74e9-b249-1b9e8374dd52",
                    "events": [
                        {
                            "at": "2026-11-25T20:40:56+03:00",
                            "source": "callback",
                            "outcome": "captured",
                            "state_before": "pending",
                            "state_after": "captured",
                            "amount_fils": 10000,
                            "event_id": "chg_TS2611251740f0KPixZCisfk:CAPTURED",
                            "details": {"status": "CAPTURED", "response_code": "000"},
                        }
                    ],
                }
            ]
        }
    )

    payment_ref: str
    method: str
    gateway: str
    state: str = Field(
        description="created, pending, captured, declined, cancelled, expired or refunded."
    )
    reason: str | None
    flag: str | None = Field(
        description="amount_mismatch, currency_mismatch, payment_id_mismatch or uncreditable: "
        "a capture that is given back, never credited."
    )
    amount_fils: int
    fee_fils: int
    currency: str
    language: str
    captured_fils: int | None
    refunded_fils: int
    redirect_url: str
    expires_at: datetime
    msisdn: str
    renewal_id: str
    events: list[PaymentEventOut]


_REF = Path(min_length=1, max_length=40, description="The payment's reference (payment_ref).")


@router.post(
    "/payments/callbacks/{gateway}",
    summary="A payment gateway's signed server-to-server callback",
    responses={
        200: {
            "description": "Applied (or a replay, applied once). The body is what the gateway's "
            "protocol expects: KNET gets a single `REDIRECT=<url>` line.",
            "content": {"text/plain": {}, "application/json": {}},
        },
        **problem_responses(
            errors.BadSignature, errors.NotFound, errors.ValidationFailed, errors.PayloadTooLarge
        ),
    },
)
async def post_callback(
    platform: PlatformDep,
    request: Request,
    gateway: Annotated[str, Path(max_length=20, description="knet, tap or sandbox.")],
) -> Response:
    """Verify the callback (signature, timestamp, amount) and apply it at most once."""
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    reply = record_callback(
        platform.uow(), platform.payments, gateway, body, headers, clock=platform.clock
    )
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


@router.get(
    "/payments/{payment_ref}",
    summary="A payment and every event stored for it",
    response_model=PaymentStoryOut,
    responses=problem_responses(
        *AUTH_PROBLEMS, errors.ValidationFailed, errors.NotAllowed, errors.NotFound
    ),
)
def get_one_payment(
    platform: PlatformDep,
    caller: CallerDep,
    payment_ref: Annotated[str, _REF],
) -> dict[str, Any]:
    """The payment (state, amounts, flag) with its callbacks, status answers and refunds."""
    return get_payment(platform.uow(), platform.payments, caller, payment_ref)
