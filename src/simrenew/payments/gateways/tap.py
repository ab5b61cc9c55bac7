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

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import phonenumbers

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

SIGNATURE_HEADER = "hashstring"
# The platform's callback window (replays and clock skew).
CALLBACK_WINDOW = timedelta(minutes=5)
# Tap's hosted page lives 30 minutes (`transaction.expiry` of its answers: 30 MINUTE). The only
# time Tap signs is `transaction.created`, the charge's creation, not the callback's: a payer
# may take many minutes on the page, so the 5-minute window is applied around the page's life
# (created - 5 min .. created + 30 + 5 min), not around `created` itself. A later callback is
# refused and the outcome comes from `query_payment` (reconciliation) instead.
CHARGE_PAGE_LIFETIME = timedelta(minutes=30)

# "For currencies BHD, KWD, and OMR, amount should be specified with up to 3 decimal places.
# For others, amount should be specified with up to 2 decimal places" (Create a Refund). JOD
# also has 3 ISO decimals; Tap's text does not name it, so that one is our reading of ISO 4217.
_THREE_DECIMALS = frozenset({"KWD", "BHD", "OMR", "JOD"})

# Our payment methods -> Tap's `source.id` ("Redirect": src_card = cards only, src_apple_pay,
# src_kw.knet; "Charges": src_all = every method enabled for the merchant). Google Pay has no
# documented redirect source ("it will appear on our hosted payment page automatically"), so
# it and any other wallet take src_all: the payer picks the wallet on Tap's page.
_SOURCES = {"card": "src_card", "knet": "src_kw.knet", "wallet:applepay": "src_apple_pay"}
ALL_SOURCES = "src_all"

# ABANDONED (301): the payer left the page; CANCELLED (302): the payer cancelled; EXPIRED
# (304): the page's time ran out with no payment. None of these is a refusal by the bank.
_CANCELLED = frozenset({"CANCELLED", "ABANDONED", "EXPIRED"})
_DECLINED = frozenset({"DECLINED", "RESTRICTED", "FAILED", "VOID", "TIMEDOUT", "TIMED_OUT"})

# Tap's response codes ("Charge response codes") that mean what the platform names alike:
# 503/504/512/516 are 3-D Secure incorrect, not enrolled, not authenticated, failed.
_REASONS = {"501": "declined", "505": "insufficient_funds"}
_REASONS |= dict.fromkeys(("503", "504", "512", "516"), "3ds_failed")
# Accepted by Tap, paid out later ("PENDING: Tap will process the refund ... within 24 hours",
# "ACCEPTED ... pending processing"): Tap has taken the refund on, so we report it as done.
_REFUND_ACCEPTED = frozenset({"PENDING", "IN_PROGRESS", "ACCEPTED"})


class TapApiError(GatewayUnavailable):
    """Tap refused a request (401 bad secret key, 400 bad parameters...): fix, then retry."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"tap answered HTTP {status_code}: {message}")
        self.status_code = status_code


def currency_decimals(currency: str) -> int:
    """How many decimals Tap writes for a currency (3 for KWD)."""
    return 3 if currency.upper() in _THREE_DECIMALS else 2


def format_amount(minor: int, currency: str) -> str:
    """Minor units as Tap's decimal text: 10500 fils -> "10.500" (KWD)."""
    if minor < 0:
        raise ValueError("amounts are never negative")
    decimals = currency_decimals(currency)
    whole, fraction = divmod(minor, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}"


def parse_amount(value: object, currency: str) -> int:
    """A Tap amount (JSON number read as int/Decimal, or text) as minor units; ValueError when
    it is not a number or has more decimals than the currency."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"not an amount: {value!r}")  # floats too: never read as float
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not number.is_finite() or number < 0:
        raise ValueError(f"not an amount: {value!r}")
    minor = number.scaleb(currency_decimals(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{value!r} has more decimals than {currency} allows")
    return int(minor)


def encode_json(document: object) -> bytes:
    """JSON of `document` with Decimal values written as JSON numbers ("amount": 10.000)."""
    marker = secrets.token_hex(8)  # unguessable: no text value can look like a placeholder
    numbers: list[str] = []

    def swap(value: object) -> object:
        if isinstance(value, Decimal):
            numbers.append(format(value, "f"))
            return f"{marker}:{len(numbers) - 1}"
        if isinstance(value, Mapping):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(document), ensure_ascii=False)
    placeholder = re.compile(f'"{marker}:([0-9]+)"')
    return placeholder.sub(lambda match: numbers[int(match.group(1))], text).encode()


def decode_json(text: bytes | str) -> Any:
    """Parse Tap's JSON with decimals as Decimal (ValueError when it is not JSON)."""

    def no_constants(name: str) -> object:
        raise ValueError(f"{name} is not an amount")

    return json.loads(text, parse_float=Decimal, parse_constant=no_constants)


def _text(document: Mapping[str, Any], *path: str) -> str:
    """A nested field as text ("" when missing): Tap omits references it has not assigned."""
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def hashstring(charge: Mapping[str, Any], secret_key: str) -> str:
    """Tap's webhook signature of a charge ("Webhook": Validate the webhook `hashstring`)."""
    currency = _text(charge, "currency")
    amount = format_amount(parse_amount(charge.get("amount"), currency), currency)
    signed = (
        f"x_id{_text(charge, 'id')}"
        f"x_amount{amount}"
        f"x_currency{currency}"
        f"x_gateway_reference{_text(charge, 'reference', 'gateway')}"
        f"x_payment_reference{_text(charge, 'reference', 'payment')}"
        f"x_status{_text(charge, 'status')}"
        f"x_created{_text(charge, 'transaction', 'created')}"
    )
    return hmac.new(secret_key.encode(), signed.encode(), hashlib.sha256).hexdigest()


def tap_time(created: str) -> datetime:
    """`transaction.created` as a time: Tap writes Unix milliseconds (its examples sometimes
    show seconds, so 10-digit values are read as seconds)."""
    if not created.isdigit():
        raise ValueError(f"not a Tap time: {created!r}")
    value = int(created)
    return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, UTC)


def tap_outcome(status: str) -> GatewayOutcome:
    """What a charge status means for the payment (statuses Tap may add later: pending)."""
    status = status.upper()
    if status == "CAPTURED":
        return GatewayOutcome.CAPTURED
    if status in _CANCELLED:
        return GatewayOutcome.CANCELLED
    if status in _DECLINED:
        return GatewayOutcome.DECLINED
    # INITIATED, IN_PROGRESS (asynchronous methods), AUTHORIZED (money not taken yet), UNKNOWN
    # (901: Tap does not know the result yet) and statuses Tap may add: never final on a guess.
    return GatewayOutcome.PENDING


def source_for(method: str) -> str:
    """Tap's `source.id` for one of our payment methods."""
    if method in _SOURCES:
        return _SOURCES[method]
    if method.startswith("wallet:"):
        return ALL_SOURCES
    raise ValueError(f"Tap takes no {method!r} payments")


def _customer(msisdn: str) -> dict[str, Any]:
    """Tap's required customer: the line's number. simrenew knows no payer name or civil ID,
    and Tap requires `first_name`: we send the number there too (what the payer recognises
    on Tap's receipt)."""
    try:
        number = phonenumbers.parse(msisdn, "KW")
        phone = {"country_code": str(number.country_code), "number": str(number.national_number)}
    except phonenumbers.NumberParseException:
        phone = {"country_code": "965", "number": "".join(filter(str.isdigit, msisdn))}
    return {"first_name": msisdn, "phone": phone}


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
            "customer": _customer(order.msisdn),
            "source": {"id": source_for(order.method)},
            "post": {"url": order.callback_url},
            "redirect": {"url": order.return_url},
        }
        # The charge body has no documented language field; `lang_code` is the header Tap's
        # API takes for its language (en/ar). Tap has no Chinese page: zh gets English.
        language = "ar" if order.language == "ar" else "en"
        charge = self._call("POST", "/v2/charges", body, lang_code=language)
        charge_id = _text(charge, "id")
        page = _text(charge, "transaction", "url")
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
            created = tap_time(_text(charge, "transaction", "created"))
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
        refund_id, status = _text(answer, "id"), _text(answer, "status").upper()
        try:
            refunded = parse_amount(answer.get("amount"), _text(answer, "currency") or "KWD")
        except ValueError:
            refunded = amount_fils
        if status == "REFUNDED":
            return Refund(refund_id, refunded, succeeded=True)
        if status in _REFUND_ACCEPTED:
            return Refund(refund_id, refunded, succeeded=True, reason=status.lower())
        reason = _text(answer, "response", "message") or status.lower()
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
        charge_id = _text(charge, "id")
        status = _text(charge, "status").upper()
        ref = _text(charge, "reference", "transaction")
        if not status:
            raise ValueError(f"tap charge {charge_id} has no status")
        if payment_ref is not None and ref and ref != payment_ref:
            raise ValueError(f"tap charge {charge_id} belongs to {ref!r}, not {payment_ref!r}")
        if not (payment_ref or ref):
            raise ValueError(f"tap charge {charge_id} carries no reference.transaction")
        currency = _text(charge, "currency")
        amount = parse_amount(charge.get("amount"), currency)
        outcome = tap_outcome(status)
        code = _text(charge, "response", "code")
        message = _text(charge, "response", "message")
        reason: str | None = None
        if outcome is GatewayOutcome.CANCELLED:
            reason = "cancelled"
        elif outcome is GatewayOutcome.DECLINED:
            reason = _REASONS.get(code) or message or status.lower()
        # Support fields only: never `card` (first six/last four) nor any token.
        fields = {
            "status": status,
            "response_code": code,
            "response_message": message,
            "payment_reference": _text(charge, "reference", "payment"),
            "gateway_reference": _text(charge, "reference", "gateway"),
            "track": _text(charge, "reference", "track"),
            "authorization_id": _text(charge, "transaction", "authorization_id"),
            "source": _text(charge, "source", "id"),
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
    parts = [f"{_text(item, 'code')} {_text(item, 'description')}".strip() for item in items]
    return "; ".join(parts)[:300] or raw[:300] or "no details"
