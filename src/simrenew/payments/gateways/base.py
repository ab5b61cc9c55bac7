"""What every payment gateway adapter offers simrenew, whatever its wire protocol.

A payment is started by sending the payer's browser to the gateway's hosted page; the gateway
tells simrenew the outcome by a server-to-server callback and sends the browser back; simrenew
may also ask the gateway for a payment's status, and refund a capture. Adapters speak their
gateway's own protocol (KNET's encrypted `trandata`, Tap's charges API, ...) and never touch the
database: the payments service stores what they return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class GatewayOutcome(StrEnum):
    """What a gateway says became of a payment."""

    CAPTURED = "captured"  # the money is taken
    DECLINED = "declined"  # refused by the bank/issuer (reason says why)
    CANCELLED = "cancelled"  # the payer gave up on the page
    PENDING = "pending"  # nothing final yet (payer still on the page, 3-D Secure, ...)
    UNKNOWN = "unknown"  # the gateway does not know the payment (never reached its page)


@dataclass(frozen=True)
class PaymentOrder:
    """One payment to start at a gateway."""

    payment_ref: str  # simrenew's reference: KNET trackid, Tap reference.transaction, ...
    amount_fils: int  # what the payer pays (package price - discounts + fee)
    currency: str  # always "KWD"
    method: str  # card | knet | wallet:<provider>
    language: str  # en | ar | zh: the language of the hosted page
    return_url: str  # where the browser comes back to simrenew
    callback_url: str  # where the gateway posts its server-to-server callback
    description: str  # shown on the hosted page, e.g. "Zahra 10 KD renewal +96550001234"
    msisdn: str


@dataclass(frozen=True)
class Checkout:
    """Where to send the payer's browser, and the gateway's own id when it gives one at once."""

    redirect_url: str
    gateway_payment_id: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """A verified statement of the gateway about one payment (callback or status answer)."""

    event_id: str  # unique per gateway and event: callbacks carrying the same id are one event
    payment_ref: str
    outcome: GatewayOutcome
    amount_fils: int | None  # what the gateway says it took (None when it does not say)
    currency: str | None
    gateway_payment_id: str | None = None
    reason: str | None = None  # e.g. "insufficient_funds", "NOT CAPTURED", "HOST TIMEOUT"
    # Fields worth keeping for support (result, auth code, reference, ...). Never card data.
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refund:
    """A gateway's answer to a refund."""

    refund_id: str
    amount_fils: int
    succeeded: bool
    reason: str | None = None


@dataclass(frozen=True)
class CallbackReply:
    """How to answer a callback, as the gateway's protocol demands."""

    status_code: int
    body: str
    media_type: str = "text/plain"


class GatewayUnavailable(Exception):
    """The gateway did not answer, or answered with something unusable: try again later."""


class CallbackRejected(Exception):
    """A callback whose signature, timestamp or content does not verify: change nothing."""


class Gateway(Protocol):
    """A payment gateway as simrenew uses it."""

    code: str  # the gateway's code in the catalog (`gateway:` of a payment method)

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """Create the payment at the gateway; where the browser goes (may call the network)."""
        ...

    def read_callback(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> GatewayEvent:
        """Verify and read a server-to-server callback (CallbackRejected when it does not verify).

        `headers` has lower-case names. No network, no database.
        """
        ...

    def reply_to_callback(self, event: GatewayEvent | None, *, redirect_url: str) -> CallbackReply:
        """The answer the gateway expects: `event` is None when the callback was rejected.

        `redirect_url` is where the browser should go next (KNET's `REDIRECT=` line).
        """
        ...

    def query_payment(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int
    ) -> GatewayEvent:
        """Ask the gateway what became of a payment (GatewayUnavailable when it cannot tell)."""
        ...

    def refund(
        self,
        payment_ref: str,
        *,
        gateway_payment_id: str | None,
        amount_fils: int,
        refund_ref: str,
    ) -> Refund:
        """Give back `amount_fils` of a capture; the same `refund_ref` never refunds twice."""
        ...
