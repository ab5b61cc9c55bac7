"""How a gateway protocol plugs into the sandbox: its own endpoints, its callback, its way back.

The hosted pages (`checkout.py`) and the test helper (`app.py`) are shared: they decide the
payer's outcome and call `finish`, which asks the payment's protocol to tell the merchant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from fastapi import APIRouter

from simrenew.payments.sandbox.store import SandboxPayment, SandboxStore
from simrenew.settings import Settings

Outcome = Literal["approved", "declined", "insufficient_funds", "cancelled", "3ds_failed"]
CallbackMode = Literal["once", "twice", "never", "delayed"]


@dataclass(frozen=True)
class BrowserReturn:
    """How the payer's browser goes back to the merchant after the page."""

    method: Literal["GET", "POST"]
    url: str
    fields: dict[str, str] = field(default_factory=dict)  # form fields of a POST


class SandboxProtocol(Protocol):
    """One gateway protocol served by the sandbox."""

    gateway: str  # knet | tap | sandbox

    def router(self) -> APIRouter:
        """The protocol's own endpoints (mounted under /{gateway})."""
        ...

    def send_callback(self, payment: SandboxPayment) -> str | None:
        """Post the server-to-server callback; the merchant's reply body, None when it failed."""
        ...

    def browser_return(self, payment: SandboxPayment, reply: str | None) -> BrowserReturn:
        """Where the browser goes once the payer is done (`reply`: the callback's answer)."""
        ...


@dataclass
class SandboxContext:
    """What every protocol module is built with."""

    store: SandboxStore
    settings: Settings
    base_url: str  # e.g. http://127.0.0.1:8001
    protocols: dict[str, SandboxProtocol] = field(default_factory=dict)

    def checkout_url(self, payment: SandboxPayment) -> str:
        """The hosted page of a payment (card form, bank page or wallet approval)."""
        return f"{self.base_url}/checkout/{payment.gateway_payment_id}"

    def finish(
        self,
        payment: SandboxPayment,
        outcome: Outcome,
        *,
        callback: CallbackMode = "once",
        delay_seconds: float = 2.0,
    ) -> BrowserReturn:
        """Record the payer's outcome, tell the merchant as `callback` says, and say where the
        browser goes next."""
        with self.store.lock:
            if outcome == "approved":
                payment.state, payment.reason = "captured", None
                payment.captured_at = time.time()
            elif outcome == "cancelled":
                payment.state, payment.reason = "cancelled", "cancelled"
            else:
                payment.state, payment.reason = "declined", outcome
        protocol = self.protocols[payment.gateway]
        reply: str | None = None
        if callback in ("once", "twice"):
            reply = self.notify(payment)
            if callback == "twice":
                reply = self.notify(payment) or reply
        elif callback == "delayed":
            self.notify_later(payment, delay_seconds)
        return protocol.browser_return(payment, reply)

    def notify(self, payment: SandboxPayment) -> str | None:
        """Send the payment's callback now; the merchant's reply (None when it failed)."""
        reply = self.protocols[payment.gateway].send_callback(payment)
        with self.store.lock:
            payment.callbacks_sent += 1
        return reply

    def notify_later(self, payment: SandboxPayment, delay_seconds: float) -> None:
        """Send the callback after a delay, from another thread (the browser comes first)."""

        def later() -> None:
            time.sleep(delay_seconds)
            self.notify(payment)

        threading.Thread(target=later, daemon=True).start()


ProtocolFactory = Callable[[SandboxContext], SandboxProtocol]
