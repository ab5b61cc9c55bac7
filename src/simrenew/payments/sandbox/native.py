"""The sandbox's own wallet-provider protocol, the server side of `gateways/fake.py`.

`POST /sandbox/payments` (bearer secret) creates a payment and answers where the browser goes;
the outcome is posted to the merchant's callback URL as JSON signed with `Sandbox-Signature`,
and the browser comes back with `GET {return_url}?payment_id=...`. Errors answer
`{"error": {"code", "message"}}`, as modern payment APIs do.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from simrenew.money import MAX_FILS
from simrenew.payments.gateways.fake import SIGNATURE_HEADER, sign
from simrenew.payments.sandbox.protocol import BrowserReturn, SandboxContext
from simrenew.payments.sandbox.store import SandboxPayment

logger = logging.getLogger("simrenew.sandbox.native")

_URL_PATTERN = r"^https?://\S+$"
# Module level: FastAPI resolves the (string) annotations of endpoints in the module's globals.
Auth = Annotated[str | None, Header()]
_STATUS_OF_STATE = {"captured": "captured", "declined": "declined", "cancelled": "cancelled"}


class CreatePayment(BaseModel):
    """The body of `POST /payments`."""

    reference: str = Field(min_length=1, max_length=64)
    amount_fils: int = Field(gt=0, le=MAX_FILS, strict=True)  # "10.5" or 10.5 is refused
    currency: Literal["KWD"]
    method: str = Field(pattern=r"^(card|knet|wallet:[a-z0-9_-]{1,32})$")
    language: Literal["en", "ar", "zh"] = "en"
    return_url: str = Field(pattern=_URL_PATTERN, max_length=2000)
    callback_url: str = Field(pattern=_URL_PATTERN, max_length=2000)
    description: str = Field(default="", max_length=200)


class CreateRefund(BaseModel):
    """The body of `POST /payments/{id}/refunds`."""

    amount_fils: int = Field(gt=0, le=MAX_FILS, strict=True)
    reference: str = Field(min_length=1, max_length=64)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def status_of(payment: SandboxPayment) -> str:
    """The protocol's status of a payment: captured | declined | cancelled | pending."""
    return _STATUS_OF_STATE.get(payment.state, "pending")


def event_id_of(payment: SandboxPayment) -> str:
    """The id of the event that gave the payment its status: the same in every retry of the
    callback and in status answers, so the merchant can tell they are one event."""
    return f"evt_{payment.gateway_payment_id.removeprefix('sbx_')}_{status_of(payment)}"


def payment_view(payment: SandboxPayment) -> dict[str, Any]:
    """The API's view of a payment (status answers)."""
    return {
        "id": payment.gateway_payment_id,
        "reference": payment.ref,
        "status": status_of(payment),
        "reason": payment.reason,
        "amount_fils": payment.amount_fils,
        "currency": payment.currency,
        "refunded_fils": payment.refunded_fils,
        "method": payment.method,
        "event_id": event_id_of(payment),
        "created": int(payment.created_at),
    }


def _refund_view(payment: SandboxPayment, reference: str) -> dict[str, Any]:
    return {
        "id": payment.extra[f"refund:{reference}"],
        "payment_id": payment.gateway_payment_id,
        "reference": reference,
        "amount_fils": payment.refunds[reference],
        "currency": payment.currency,
        "status": "succeeded",
    }


def _with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query string (a return URL may carry its own)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


class NativeSandbox:
    """The native wallet-provider protocol (`gateway: sandbox`)."""

    gateway = "sandbox"

    def __init__(self, context: SandboxContext) -> None:
        """A protocol serving `context`'s store."""
        self.context = context

    def _secret(self) -> str:
        # Read on each use: the data-dir file may be written after this process started.
        return self.context.settings.secret("sandbox_gateway_secret")

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        return hmac.compare_digest(token.strip().encode(), self._secret().encode())

    def router(self) -> APIRouter:
        """`/payments`, `/payments/by-reference/{ref}`, `/payments/{id}/refunds`."""
        router = APIRouter()
        context = self.context

        def unauthorized() -> JSONResponse:
            response = _error(401, "unauthorized", "a valid bearer secret is required")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response

        @router.post("/payments", status_code=201)
        def create(body: CreatePayment, authorization: Auth = None) -> JSONResponse:
            if not self._authorized(authorization):
                return unauthorized()
            payment = SandboxPayment(
                gateway=self.gateway,
                ref=body.reference,
                gateway_payment_id=f"sbx_{secrets.token_hex(12)}",
                amount_fils=body.amount_fils,
                currency=body.currency,
                method=body.method,
                language=body.language,
                return_url=body.return_url,
                callback_url=body.callback_url,
                description=body.description,
                created_at=time.time(),
            )
            context.store.add(payment)
            view = {**payment_view(payment), "redirect_url": context.checkout_url(payment)}
            return JSONResponse(view, status_code=201)

        @router.get("/payments/by-reference/{reference}")
        def by_reference(reference: str, authorization: Auth = None) -> JSONResponse:
            if not self._authorized(authorization):
                return unauthorized()
            payment = context.store.by_ref(reference)
            if payment is None or payment.gateway != self.gateway:
                return _error(404, "not_found", f"no payment with reference {reference!r}")
            with context.store.lock:
                return JSONResponse(payment_view(payment))

        @router.post("/payments/{payment_id}/refunds", status_code=201)
        def refund(payment_id: str, body: CreateRefund, authorization: Auth = None) -> JSONResponse:
            if not self._authorized(authorization):
                return unauthorized()
            payment = context.store.by_id(payment_id)
            if payment is None or payment.gateway != self.gateway:
                return _error(404, "not_found", f"no payment {payment_id!r}")
            with context.store.lock:
                previous = payment.refunds.get(body.reference)
                if previous is not None:
                    # Idempotent by reference: the same refund again answers the first one;
                    # the reference with another amount is a mistake, not a second refund.
                    if previous != body.amount_fils:
                        return _error(409, "reference_reused", "reference used for another amount")
                    return JSONResponse(_refund_view(payment, body.reference))
                if payment.state != "captured":
                    return _error(409, "not_captured", f"the payment is {payment.state}")
                left = payment.amount_fils - payment.refunded_fils
                if body.amount_fils > left:
                    return _error(422, "amount_exceeds_captured", f"at most {left} fils are left")
                payment.refunds[body.reference] = body.amount_fils
                payment.extra[f"refund:{body.reference}"] = f"rf_{secrets.token_hex(12)}"
                return JSONResponse(_refund_view(payment, body.reference), status_code=201)

        return router

    def callback_body(self, payment: SandboxPayment) -> bytes:
        """The callback's JSON body, as signed (compact, so the bytes are predictable)."""
        with self.context.store.lock:
            event = {
                "event_id": event_id_of(payment),
                "reference": payment.ref,
                "payment_id": payment.gateway_payment_id,
                "status": status_of(payment),
                "reason": payment.reason,
                "amount_fils": payment.amount_fils,
                "currency": payment.currency,
            }
        return json.dumps(event, separators=(",", ":")).encode()

    def send_callback(self, payment: SandboxPayment) -> str | None:
        """Sign the event with the shared secret and POST it to the callback URL."""
        if not payment.callback_url:
            return None
        body = self.callback_body(payment)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret(), int(time.time()), body),
        }
        try:
            response = httpx.post(payment.callback_url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError as error:
            logger.warning("callback to %s failed: %s", payment.callback_url, error)
            return None
        if not response.is_success:
            logger.warning("callback to %s answered %s", payment.callback_url, response.status_code)
            return None
        return response.text

    def browser_return(self, payment: SandboxPayment, reply: str | None) -> BrowserReturn:
        """`GET {return_url}?payment_id=...`, whatever the callback's answer was."""
        # The merchant learns the outcome from the callback or a status query, never from the
        # browser's URL, which the payer could edit: only the id travels here.
        return BrowserReturn(
            "GET", _with_query(payment.return_url, {"payment_id": payment.gateway_payment_id})
        )
