"""What every SMS transport does: send one message, or raise to have it retried.

    SmsSendError      the gateway did not take the message (down, timeout, busy): retried later
    └── SmsRejected   the gateway refused this message for good (bad number...): dead letter now

Anything else a transport raises counts as an SmsSendError: the outcome is unknown, so the
message is sent again later (at-least-once; see notify/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

# What became of a sent message, as gateways report it (delivery reports, SMPP receipts).
DeliveryState = Literal["accepted", "buffered", "delivered", "failed", "rejected", "expired"]


@dataclass(frozen=True)
class DeliveryReceipt:
    """A gateway's report on one message: its id there, what became of it, and when."""

    external_id: str
    state: DeliveryState
    at: datetime


class SmsTransport(Protocol):
    name: str

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Hand one message to the SMS network; return the gateway's id for it, if any.

        `message_id` is the outbox row's id: transports that can echo it back in delivery
        reports (Kannel's dlr-url) use it, so reports find their row without a gateway id.
        """
        ...

    def take_receipts(self) -> list[DeliveryReceipt]:
        """Delivery receipts that came in on the transport's own connection (SMPP), if any."""
        ...

    def close(self) -> None:
        """Release the transport's connections."""
        ...


class SmsSendError(Exception):
    """The gateway did not accept the message this time; it is retried with backoff."""


class SmsRejected(SmsSendError):
    """The gateway refused this message for good; it goes to the dead letters at once."""
