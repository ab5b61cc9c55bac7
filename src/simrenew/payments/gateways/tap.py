"""Tap Payments (api.tap.company): the charges API with Tap's hosted page, and its webhook.

Flow (developers.tap.company, "Redirect", "Create a Charge", "Webhook"): `POST /v2/charges`
answers an INITIATED charge whose `transaction.url` is Tap's page; once the payer is done, Tap
POSTs the charge JSON to `post.url` with a `hashstring` header (HMAC-SHA256, keyed by the secret
key, over `x_id..x_amount..x_currency..x_gateway_reference..x_payment_reference..x_status..
x_created..`) and sends the browser to `redirect.url?tap_id=chg_...`. `GET /v2/charges/{id}`
tells the status; `POST /v2/refunds` gives money back. Amounts are decimal numbers in the
currency's unit with its ISO decimals (3 for KWD): they never pass through floats here.

Only seven fields of a webhook are signed. The rest (notably `reference.transaction`, our
payment_ref) could be altered by whoever can replay a signed body: the payments service must
match the event's `gateway_payment_id` (signed `id`) with the charge id it stored at start.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from simrenew.payments.gateways.base import (
    CallbackRejected,
    CallbackReply,
    Checkout,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
    Refund,
)
from simrenew.payments.gateways.tap_protocol import (
    CALLBACK_WINDOW,
    CHARGE_PAGE_LIFETIME,
    REASONS,
    REFUND_ACCEPTED,
    SIGNATURE_HEADER,
    TapApiError,
    decode_json,
    encode_json,
    format_amount,
    hashstring,
    parse_amount,
    source_for,
    tap_customer,
    tap_outcome,
    tap_time,
    text_at,
)


class TapGateway:
    """Tap Payments' charges API and webhook, as a `base.Gateway`."""

    code = "tap"

    def __init__(self, *, base_url: str, secret_key: str, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret_key = secret_key
        self._http = http or httpx.Client(timeout=20.0)

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """Create the charge; the browser goes to Tap's page (`transaction.url`)."""
        body = {
            "amount": Decimal(format_amount(order.amount_fils, order.currency)),
            "currency": order.currency,
            "customer_initiated": True,
            "threeDSecure": True,
            "save_card": False,
            "description": order.description,
            "metadata": {"payment_ref": order.payment_ref, "method": order.method},
            # `idempotent`: the same request within 24 h answers the first charge (Tap's
            # "Idempotency"), so retrying a start after a lost answer creates no second charge.
            "reference": dict.fromkeys(("transaction", "order", "idempotent"), order.payment_ref),
            "customer": tap_customer(order.msisdn),
            "source": {"id": source_for(order.method)},
            "post": {"url": order.callback_url},
            "redirect": {"url": order.return_url},
        }
        # The charge body has no documented language field; `lang_code` is the header Tap's
        # API takes for its language (en/ar). Tap has no Chinese page: zh gets English.
        language = "ar" if order.language == "ar" else "en"
        charge = self._call("POST", "/v2/charges", body, lang_code=language)
        charge_id = text_at(charge, "id")
        page = text_at(charge, "transaction", "url")
        if not charge_id or not page:
            raise GatewayUnavailable(f"tap answered a charge without id or page: {charge_id!r}")
        return Checkout(redirect_url=page, gateway_payment_id=charge_id)

    def read_callback(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> GatewayEvent:
        """Verify Tap's `hashstring` and the time window, then read the charge it carries."""
        received = headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not received:
            raise CallbackRejected("tap callback without hashstring header")
        try:
            charge = decode_json(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise CallbackRejected("tap callback body is not JSON") from error
        if not isinstance(charge, dict) or charge.get("object", "charge") != "charge":
            raise CallbackRejected("tap callback is not a charge")
        try:
            expected = hashstring(charge, self._secret_key)
        except ValueError as error:
            raise CallbackRejected(f"tap callback amount unreadable: {error}") from error
        if not hmac.compare_digest(expected, received):
            raise CallbackRejected("tap callback hashstring does not match")
        try:
            created = tap_time(text_at(charge, "transaction", "created"))
        except ValueError as error:
            raise CallbackRejected("tap callback without a usable transaction.created") from error
        if created > now + CALLBACK_WINDOW:
            raise CallbackRejected(f"tap callback from the future (charge created {created})")
        if now > created + CHARGE_PAGE_LIFETIME + CALLBACK_WINDOW:
            raise CallbackRejected(f"tap callback too old (charge created {created})")
        try:
            return self._event(charge, payment_ref=None)
        except ValueError as error:
            raise CallbackRejected(str(error)) from error

    def reply_to_callback(self, event: GatewayEvent | None, *, redirect_url: str) -> CallbackReply:
        """200 when taken (Tap sends the browser itself: `redirect_url` is unused)."""
        if event is None:
            # Documentation is silent on Tap's retries; a non-2xx is the honest answer.
            return CallbackReply(400, '{"status":"rejected"}', "application/json")
        return CallbackReply(200, '{"status":"received"}', "application/json")

    def query_payment(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int
    ) -> GatewayEvent:
        """Retrieve the charge (`GET /v2/charges/{id}`); UNKNOWN when Tap has none."""
        if gateway_payment_id is None:
            # Tap's list API (POST /v2/charges/list) filters by period, status, customer...
            # but documents no filter by reference.transaction. The charge id comes back
            # synchronously from start_payment, so without it the payer never got Tap's page;
            # a new start with the same reference is answered idempotently by Tap.
            return self._unknown(payment_ref)
        try:
            charge = self._call("GET", f"/v2/charges/{gateway_payment_id}", None)
        except TapApiError as error:
            if error.status_code == 404:
                return self._unknown(payment_ref)
            raise
        try:
            return self._event(charge, payment_ref=payment_ref)
        except ValueError as error:
            raise GatewayUnavailable(f"tap charge unreadable: {error}") from error

    def refund(
        self,
        payment_ref: str,
        *,
        gateway_payment_id: str | None,
        amount_fils: int,
        refund_ref: str,
    ) -> Refund:
        """Refund part or all of a charge; `refund_ref` is Tap's idempotent and merchant ref."""
        if gateway_payment_id is None:
            return Refund("", amount_fils, succeeded=False, reason="no Tap charge id to refund")
        body = {
            "charge_id": gateway_payment_id,
            "amount": Decimal(format_amount(amount_fils, "KWD")),
            "currency": "KWD",
            "reason": "requested_by_customer",  # one of duplicate|fraudulent|requested_by_customer
            "description": f"simrenew refund {refund_ref} of {payment_ref}",
            "reference": {"merchant": refund_ref, "idempotent": refund_ref},
            "metadata": {"payment_ref": payment_ref},
        }
        try:
            answer = self._call("POST", "/v2/refunds", body)
        except TapApiError as error:
            if error.status_code in (401, 403):
                raise
            return Refund("", amount_fils, succeeded=False, reason=str(error))  # Tap said no
        refund_id, status = text_at(answer, "id"), text_at(answer, "status").upper()
        try:
            refunded = parse_amount(answer.get("amount"), text_at(answer, "currency") or "KWD")
        except ValueError:
            refunded = amount_fils
        if status == "REFUNDED":
            return Refund(refund_id, refunded, succeeded=True)
        if status in REFUND_ACCEPTED:
            return Refund(refund_id, refunded, succeeded=True, reason=status.lower())
        reason = text_at(answer, "response", "message") or status.lower()
        return Refund(refund_id, refunded, succeeded=False, reason=reason)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _call(self, method: str, path: str, body: object, **headers: str) -> dict[str, Any]:
        """One Tap API call: its JSON answer, or GatewayUnavailable / TapApiError."""
        headers |= {"Authorization": f"Bearer {self._secret_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        content = None if body is None else encode_json(body)
        try:
            response = self._http.request(
                method, self.base_url + path, content=content, headers=headers
            )
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"tap unreachable: {type(error).__name__}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(f"tap answered HTTP {response.status_code}")
        try:
            answer = decode_json(response.content)
        except (ValueError, UnicodeDecodeError):
            answer = None
        if response.status_code >= 400:
            raise TapApiError(response.status_code, _error_text(answer, response.text))
        if not isinstance(answer, dict):
            raise GatewayUnavailable(f"tap answered something not JSON: {response.text[:200]!r}")
        return answer

    def _event(self, charge: Mapping[str, Any], *, payment_ref: str | None) -> GatewayEvent:
        """A charge as a GatewayEvent (ValueError when it cannot be read)."""
        charge_id = text_at(charge, "id")
        status = text_at(charge, "status").upper()
        ref = text_at(charge, "reference", "transaction")
        if not status:
            raise ValueError(f"tap charge {charge_id} has no status")
        if payment_ref is not None and ref and ref != payment_ref:
            raise ValueError(f"tap charge {charge_id} belongs to {ref!r}, not {payment_ref!r}")
        if not (payment_ref or ref):
            raise ValueError(f"tap charge {charge_id} carries no reference.transaction")
        currency = text_at(charge, "currency")
        amount = parse_amount(charge.get("amount"), currency)
        outcome = tap_outcome(status)
        code = text_at(charge, "response", "code")
        message = text_at(charge, "response", "message")
        reason: str | None = None
        if outcome is GatewayOutcome.CANCELLED:
            reason = "cancelled"
        elif outcome is GatewayOutcome.DECLINED:
            reason = REASONS.get(code) or message or status.lower()
        # Support fields only: never `card` (first six/last four) nor any token.
        fields = {
            "status": status,
            "response_code": code,
            "response_message": message,
            "payment_reference": text_at(charge, "reference", "payment"),
            "gateway_reference": text_at(charge, "reference", "gateway"),
            "track": text_at(charge, "reference", "track"),
            "authorization_id": text_at(charge, "transaction", "authorization_id"),
            "source": text_at(charge, "source", "id"),
        }
        return GatewayEvent(
            event_id=f"{charge_id}:{status}",
            payment_ref=payment_ref or ref,
            outcome=outcome,
            amount_fils=amount,
            currency=currency,
            gateway_payment_id=charge_id,
            reason=reason,
            details={key: value for key, value in fields.items() if value},
        )

    def _unknown(self, payment_ref: str) -> GatewayEvent:
        unknown = GatewayOutcome.UNKNOWN
        return GatewayEvent(f"{payment_ref}:UNKNOWN", payment_ref, unknown, None, None)


def _error_text(answer: object, raw: str) -> str:
    """Tap's error list ({"errors": [{"code", "description"}]}) as one line."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    items = [item for item in errors or () if isinstance(item, Mapping)]
    parts = [f"{text_at(item, 'code')} {text_at(item, 'description')}".strip() for item in items]
    return "; ".join(parts)[:300] or raw[:300] or "no details"
