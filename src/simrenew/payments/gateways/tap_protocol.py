"""Tap's charges API on the wire: amounts, JSON, the webhook's hashstring, statuses (pure).

Used by the adapter (gateways.tap) and by the sandbox's Tap (sandbox.tap).
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

import phonenumbers

from simrenew.payments.gateways.base import (
    GatewayOutcome,
    GatewayUnavailable,
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
REASONS = {"501": "declined", "505": "insufficient_funds"}
REASONS |= dict.fromkeys(("503", "504", "512", "516"), "3ds_failed")
# Accepted by Tap, paid out later ("PENDING: Tap will process the refund ... within 24 hours",
# "ACCEPTED ... pending processing"): Tap has taken the refund on, so we report it as done.
REFUND_ACCEPTED = frozenset({"PENDING", "IN_PROGRESS", "ACCEPTED"})


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


def text_at(document: Mapping[str, Any], *path: str) -> str:
    """A nested field as text ("" when missing): Tap omits references it has not assigned."""
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def hashstring(charge: Mapping[str, Any], secret_key: str) -> str:
    """Tap's webhook signature of a charge ("Webhook": Validate the webhook `hashstring`)."""
    currency = text_at(charge, "currency")
    amount = format_amount(parse_amount(charge.get("amount"), currency), currency)
    signed = (
        f"x_id{text_at(charge, 'id')}"
        f"x_amount{amount}"
        f"x_currency{currency}"
        f"x_gateway_reference{text_at(charge, 'reference', 'gateway')}"
        f"x_payment_reference{text_at(charge, 'reference', 'payment')}"
        f"x_status{text_at(charge, 'status')}"
        f"x_created{text_at(charge, 'transaction', 'created')}"
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


def tap_customer(msisdn: str) -> dict[str, Any]:
    """Tap's required customer: the line's number. simrenew knows no payer name or civil ID,
    and Tap requires `first_name`: we send the number there too (what the payer recognises
    on Tap's receipt)."""
    try:
        number = phonenumbers.parse(msisdn, "KW")
        phone = {"country_code": str(number.country_code), "number": str(number.national_number)}
    except phonenumbers.NumberParseException:
        phone = {"country_code": "965", "number": "".join(filter(str.isdigit, msisdn))}
    return {"first_name": msisdn, "phone": phone}
