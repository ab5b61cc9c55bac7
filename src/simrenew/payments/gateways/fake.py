"""The sandbox gateway's own protocol: a modern wallet-provider API (the demo's `wallet:paypal`).

JSON over HTTPS with a bearer secret, and webhooks signed the way Stripe signs its own
(`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`, a 300 s tolerance):
nothing here is specific to one real provider, so it is also the shape a new wallet adapter
would start from. Amounts travel as integer fils, never as decimals.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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

SIGNATURE_HEADER = "Sandbox-Signature"
# Stripe's default tolerance; both directions, so a callback signed "in the future" by a
# skewed (or forged) clock is refused too (Stripe itself only checks the past).
TOLERANCE = timedelta(seconds=300)
_STATUSES = {
    "captured": GatewayOutcome.CAPTURED,
    "declined": GatewayOutcome.DECLINED,
    "cancelled": GatewayOutcome.CANCELLED,
    "pending": GatewayOutcome.PENDING,
}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # unix seconds; the bound keeps datetime from overflowing
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Sandbox-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str | None, body: bytes, *, now: datetime) -> None:
    """Check a `Sandbox-Signature` header over the raw body; CallbackRejected when it fails."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not header:
        raise CallbackRejected(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for element in header.split(","):
        key, sep, value = element.strip().partition("=")
        if not sep:
            raise CallbackRejected(f"garbled {SIGNATURE_HEADER} header")
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise CallbackRejected(f"garbled {SIGNATURE_HEADER} timestamp")
            timestamp = int(value)
        elif key == "v1":
            # Several v1 values are allowed, as with Stripe: one per secret while rotating.
            if not _HEX_DIGEST.fullmatch(value):
                raise CallbackRejected(f"garbled {SIGNATURE_HEADER} signature")
            candidates.append(value.lower())
        # Other schemes (v0, a future v2) are ignored, as Stripe's verification does.
    if timestamp is None or not candidates:
        raise CallbackRejected(f"{SIGNATURE_HEADER} lacks t= or v1=")
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matches):
        raise CallbackRejected("signature does not match the body")
    # Checked after the signature, so an attacker learns nothing about our clock from it.
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    if abs(now - signed_at) > TOLERANCE:
        raise CallbackRejected(f"signed at {signed_at.isoformat()}: outside the 300 s window")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (the service passes lower-case names)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    return None if data.get(key) is None else _text(data, key)


def _event(data: object) -> GatewayEvent:
    """A GatewayEvent from a callback body or a payment view; ValueError when malformed."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    status = _text(data, "status")
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status!r}")
    amount = data.get("amount_fils")
    # bool is an int in Python and a float is never an amount: both are malformed.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("amount_fils is not a whole number of fils")
    # Callbacks name the payment `payment_id`; the API's payment view calls it `id`.
    payment_id = _text(data, "payment_id" if "payment_id" in data else "id")
    details = {"payment_id": payment_id, "status": status}
    refunded = data.get("refunded_fils")
    if isinstance(refunded, int) and not isinstance(refunded, bool):
        details["refunded_fils"] = str(refunded)
    return GatewayEvent(
        event_id=_text(data, "event_id"),
        payment_ref=_text(data, "reference"),
        outcome=_STATUSES[status],
        amount_fils=amount,
        currency=_text(data, "currency"),
        gateway_payment_id=payment_id,
        reason=_optional_text(data, "reason"),
        details=details,
    )


class SandboxGateway:
    """The sandbox gateway's native wallet-provider protocol (`gateway: sandbox` in the catalog)."""

    code = "sandbox"

    def __init__(self, *, base_url: str, secret: str, http: httpx.Client | None = None) -> None:
        """An adapter for the API at `base_url` (e.g. http://127.0.0.1:8001/sandbox)."""
        self._base_url = base_url.rstrip("/")
        self._secret = secret
        self._http = http or httpx.Client(timeout=_TIMEOUT)

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """Create the payment; the browser goes to the wallet's approval page."""
        response = self._call(
            "POST",
            "/payments",
            {
                "reference": order.payment_ref,
                "amount_fils": order.amount_fils,
                "currency": order.currency,
                "method": order.method,
                "language": order.language,
                "return_url": order.return_url,
                "callback_url": order.callback_url,
                "description": order.description,
            },
        )
        self._refuse_client_errors(response)
        data = self._json(response)
        payment_id, redirect_url = data.get("id"), data.get("redirect_url")
        if not isinstance(payment_id, str) or not payment_id:
            raise GatewayUnavailable("the gateway gave no payment id")
        if not isinstance(redirect_url, str) or not redirect_url.startswith(
            ("https://", "http://")
        ):
            raise GatewayUnavailable("the gateway gave no usable redirect_url")
        return Checkout(redirect_url=redirect_url, gateway_payment_id=payment_id)

    def read_callback(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> GatewayEvent:
        """Verify the signature over the raw body and the timestamp, then read the event."""
        verify_signature(self._secret, _header(headers, SIGNATURE_HEADER), body, now=now)
        try:
            return _event(json.loads(body))
        except (ValueError, UnicodeDecodeError) as error:
            # Signed by the gateway yet unreadable: still nothing to act upon.
            raise CallbackRejected(f"unreadable callback body: {error}") from None

    def reply_to_callback(self, event: GatewayEvent | None, *, redirect_url: str) -> CallbackReply:
        """200 `{"received": true}`; a rejected callback gets 400 so the gateway retries it."""
        # The protocol sends the browser back itself: redirect_url has no place in the reply.
        if event is None:
            return CallbackReply(400, '{"received": false}', "application/json")
        return CallbackReply(200, '{"received": true}', "application/json")

    def query_payment(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int
    ) -> GatewayEvent:
        """The payment's status by our reference (UNKNOWN when the gateway never saw it)."""
        # The API finds payments by reference; neither the id nor the amount is needed to ask.
        response = self._call("GET", f"/payments/by-reference/{quote(payment_ref, safe='')}")
        if response.status_code == 404:
            return GatewayEvent(
                event_id=f"unknown:{payment_ref}",
                payment_ref=payment_ref,
                outcome=GatewayOutcome.UNKNOWN,
                amount_fils=None,
                currency=None,
                gateway_payment_id=gateway_payment_id,
            )
        self._refuse_client_errors(response)
        data = self._json(response)
        try:
            # A payment view carries the id of the event that set its status, so a status
            # answer and the callback saying the same thing are one event.
            event = _event(data)
        except ValueError as error:
            raise GatewayUnavailable(f"unreadable payment status: {error}") from None
        if event.payment_ref != payment_ref:
            raise GatewayUnavailable("the gateway answered about another payment")
        return event

    def refund(
        self,
        payment_ref: str,
        *,
        gateway_payment_id: str | None,
        amount_fils: int,
        refund_ref: str,
    ) -> Refund:
        """Refund part or all of a capture; the gateway deduplicates by `refund_ref`."""
        if gateway_payment_id is None:
            found = self.query_payment(payment_ref, gateway_payment_id=None, amount_fils=0)
            if found.gateway_payment_id is None:
                return Refund("", amount_fils=0, succeeded=False, reason="unknown_payment")
            gateway_payment_id = found.gateway_payment_id
        response = self._call(
            "POST",
            f"/payments/{quote(gateway_payment_id, safe='')}/refunds",
            {"amount_fils": amount_fils, "reference": refund_ref},
        )
        if response.status_code in (404, 409, 422):
            # The gateway's "no": unknown payment, not captured, over the captured amount, a
            # reused reference. Nothing was refunded, hence 0 (base.Refund does not say).
            return Refund(
                refund_id="", amount_fils=0, succeeded=False, reason=self._error_code(response)
            )
        self._refuse_client_errors(response)
        data = self._json(response)
        refund_id, refunded, status = data.get("id"), data.get("amount_fils"), data.get("status")
        if (
            not isinstance(refund_id, str)
            or isinstance(refunded, bool)
            or not isinstance(refunded, int)
            or status not in ("succeeded", "failed")
        ):
            raise GatewayUnavailable("unreadable refund answer")
        return Refund(
            refund_id=refund_id,
            amount_fils=refunded,
            succeeded=status == "succeeded",
            reason=data.get("reason") if isinstance(data.get("reason"), str) else None,
        )

    def close(self) -> None:
        """Close the HTTP connections (also those of a client passed in)."""
        self._http.close()

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One API request; GatewayUnavailable on transport errors and 5xx."""
        try:
            response = self._http.request(
                method,
                self._base_url + path,
                json=payload,
                headers={"Authorization": f"Bearer {self._secret}", "Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"sandbox gateway unreachable: {error}") from None
        if response.status_code >= 500:
            raise GatewayUnavailable(f"sandbox gateway answered {response.status_code}")
        return response

    def _refuse_client_errors(self, response: httpx.Response) -> None:
        # base.py has no "refused" error: a 401 (wrong secret) or 400 (bad request) is a
        # configuration or programming problem the payer cannot fix, so it is reported as the
        # gateway being unusable, with the gateway's own code for the operator.
        if response.status_code >= 400:
            raise GatewayUnavailable(
                f"sandbox gateway refused the request: {response.status_code} "
                f"{self._error_code(response)}"
            )

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise GatewayUnavailable("the gateway's answer is not JSON") from None
        if not isinstance(data, dict):
            raise GatewayUnavailable("the gateway's answer is not a JSON object")
        return data

    @staticmethod
    def _error_code(response: httpx.Response) -> str:
        """The `error.code` of an error answer, or `http_<status>` when there is none."""
        try:
            error = response.json().get("error")
            code = error.get("code") if isinstance(error, dict) else None
        except (ValueError, AttributeError):
            code = None
        return code if isinstance(code, str) and code else f"http_{response.status_code}"
