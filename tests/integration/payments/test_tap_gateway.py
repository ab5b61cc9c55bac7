"""The Tap adapter against the sandbox gateway's Tap protocol, over loopback.

A small merchant endpoint (a thread-run HTTP server) receives Tap's webhooks as simrenew would:
it keeps the raw body and headers and answers with the adapter's reply.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integration.payments.sandbox_process import SandboxProcess, free_port
from simrenew.payments.gateways.base import (
    CallbackRejected,
    GatewayEvent,
    GatewayOutcome,
    PaymentOrder,
)
from simrenew.payments.gateways.tap import TapGateway
from simrenew.payments.gateways.tap_protocol import TapApiError


@dataclass
class Webhook:
    """One webhook as it arrived."""

    body: bytes
    headers: dict[str, str]


@dataclass
class Merchant:
    """The merchant's webhook endpoint: what arrived, and the URL Tap is given."""

    url: str
    received: list[Webhook] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Webhook]:
        """The webhooks once `count` of them arrived (fails the test after `seconds`)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, seconds):
                pytest.fail(f"{len(self.received)} webhook(s) arrived, {count} expected")
            return list(self.received)


@pytest.fixture(scope="module")
def gateway(sandbox_gateway: SandboxProcess) -> Iterator[TapGateway]:
    """The adapter, configured like the app: the sandbox's Tap URL and the shared secret key."""
    settings = sandbox_gateway.settings
    tap = TapGateway(
        base_url=settings.gateway_url("tap"), secret_key=settings.secret("tap_secret_key")
    )
    yield tap
    tap.close()


@pytest.fixture(scope="module")
def merchant(gateway: TapGateway) -> Iterator[Merchant]:
    """A webhook receiver on a free loopback port, answering as simrenew's endpoint does."""
    port = free_port()
    endpoint = Merchant(url=f"http://127.0.0.1:{port}/callbacks/tap")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            event: GatewayEvent | None
            try:
                event = gateway.read_callback(body, headers, now=datetime.now(UTC))
            except CallbackRejected:
                event = None
            reply = gateway.reply_to_callback(event, redirect_url="")
            with endpoint.arrived:
                endpoint.received.append(Webhook(body, headers))
                endpoint.arrived.notify_all()
            self.send_response(reply.status_code)
            self.send_header("content-type", reply.media_type)
            self.end_headers()
            self.wfile.write(reply.body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is for failures."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh(merchant: Merchant) -> Merchant:
    """The receiver with nothing arrived yet (tests run one after the other)."""
    with merchant.arrived:
        merchant.received.clear()
    return merchant


def order(merchant: Merchant, *, method: str = "card", fils: int = 10500) -> PaymentOrder:
    ref = f"TAP-{uuid.uuid4().hex[:12]}"
    return PaymentOrder(
        payment_ref=ref,
        amount_fils=fils,
        currency="KWD",
        method=method,
        language="en",
        return_url=f"http://127.0.0.1:9/pay/{ref}/return?lang=en",
        callback_url=merchant.url,
        description="Zahra 10 KD renewal +96550001234",
        msisdn="+96550001234",
    )


def complete(
    sandbox: SandboxProcess, ref: str, outcome: str, callback: str = "once"
) -> dict[str, Any]:
    """The sandbox's test helper: the payer chooses `outcome` on Tap's page."""
    answer = httpx.post(
        f"{sandbox.base_url}/api/payments/{ref}/complete",
        json={"outcome": outcome, "callback": callback, "delay_seconds": 0.5},
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def sandbox_view(sandbox: SandboxProcess, ref: str) -> dict[str, Any]:
    view: dict[str, Any] = httpx.get(f"{sandbox.base_url}/api/payments/{ref}", timeout=10).json()
    return view


def test_a_charge_sends_the_payer_to_the_hosted_page(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    payment = order(fresh)
    checkout = gateway.start_payment(payment)
    assert checkout.gateway_payment_id
    assert checkout.gateway_payment_id.startswith("chg_")
    assert checkout.redirect_url.startswith(f"{sandbox_gateway.base_url}/checkout/")
    assert httpx.get(checkout.redirect_url, timeout=10).status_code == 200
    view = sandbox_view(sandbox_gateway, payment.payment_ref)
    assert (view["gateway"], view["amount_fils"], view["method"]) == ("tap", 10500, "card")
    pending = gateway.query_payment(
        payment.payment_ref, gateway_payment_id=checkout.gateway_payment_id, amount_fils=10500
    )
    assert pending.outcome is GatewayOutcome.PENDING
    assert pending.event_id == f"{checkout.gateway_payment_id}:INITIATED"
    # Starting again with the same reference (a lost answer) gets the same charge back.
    assert gateway.start_payment(payment).gateway_payment_id == checkout.gateway_payment_id


@pytest.mark.parametrize(
    ("outcome", "expected", "reason"),
    [
        ("approved", GatewayOutcome.CAPTURED, None),
        ("declined", GatewayOutcome.DECLINED, "declined"),
        ("insufficient_funds", GatewayOutcome.DECLINED, "insufficient_funds"),
        ("3ds_failed", GatewayOutcome.DECLINED, "3ds_failed"),
        ("cancelled", GatewayOutcome.CANCELLED, "cancelled"),
    ],
)
def test_each_outcome_arrives_signed_and_matches_the_status(
    sandbox_gateway: SandboxProcess,
    gateway: TapGateway,
    fresh: Merchant,
    outcome: str,
    expected: GatewayOutcome,
    reason: str | None,
) -> None:
    payment = order(fresh)
    checkout = gateway.start_payment(payment)
    result = complete(sandbox_gateway, payment.payment_ref, outcome)

    (webhook,) = fresh.wait_for(1)
    assert webhook.headers["hashstring"]
    event = gateway.read_callback(webhook.body, webhook.headers, now=datetime.now(UTC))
    assert (event.payment_ref, event.outcome, event.reason) == (
        payment.payment_ref,
        expected,
        reason,
    )
    assert (event.amount_fils, event.currency) == (10500, "KWD")
    assert event.gateway_payment_id == checkout.gateway_payment_id
    assert b"first_six" not in repr(event.details).encode()

    # The browser comes back the way Tap sends it: redirect.url with tap_id added.
    browser = result["browser"]
    assert browser["method"] == "GET"
    query = parse_qs(urlsplit(browser["url"]).query)
    assert query == {"lang": ["en"], "tap_id": [checkout.gateway_payment_id]}

    # The status query tells the same event (the service sees one event, not two).
    queried = gateway.query_payment(
        payment.payment_ref, gateway_payment_id=checkout.gateway_payment_id, amount_fils=10500
    )
    assert (queried.event_id, queried.outcome) == (event.event_id, expected)


def test_a_retried_webhook_is_the_same_event(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    payment = order(fresh, method="wallet:applepay")
    gateway.start_payment(payment)
    assert sandbox_view(sandbox_gateway, payment.payment_ref)["method"] == "wallet:applepay"
    complete(sandbox_gateway, payment.payment_ref, "approved", callback="twice")
    first, second = fresh.wait_for(2)
    now = datetime.now(UTC)
    events = [gateway.read_callback(hook.body, hook.headers, now=now) for hook in (first, second)]
    assert events[0].event_id == events[1].event_id
    resent = httpx.post(f"{sandbox_gateway.base_url}/api/payments/{payment.payment_ref}/callback")
    assert resent.json()["reply"] == '{"status":"received"}'  # our endpoint took it


def test_a_late_webhook_and_a_lost_one(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    late, lost = order(fresh), order(fresh)
    gateway.start_payment(late)
    lost_checkout = gateway.start_payment(lost)
    complete(sandbox_gateway, late.payment_ref, "approved", callback="delayed")
    complete(sandbox_gateway, lost.payment_ref, "approved", callback="never")
    (webhook,) = fresh.wait_for(1)
    event = gateway.read_callback(webhook.body, webhook.headers, now=datetime.now(UTC))
    assert (event.payment_ref, event.outcome) == (late.payment_ref, GatewayOutcome.CAPTURED)
    time.sleep(0.5)
    assert len(fresh.received) == 1  # nothing came for the lost one: the query tells instead
    queried = gateway.query_payment(
        lost.payment_ref, gateway_payment_id=lost_checkout.gateway_payment_id, amount_fils=10500
    )
    assert queried.outcome is GatewayOutcome.CAPTURED


def test_a_tampered_webhook_is_rejected(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    payment = order(fresh, fils=10000)
    gateway.start_payment(payment)
    complete(sandbox_gateway, payment.payment_ref, "declined")
    (webhook,) = fresh.wait_for(1)
    forged = webhook.body.replace(b'"DECLINED"', b'"CAPTURED"')
    assert forged != webhook.body
    with pytest.raises(CallbackRejected):
        gateway.read_callback(forged, webhook.headers, now=datetime.now(UTC))
    stranger = TapGateway(base_url=gateway.base_url, secret_key="sk_test_not_ours")
    with pytest.raises(CallbackRejected):
        stranger.read_callback(webhook.body, webhook.headers, now=datetime.now(UTC))
    stranger.close()


def test_refunds_whole_part_and_once_per_reference(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    payment = order(fresh)
    charge_id = gateway.start_payment(payment).gateway_payment_id
    complete(sandbox_gateway, payment.payment_ref, "approved")
    ref = payment.payment_ref

    part = gateway.refund(ref, gateway_payment_id=charge_id, amount_fils=4000, refund_ref="R1")
    assert (part.succeeded, part.amount_fils) == (True, 4000)
    again = gateway.refund(ref, gateway_payment_id=charge_id, amount_fils=4000, refund_ref="R1")
    assert (again.succeeded, again.refund_id) == (True, part.refund_id)
    assert sandbox_view(sandbox_gateway, ref)["refunded_fils"] == 4000

    too_much = gateway.refund(ref, gateway_payment_id=charge_id, amount_fils=6501, refund_ref="R2")
    assert not too_much.succeeded
    assert too_much.reason
    assert "exceeds" in too_much.reason
    rest = gateway.refund(ref, gateway_payment_id=charge_id, amount_fils=6500, refund_ref="R3")
    assert rest.succeeded
    assert rest.refund_id != part.refund_id
    assert sandbox_view(sandbox_gateway, ref)["refunded_fils"] == 10500


def test_a_whole_refund_and_none_for_an_unpaid_charge(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    paid, unpaid = order(fresh, fils=5000), order(fresh)
    paid_id = gateway.start_payment(paid).gateway_payment_id
    unpaid_id = gateway.start_payment(unpaid).gateway_payment_id
    complete(sandbox_gateway, paid.payment_ref, "approved")
    complete(sandbox_gateway, unpaid.payment_ref, "insufficient_funds")
    whole = gateway.refund(
        paid.payment_ref, gateway_payment_id=paid_id, amount_fils=5000, refund_ref="W1"
    )
    assert (whole.succeeded, whole.amount_fils) == (True, 5000)
    nothing = gateway.refund(
        unpaid.payment_ref, gateway_payment_id=unpaid_id, amount_fils=100, refund_ref="W2"
    )
    assert not nothing.succeeded
    assert sandbox_view(sandbox_gateway, unpaid.payment_ref)["refunded_fils"] == 0


def test_a_wrong_secret_key_is_refused(
    sandbox_gateway: SandboxProcess, gateway: TapGateway, fresh: Merchant
) -> None:
    stranger = TapGateway(base_url=gateway.base_url, secret_key="sk_test_not_ours")
    payment = order(fresh)
    with pytest.raises(TapApiError) as refused:
        stranger.start_payment(payment)
    assert refused.value.status_code == 401
    assert httpx.get(f"{sandbox_gateway.base_url}/api/payments/{payment.payment_ref}").is_error
    charge_id = gateway.start_payment(payment).gateway_payment_id
    with pytest.raises(TapApiError):
        stranger.query_payment(payment.payment_ref, gateway_payment_id=charge_id, amount_fils=1)
    stranger.close()


def test_an_unknown_charge_is_unknown(gateway: TapGateway) -> None:
    event = gateway.query_payment("TAP-none", gateway_payment_id="chg_TSnope", amount_fils=1)
    assert event.outcome is GatewayOutcome.UNKNOWN
