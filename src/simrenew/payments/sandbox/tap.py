"""Tap's charges API as the sandbox speaks it: charges, their retrieval, refunds, the webhook.

Mounted at `/tap`, so `settings.gateway_url("tap")` + `/v2/charges` lands here. The charge JSON
follows Tap's documented shape (id chg_..., status, amount as a 3-decimal number for KWD,
transaction.created in Unix milliseconds and transaction.url, reference.*, response.code and
message from Tap's response-code table). The webhook is that JSON POSTed to `post.url` with the
`hashstring` header, signed here independently of the adapter so tests compare two readings of
Tap's documentation rather than one function with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from simrenew.payments.gateways.tap_protocol import decode_json, encode_json
from simrenew.payments.sandbox.protocol import BrowserReturn, SandboxContext
from simrenew.payments.sandbox.store import SandboxPayment

_DECIMALS = {"KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3}
# Source ids Tap documents for the redirect flow, and the method the sandbox page shows for
# each. src_all lets the payer choose on Tap's page: the sandbox shows its card form.
_METHODS = {
    "src_card": "card",
    "src_all": "card",
    "src_kw.knet": "knet",
    "src_apple_pay": "wallet:applepay",
}
# (status, response.code, response.message) by sandbox state and reason ("Charge response
# codes"). 3-D Secure failures use 516 "Declined, Authentication Failed".
_INITIATED = ("INITIATED", "100", "Initiated")
_OUTCOMES: dict[tuple[str, str | None], tuple[str, str, str]] = {
    ("captured", None): ("CAPTURED", "000", "Captured"),
    ("cancelled", "cancelled"): ("CANCELLED", "302", "Canceled"),
    ("declined", "declined"): ("DECLINED", "501", "Declined"),
    ("declined", "insufficient_funds"): ("DECLINED", "505", "Declined, Insufficient Funds"),
    ("declined", "3ds_failed"): ("DECLINED", "516", "Declined, Authentication Failed"),
}
IDEMPOTENCY_SECONDS = 24 * 3600  # "The idempotent string is valid for 24 hours."


def _tap_id(prefix: str) -> str:
    """A Tap-looking id: chg_TS05A5220251125Ab1c2d3e4f5g6h7 (test-mode prefix TS)."""
    alphabet = string.ascii_letters + string.digits
    tail = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{prefix}_TS{time.strftime('%y%m%d%H%M')}{tail}"


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


def _amount(fils: int, currency: str) -> Decimal:
    """Minor units as Tap's decimal number (10500 -> 10.500 for KWD)."""
    return Decimal(fils).scaleb(-_DECIMALS.get(currency, 2))


def _minor(value: object, currency: str) -> int | None:
    """A request amount as minor units; None when it is not a valid positive amount."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        minor = Decimal(value).scaleb(_DECIMALS.get(currency, 2))
    except InvalidOperation:
        return None
    if not minor.is_finite() or minor <= 0 or minor != minor.to_integral_value():
        return None
    return int(minor)


def _errors(status_code: int, code: str, description: str) -> Response:
    """Tap's error answer: {"errors": [{"code", "description"}]} (codes here are ours)."""
    body = {"errors": [{"code": code, "description": description}]}
    return Response(encode_json(body), status_code=status_code, media_type="application/json")


def _json(document: dict[str, Any]) -> Response:
    return Response(encode_json(document), media_type="application/json")


def tap_signature(charge: dict[str, Any], secret_key: str) -> str:
    """The `hashstring` of a charge this sandbox sends (Tap's "Webhook" page)."""
    reference = charge.get("reference", {})
    amount = f"{charge['amount']:.{_DECIMALS.get(charge['currency'], 2)}f}"
    signed = "".join(
        [
            "x_id",
            charge["id"],
            "x_amount",
            amount,
            "x_currency",
            charge["currency"],
            "x_gateway_reference",
            reference.get("gateway", ""),
            "x_payment_reference",
            reference.get("payment", ""),
            "x_status",
            charge["status"],
            "x_created",
            charge["transaction"]["created"],
        ]
    )
    return hmac.new(secret_key.encode(), signed.encode(), hashlib.sha256).hexdigest()


class TapSandbox:
    """The Tap protocol of the sandbox gateway."""

    gateway = "tap"

    def __init__(self, context: SandboxContext) -> None:
        self.context = context

    def _authorized(self, request: Request) -> bool:
        """Whether the call carries `Authorization: Bearer <the Tap secret key>`."""
        expected = f"Bearer {self.context.settings.secret('tap_secret_key')}"
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def charge(self, payment: SandboxPayment) -> dict[str, Any]:
        """Tap's charge JSON for a payment as it is now."""
        state = (payment.state, payment.reason if payment.state != "captured" else None)
        fallback = {"declined": _OUTCOMES[("declined", "declined")]}.get(payment.state)
        status, code, message = _OUTCOMES.get(state) or fallback or _INITIATED
        extra = payment.extra
        reference = {"track": extra["track"], "transaction": payment.ref, "order": extra["order"]}
        if payment.finished:
            # Tap assigns the payment and gateway (acquirer) references when the payer pays.
            reference |= {"payment": extra["payment_reference"], "gateway": extra["gateway_ref"]}
        amount = _amount(payment.amount_fils, payment.currency)
        document: dict[str, Any] = {
            "id": payment.gateway_payment_id,
            "object": "charge",
            "live_mode": False,
            "api_version": "V2",
            "status": status,
            "amount": amount,
            "currency": payment.currency,
            "threeDSecure": True,
            "save_card": False,
            "description": payment.description,
            "metadata": decode_json(extra["metadata"]),
            "transaction": {
                "timezone": "UTC+03:00",
                "created": str(int(payment.created_at * 1000)),
                "expiry": {"period": 30, "type": "MINUTE"},
                "asynchronous": False,
                "amount": amount,
                "currency": payment.currency,
                "url": self.context.checkout_url(payment),
            },
            "reference": reference,
            "response": {"code": code, "message": message},
            "customer": decode_json(extra["customer"]),
            "merchant": {"id": "sandbox"},
            "source": {"object": "source", "id": extra["source"]},
            "redirect": {"status": "PENDING", "url": payment.return_url},
            "post": {"status": "PENDING", "url": payment.callback_url or ""},
        }
        if payment.state == "captured":
            document["transaction"]["authorization_id"] = extra["authorization_id"]
            if payment.method == "card":
                # As Tap shows it: masked, never the number (the adapter must not keep it).
                document["card"] = {"object": "card", "first_six": "512345", "last_four": "0008"}
        return document

    def router(self) -> APIRouter:
        """`POST /v2/charges`, `GET /v2/charges/{id}`, `POST /v2/refunds`."""
        router = APIRouter()

        @router.post("/v2/charges")
        async def create_charge(request: Request) -> Response:
            if not self._authorized(request):
                return _errors(401, "2107", "Unauthorized: no valid API key was provided")
            try:
                body = decode_json(await request.body())
            except (ValueError, UnicodeDecodeError):
                return _errors(400, "1100", "Request body is not JSON")
            problem = _invalid_charge(body)
            if problem:
                return _errors(400, "1101", problem)
            return _json(self._create(body, request.headers.get("lang_code", "en")))

        @router.get("/v2/charges/{charge_id}")
        def retrieve_charge(charge_id: str, request: Request) -> Response:
            if not self._authorized(request):
                return _errors(401, "2107", "Unauthorized: no valid API key was provided")
            payment = self.context.store.by_id(charge_id)
            if payment is None or payment.gateway != self.gateway:
                return _errors(404, "1404", f"Charge {charge_id} not found")
            with self.context.store.lock:
                return _json(self.charge(payment))

        @router.post("/v2/refunds")
        async def create_refund(request: Request) -> Response:
            if not self._authorized(request):
                return _errors(401, "2107", "Unauthorized: no valid API key was provided")
            try:
                body = decode_json(await request.body())
            except (ValueError, UnicodeDecodeError):
                return _errors(400, "1100", "Request body is not JSON")
            if not isinstance(body, dict):
                return _errors(400, "1100", "Request body is not a JSON object")
            return self._refund(body)

        return router

    def _create(self, body: dict[str, Any], language: str) -> dict[str, Any]:
        """Record the charge (or answer the first one again for a repeated idempotent key)."""
        ref = str(body["reference"]["transaction"])
        idempotent = str(body["reference"].get("idempotent") or "")
        store = self.context.store
        with store.lock:
            earlier = store.by_ref(ref)
            if (
                idempotent
                and earlier is not None
                and earlier.gateway == self.gateway
                and earlier.extra.get("idempotent") == idempotent
                and time.time() - earlier.created_at < IDEMPOTENCY_SECONDS
            ):
                return self.charge(earlier)
            currency = str(body["currency"]).upper()
            source = str(body["source"]["id"])
            payment = SandboxPayment(
                gateway=self.gateway,
                ref=ref,
                gateway_payment_id=_tap_id("chg"),
                amount_fils=_minor(body["amount"], currency) or 0,
                currency=currency,
                method=_METHODS[source],
                language="ar" if language.lower().startswith("ar") else "en",
                return_url=str(body["redirect"]["url"]),
                callback_url=str((body.get("post") or {}).get("url") or "") or None,
                description=str(body.get("description") or ""),
                created_at=time.time(),
                extra={
                    "source": source,
                    "idempotent": idempotent,
                    "order": str(body["reference"].get("order") or ""),
                    "track": _tap_id("tck"),
                    "payment_reference": _digits(18),
                    "gateway_ref": _digits(12),
                    "authorization_id": _digits(6),
                    "metadata": encode_json(body.get("metadata") or {}).decode(),
                    "customer": encode_json({"id": _tap_id("cus"), **body["customer"]}).decode(),
                },
            )
            store.add(payment)
            return self.charge(payment)

    def _refund(self, body: dict[str, Any]) -> Response:
        """Refund at most what was captured; a repeated reference answers the first refund."""
        given = body.get("reference")
        reference: dict[str, Any] = given if isinstance(given, dict) else {}
        key = str(reference.get("idempotent") or reference.get("merchant") or "")
        store = self.context.store
        with store.lock:
            payment = store.by_id(str(body.get("charge_id") or ""))
            if payment is None or payment.gateway != self.gateway:
                return _errors(404, "1404", "Charge not found")
            if key and key in payment.refunds:
                return _json(self._refund_document(payment, key, payment.refunds[key], body))
            currency = str(body.get("currency") or "").upper()
            if currency != payment.currency:
                return _errors(400, "1101", f"Refund currency must be {payment.currency}")
            if body.get("reason") not in ("duplicate", "fraudulent", "requested_by_customer"):
                return _errors(
                    400, "1101", "reason: duplicate, fraudulent or requested_by_customer"
                )
            fils = _minor(body.get("amount"), currency)
            if fils is None:
                return _errors(400, "1101", "Refund amount is not a valid amount")
            if payment.state != "captured":
                return _errors(400, "1102", f"Charge {payment.gateway_payment_id} is not captured")
            if payment.refunded_fils + fils > payment.amount_fils:
                return _errors(400, "1103", "Refund amount exceeds the amount left to refund")
            key = key or _tap_id("re")  # no reference: a refund of its own every time
            payment.refunds[key] = fils
            payment.extra[f"refund:{key}"] = _tap_id("re")
            return _json(self._refund_document(payment, key, fils, body))

    def _refund_document(
        self, payment: SandboxPayment, key: str, fils: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": payment.extra[f"refund:{key}"],
            "object": "refund",
            "api_version": "V2",
            "live_mode": False,
            "amount": _amount(fils, payment.currency),
            "currency": payment.currency,
            "charge_id": payment.gateway_payment_id,
            "created": str(int(time.time() * 1000)),
            "status": "REFUNDED",
            "reason": str(body.get("reason") or ""),
            "reference": {"merchant": key},
            "response": {"code": "000", "message": "Refunded"},
        }

    def send_callback(self, payment: SandboxPayment) -> str | None:
        """POST the charge JSON with its `hashstring` to `post.url`; the reply, None on failure."""
        if not payment.callback_url:
            return None
        with self.context.store.lock:
            charge = self.charge(payment)
        signature = tap_signature(charge, self.context.settings.secret("tap_secret_key"))
        headers = {"hashstring": signature, "Content-Type": "application/json"}
        try:
            response = httpx.post(
                payment.callback_url, content=encode_json(charge), headers=headers, timeout=10.0
            )
        except httpx.HTTPError:
            return None
        return response.text if response.is_success else None

    def browser_return(self, payment: SandboxPayment, reply: str | None) -> BrowserReturn:
        """Tap sends the browser to `redirect.url` with `tap_id=chg_...` added."""
        parts = urlsplit(payment.return_url)
        query = [*parse_qsl(parts.query, keep_blank_values=True)]
        query.append(("tap_id", payment.gateway_payment_id))
        return BrowserReturn("GET", urlunsplit(parts._replace(query=urlencode(query))))


def _invalid_charge(body: object) -> str | None:
    """What Tap would refuse in a Create a Charge request (None when it is acceptable)."""
    if not isinstance(body, dict):
        return "Request body is not a JSON object"
    currency = str(body.get("currency") or "").upper()
    if len(currency) != 3:
        return "currency is required (ISO 4217)"
    minor = _minor(body.get("amount"), currency)
    # "The minimum amount is $0.100 for any charge currency."
    if minor is None or minor < 10 ** (_DECIMALS.get(currency, 2) - 1):
        return "amount must be a positive amount of at least 0.100 with the currency's decimals"
    customer = body.get("customer")
    if not isinstance(customer, dict) or not customer.get("first_name"):
        return "customer.first_name is required"
    if not (customer.get("email") or isinstance(customer.get("phone"), dict)):
        return "customer.email or customer.phone is required"
    source = body.get("source")
    if not isinstance(source, dict) or source.get("id") not in _METHODS:
        return f"source.id must be one of {', '.join(sorted(_METHODS))}"
    redirect = body.get("redirect")
    if not isinstance(redirect, dict) or not redirect.get("url"):
        return "redirect.url is required"
    reference = body.get("reference")
    if not isinstance(reference, dict) or not reference.get("transaction"):
        # Tap itself makes reference optional; the sandbox finds payments by it.
        return "reference.transaction is required by the sandbox"
    return None
