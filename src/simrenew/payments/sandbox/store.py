"""The sandbox gateway's memory: the payments it was asked to take (one process, no database)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class SandboxPayment:
    """One payment as the sandbox gateway holds it."""

    gateway: str  # knet | tap | sandbox: the protocol it was created through
    ref: str  # the merchant's reference (simrenew's payment_ref)
    gateway_payment_id: str  # the gateway's own id (KNET paymentid, Tap chg_..., sbx_...)
    amount_fils: int
    currency: str
    method: str  # card | knet | wallet:<provider>
    language: str
    return_url: str  # where the protocol sends the browser back (see the protocol module)
    callback_url: str | None  # where the protocol posts its server-to-server callback
    description: str
    created_at: float  # unix time
    state: str = "initiated"  # initiated | challenged | captured | declined | cancelled
    reason: str | None = None  # declined | insufficient_funds | 3ds_failed | cancelled
    captured_at: float | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # refund reference -> fils
    callbacks_sent: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # protocol fields (udf1-5, tranid, ...)

    @property
    def refunded_fils(self) -> int:
        """How much of the capture was given back."""
        return sum(self.refunds.values())

    @property
    def finished(self) -> bool:
        """Whether the payer's outcome is known."""
        return self.state in {"captured", "declined", "cancelled"}


class SandboxStore:
    """Payments by merchant reference and by gateway id; safe across request threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._by_ref: dict[str, SandboxPayment] = {}
        self._by_id: dict[str, SandboxPayment] = {}

    def add(self, payment: SandboxPayment) -> None:
        """Keep a new payment (a reference used again names the newest payment)."""
        with self.lock:
            self._by_ref[payment.ref] = payment
            self._by_id[payment.gateway_payment_id] = payment

    def by_ref(self, ref: str) -> SandboxPayment | None:
        """The newest payment under a merchant reference."""
        with self.lock:
            return self._by_ref.get(ref)

    def by_id(self, gateway_payment_id: str) -> SandboxPayment | None:
        """A payment by the gateway's own id."""
        with self.lock:
            return self._by_id.get(gateway_payment_id)
