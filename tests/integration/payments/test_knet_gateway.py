"""The KNET adapter against the sandbox gateway process: page, callbacks, inquiry, refunds.

A small HTTP server in a thread plays the merchant's responseURL: it reads each callback with
the adapter and answers KNET's `REDIRECT=` line, as simrenew does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from integration.payments.sandbox_process import SandboxProcess
from simrenew.payments.gateways.base import (
    CallbackRejected,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.gateways.knet import KnetGateway
from simrenew.payments.gateways.knet_protocol import (
    build_response,
    decrypt_trandata,
    encrypt_trandata,
    parse_response,
)
from simrenew.payments.rules import new_payment_ref

AMOUNT = 10_250


@dataclass
class Callback:
    """One POST the merchant received, and what it made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    event: GatewayEvent | None
    reply: str


@dataclass
class Merchant:
    """The merchant's side: where callbacks arrive and browsers are sent."""

    url: str
    callbacks: list[Callback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, ref: str, count: int = 1, timeout: float = 10.0) -> list[Callback]:
        """The callbacks about payment `ref`, once `count` of them arrived."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [c for c in self.callbacks if f"/{ref}" in c.path]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def build_knet(sandbox: SandboxProcess, **changes: str) -> KnetGateway:
    settings = sandbox.settings
    arguments = {
        "base_url": settings.gateway_url("knet"),
        "tranportal_id": settings.secret("knet_tranportal_id"),
        "password": settings.secret("knet_tranportal_password"),
        "resource_key": settings.secret("knet_resource_key"),
        **changes,
    }
    return KnetGateway(**arguments)


@pytest.fixture(scope="module")
def knet(sandbox_gateway: SandboxProcess) -> KnetGateway:
    return build_knet(sandbox_gateway)


@pytest.fixture(scope="module")
def merchant(knet: KnetGateway) -> Iterator[Merchant]:
    """responseURL: /callback/<ref> answers as simrenew does; /broken/<ref> answers "OK"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    shop = Merchant(url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            event: GatewayEvent | None = None
            ref = self.path.rsplit("/", 1)[-1]
            try:
                event = knet.read_callback(body, headers, now=datetime.now(UTC))
                redirect = f"{shop.url}/receipt/{ref}"
            except CallbackRejected:
                redirect = f"{shop.url}/failed/{ref}"
            reply = knet.reply_to_callback(event, redirect_url=redirect).body
            if self.path.startswith("/broken/"):
                reply = "OK"
            with shop.lock:
                shop.callbacks.append(Callback(self.path, headers, body, event, reply))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(reply.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shop
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as http:
        yield http


def new_order(merchant: Merchant, path: str = "callback", **changes: Any) -> PaymentOrder:
    ref = new_payment_ref()
    fields: dict[str, Any] = {
        "payment_ref": ref,
        "amount_fils": AMOUNT,
        "currency": "KWD",
        "method": "knet",
        "language": "en",
        "return_url": f"{merchant.url}/error/{ref}",
        "callback_url": f"{merchant.url}/{path}/{ref}",
        "description": "Zahra 10 KD renewal +96550001234",
        "msisdn": "+96550001234",
    }
    fields.update(changes)
    return PaymentOrder(**fields)


def open_page(knet: KnetGateway, client: httpx.Client, order: PaymentOrder) -> httpx.Response:
    """Send the payer's browser to KNET's page (first hop only)."""
    return client.get(knet.start_payment(order).redirect_url, follow_redirects=False)


def complete(
    sandbox: SandboxProcess, client: httpx.Client, ref: str, outcome: str, callback: str = "once"
) -> dict[str, Any]:
    answer = client.post(
        f"{sandbox.base_url}/api/payments/{ref}/complete",
        json={"outcome": outcome, "callback": callback},
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def paid(
    sandbox: SandboxProcess,
    knet: KnetGateway,
    merchant: Merchant,
    client: httpx.Client,
    outcome: str = "approved",
    callback: str = "once",
    path: str = "callback",
) -> tuple[PaymentOrder, dict[str, Any]]:
    order = new_order(merchant, path)
    assert open_page(knet, client, order).status_code == 303
    return order, complete(sandbox, client, order.payment_ref, outcome, callback)


def test_payment_page_opens_at_the_sandbox(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order = new_order(merchant, language="ar")
    page = open_page(knet, client, order)
    assert page.status_code == 303
    assert page.headers["location"].startswith(f"{sandbox_gateway.base_url}/checkout/")
    held = client.get(f"{sandbox_gateway.base_url}/api/payments/{order.payment_ref}").json()
    assert held["gateway"] == "knet"
    assert held["method"] == "knet"
    assert held["amount_fils"] == AMOUNT
    assert held["state"] == "initiated"
    assert held["gateway_payment_id"].isdigit()
    assert client.get(page.headers["location"]).status_code == 200


@pytest.mark.parametrize(
    ("outcome", "expected", "reason"),
    [
        ("approved", GatewayOutcome.CAPTURED, None),
        ("declined", GatewayOutcome.DECLINED, "NOT CAPTURED"),
        ("insufficient_funds", GatewayOutcome.DECLINED, "insufficient_funds"),
        ("3ds_failed", GatewayOutcome.DECLINED, "3ds_failed"),
        ("cancelled", GatewayOutcome.CANCELLED, "CANCELED"),
    ],
)
def test_callback_tells_the_outcome(
    sandbox_gateway: SandboxProcess,
    knet: KnetGateway,
    merchant: Merchant,
    client: httpx.Client,
    outcome: str,
    expected: GatewayOutcome,
    reason: str | None,
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client, outcome)
    (callback,) = merchant.received(order.payment_ref)
    assert callback.headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"CAPTURED" not in callback.body  # the outcome travels encrypted only
    event = callback.event
    assert event is not None
    assert event.outcome is expected
    assert event.reason == reason
    assert event.amount_fils == AMOUNT
    assert event.payment_ref == order.payment_ref
    assert event.gateway_payment_id == completion["gateway_payment_id"]
    # KNET sent the browser where the merchant's REDIRECT= line said.
    assert completion["browser"] == {
        "method": "GET",
        "url": f"{merchant.url}/receipt/{order.payment_ref}",
        "fields": {},
    }


def test_a_repeated_callback_is_the_same_event(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, _ = paid(sandbox_gateway, knet, merchant, client, callback="twice")
    first, second = merchant.received(order.payment_ref, count=2)
    assert first.event is not None
    assert second.event is not None
    assert first.event.event_id == second.event.event_id


def test_lost_callback_is_recovered_by_inquiry(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client, callback="never")
    browser = urlsplit(completion["browser"]["url"])
    query = {name: values[0] for name, values in parse_qs(browser.query).items()}
    assert f"{merchant.url}{browser.path}" == order.return_url  # KNET's errorURL
    assert query["Error"] == "IPAY0100249"
    assert query["trackid"] == order.payment_ref
    assert query["paymentid"] == completion["gateway_payment_id"]

    event = knet.query_payment(order.payment_ref, gateway_payment_id=None, amount_fils=AMOUNT)
    assert event.outcome is GatewayOutcome.CAPTURED
    assert event.amount_fils == AMOUNT
    assert event.gateway_payment_id == completion["gateway_payment_id"]

    client.post(f"{sandbox_gateway.base_url}/api/payments/{order.payment_ref}/callback")
    (late,) = merchant.received(order.payment_ref)
    assert late.event is not None
    assert late.event.event_id == event.event_id  # one fact, one event, whoever told it


def test_merchant_reply_that_is_not_a_redirect_line_sends_the_browser_to_error_url(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client, path="broken")
    query = parse_qs(urlsplit(completion["browser"]["url"]).query)
    assert completion["browser"]["url"].startswith(order.return_url + "?")
    assert query["Error"] == ["IPAY0200014"]


def test_forged_trandata_is_rejected(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, _ = paid(sandbox_gateway, knet, merchant, client, outcome="declined")
    (callback,) = merchant.received(order.payment_ref)
    key = sandbox_gateway.settings.secret("knet_resource_key")
    fields = parse_response(decrypt_trandata(parse_qs(callback.body.decode())["trandata"][0], key))
    forged_fields = {**fields, "result": "CAPTURED"}
    forged = urlencode({"trandata": encrypt_trandata(build_response(forged_fields), "f" * 16)})
    with pytest.raises(CallbackRejected):
        knet.read_callback(forged.encode(), {}, now=datetime.now(UTC))
    # The genuine body does not verify under another terminal's key either.
    other = build_knet(sandbox_gateway, resource_key="0" * 16)
    with pytest.raises(CallbackRejected):
        other.read_callback(callback.body, callback.headers, now=datetime.now(UTC))


def test_inquiry_of_payments_knet_has_no_transaction_for(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    never_seen = knet.query_payment(new_payment_ref(), gateway_payment_id=None, amount_fils=AMOUNT)
    assert never_seen.outcome is GatewayOutcome.UNKNOWN
    assert never_seen.amount_fils is None
    order = new_order(merchant)
    open_page(knet, client, order)  # the payer is still on KNET's page
    on_page = knet.query_payment(order.payment_ref, gateway_payment_id=None, amount_fils=AMOUNT)
    assert on_page.outcome is GatewayOutcome.UNKNOWN


def test_inquiry_of_a_decline(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, _ = paid(sandbox_gateway, knet, merchant, client, outcome="insufficient_funds")
    event = knet.query_payment(order.payment_ref, gateway_payment_id=None, amount_fils=AMOUNT)
    assert (event.outcome, event.reason) == (GatewayOutcome.DECLINED, "insufficient_funds")


def refunded_fils(sandbox: SandboxProcess, client: httpx.Client, ref: str) -> int:
    value: int = client.get(f"{sandbox.base_url}/api/payments/{ref}").json()["refunded_fils"]
    return value


def test_whole_refund(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client)
    payment_id = completion["gateway_payment_id"]
    refund = knet.refund(
        order.payment_ref, gateway_payment_id=payment_id, amount_fils=AMOUNT, refund_ref="rfwhole1"
    )
    assert refund.succeeded
    assert refund.amount_fils == AMOUNT
    assert refunded_fils(sandbox_gateway, client, order.payment_ref) == AMOUNT
    more = knet.refund(
        order.payment_ref, gateway_payment_id=payment_id, amount_fils=1, refund_ref="rfwhole2"
    )
    assert not more.succeeded
    assert (more.reason or "").startswith("IPAY0100137")
    assert refunded_fils(sandbox_gateway, client, order.payment_ref) == AMOUNT


def test_part_refunds_and_a_repeated_refund_ref_refunds_once(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client)
    payment_id = completion["gateway_payment_id"]
    ref = order.payment_ref
    first = knet.refund(ref, gateway_payment_id=payment_id, amount_fils=2_500, refund_ref="rfpart1")
    again = knet.refund(ref, gateway_payment_id=payment_id, amount_fils=2_500, refund_ref="rfpart1")
    second = knet.refund(
        ref, gateway_payment_id=payment_id, amount_fils=2_500, refund_ref="rf-part-2"
    )
    assert first.succeeded
    assert again.succeeded
    assert second.succeeded
    assert again.refund_id == first.refund_id
    assert second.refund_id != first.refund_id
    assert refunded_fils(sandbox_gateway, client, ref) == 5_000


def test_refund_of_what_was_not_captured_fails(
    sandbox_gateway: SandboxProcess, knet: KnetGateway, merchant: Merchant, client: httpx.Client
) -> None:
    order, completion = paid(sandbox_gateway, knet, merchant, client, outcome="declined")
    refund = knet.refund(
        order.payment_ref,
        gateway_payment_id=completion["gateway_payment_id"],
        amount_fils=AMOUNT,
        refund_ref="rfdeclined1",
    )
    assert not refund.succeeded
    assert (refund.reason or "").startswith("IPAY0100136")
    unknown = knet.refund("nope", gateway_payment_id="100999", amount_fils=1, refund_ref="rfnope1")
    assert (unknown.reason or "").startswith("IPAY0100116")


def test_wrong_terminal_credentials(
    sandbox_gateway: SandboxProcess, merchant: Merchant, client: httpx.Client
) -> None:
    wrong_password = build_knet(sandbox_gateway, password="not-the-password")
    page = open_page(wrong_password, client, new_order(merchant))
    assert page.status_code == 400
    assert "IPAY0100015" in page.text
    with pytest.raises(GatewayUnavailable, match="IPAY0100015"):
        wrong_password.query_payment("abc1", gateway_payment_id=None, amount_fils=AMOUNT)
    wrong_key = build_knet(sandbox_gateway, resource_key="0" * 16)
    page = open_page(wrong_key, client, new_order(merchant))
    assert page.status_code == 400
    assert "IPAY0100013" in page.text
