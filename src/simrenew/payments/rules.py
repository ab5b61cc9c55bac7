"""Pure payment rules: the state machine, what a gateway's word does to a payment, references.

created -> pending -> captured | declined | cancelled | expired; captured -> refunded.
Money taken is the one fact that always wins: a capture is accepted from any state but refunded
(a late capture after an expiry or a decline is still money the payer gave, to credit or give
back), and nothing ever moves a payment out of captured except a refund. Events arrive replayed
and out of order: one that would move a payment backwards is stored and ignored.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from simrenew.payments.gateways.base import GatewayEvent, GatewayOutcome

CURRENCY = "KWD"
_REF_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
REF_LENGTH = 24  # 120 random bits: a payment's pages cannot be found by guessing


class PaymentState(StrEnum):
    CREATED = "created"  # stored; the gateway has not given a page yet
    PENDING = "pending"  # the payer was sent to the gateway's page
    CAPTURED = "captured"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


OPEN_STATES = frozenset({PaymentState.CREATED, PaymentState.PENDING})
FAILED_STATES = frozenset({PaymentState.DECLINED, PaymentState.CANCELLED, PaymentState.EXPIRED})

_FAILURES = {
    GatewayOutcome.DECLINED: PaymentState.DECLINED,
    GatewayOutcome.CANCELLED: PaymentState.CANCELLED,
}


def new_payment_ref() -> str:
    """A fresh payment reference: random, URL- and KNET-trackid-safe."""
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(REF_LENGTH))


def next_state(current: PaymentState, outcome: GatewayOutcome) -> PaymentState | None:
    """The state a gateway's outcome moves a payment to; None when it changes nothing."""
    if outcome is GatewayOutcome.CAPTURED:
        if current in (PaymentState.CAPTURED, PaymentState.REFUNDED):
            return None
        return PaymentState.CAPTURED
    failed = _FAILURES.get(outcome)
    if failed is not None and current in OPEN_STATES:
        return failed
    return None  # pending/unknown never moves a payment; a late failure never undoes anything


def expiry_state(current: PaymentState, outcome: GatewayOutcome) -> PaymentState | None:
    """What a status answer at the payment's deadline does: a payer who never finished (the
    gateway says pending, or never saw the payment) lets the payment expire."""
    moved = next_state(current, outcome)
    if moved is not None:
        return moved
    if current in OPEN_STATES and outcome in (GatewayOutcome.PENDING, GatewayOutcome.UNKNOWN):
        return PaymentState.EXPIRED
    return None


def event_problem(
    event: GatewayEvent, *, amount_fils: int, gateway_payment_id: str | None
) -> str | None:
    """Why an event may not be taken as this payment's word: it names another of the gateway's
    payments (a signed body replayed under another reference), or its capture has a different
    amount or currency."""
    if (
        gateway_payment_id is not None
        and event.gateway_payment_id is not None
        and event.gateway_payment_id != gateway_payment_id
    ):
        return "payment_id_mismatch"
    if event.outcome is not GatewayOutcome.CAPTURED:
        return None
    if event.currency is None or event.currency.upper() != CURRENCY:
        return "currency_mismatch"
    if event.amount_fils is None or event.amount_fils != amount_fils:
        return "amount_mismatch"
    return None


def renewal_state_after(payment_state: PaymentState) -> str | None:
    """The renewal's state once its payment reaches a state (None: unchanged)."""
    if payment_state in FAILED_STATES:
        return "failed"
    if payment_state is PaymentState.REFUNDED:
        return "refunded"
    return None
