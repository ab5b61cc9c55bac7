"""What the payment use cases work with: the gateways, simrenew's own links, the deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from simrenew.errors import NotFound
from simrenew.payments.gateways.base import Gateway


@dataclass(frozen=True)
class PaymentLinks:
    """simrenew's own addresses the payer's browser and the gateways use."""

    public_url: str

    def pay_url(self, payment_ref: str) -> str:
        """Where the payer is sent: simrenew forwards to the gateway's page."""
        return f"{self.public_url}/pay/{payment_ref}"

    def return_url(self, payment_ref: str) -> str:
        """Where the gateway sends the browser back: the result page."""
        return f"{self.public_url}/payments/{payment_ref}/return"

    def callback_url(self, gateway: str) -> str:
        """Where a gateway posts its server-to-server callbacks."""
        return f"{self.public_url}/api/v1/payments/callbacks/{gateway}"


@dataclass(frozen=True)
class PaymentDesk:
    """The gateways and settings the payment use cases work with (built by bootstrap)."""

    gateways: Mapping[str, Gateway]
    links: PaymentLinks
    timeout: timedelta = timedelta(minutes=15)  # a pending payment's deadline
    # A returning browser asks the gateway at most this often while no callback has come.
    inquiry_interval: timedelta = timedelta(seconds=3)

    def gateway(self, code: str) -> Gateway:
        """A configured gateway (NotFound for an unknown code)."""
        found = self.gateways.get(code)
        if found is None:
            raise NotFound(f"No payment gateway {code!r}.")
        return found
