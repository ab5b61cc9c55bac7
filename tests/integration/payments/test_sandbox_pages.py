"""The sandbox's hosted pages and native protocol, against the sandbox gateway process.

A payer is played with plain HTTP (no browser): the page is fetched, its form posted; the
merchant is a small HTTP server in a thread that records each callback's raw body and headers
and answers the way simrenew does (the real adapter verifies and replies).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.testclient import TestClient

from integration.payments.sandbox_process import SandboxProcess
from simrenew.payments.gateways.base import (
    CallbackRejected,
    Checkout,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.gateways.fake import SandboxGateway, sign
from simrenew.payments.sandbox import checkout as checkout_pages
from simrenew.payments.sandbox.protocol import BrowserReturn, SandboxContext
from simrenew.payments.sandbox.store import SandboxPayment, SandboxStore
from simrenew.settings import Settings

FUTURE = f"12/{(datetime.now(UTC).year + 3) % 100:02d}"


@dataclass(frozen=True)
class Received:
    """One callback as the merchant got it."""

    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Merchant:
    """simrenew's callback endpoint, played by a thread: verify, record, reply."""

    def __init__(self, gateway: SandboxGateway) -> None:
        self.received: list[Received] = []
        self.changed = threading.Condition()
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key.lower(): value for key, value in self.headers.items()}
                try:
                    event = gateway.read_callback(raw, headers, now=datetime.now(UTC))
                except CallbackRejected:
                    event = None
                reply = gateway.reply_to_callback(event, redirect_url="")
                with merchant.changed:
                    merchant.received.append(Received(headers, raw, event is not None))
                    merchant.changed.notify_all()
                self.send_response(reply.status_code)
                self.send_header("Content-Type", reply.media_type)
                self.end_headers()
                self.wfile.write(reply.body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def callbacks(self, reference: str) -> list[Received]:
        """The callbacks received so far about one payment."""
        with self.changed:
            return [r for r in self.received if r.json.get("reference") == reference]

    def wait(self, reference: str, count: int = 1, timeout: float = 10) -> list[Received]:
        """The first `count` callbacks about `reference`, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.callbacks(reference)) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no callback {count} for {reference}"
                self.changed.wait(left)
            return self.callbacks(reference)


@pytest.fixture(scope="module")
def gateway(sandbox_gateway: SandboxProcess) -> Iterator[SandboxGateway]:
    settings = sandbox_gateway.settings
    adapter = SandboxGateway(
        base_url=settings.gateway_url("sandbox"), secret=settings.secret("sandbox_gateway_secret")
    )
    yield adapter
    adapter.close()


@pytest.fixture(scope="module")
def merchant(gateway: SandboxGateway) -> Iterator[Merchant]:
    merchant = Merchant(gateway)
    yield merchant
    merchant.server.shutdown()
    merchant.server.server_close()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15, follow_redirects=False) as client:
        yield client


@dataclass(frozen=True)
class Started:
    ref: str
    checkout: Checkout
    return_url: str

    @property
    def payment_id(self) -> str:
        assert self.checkout.gateway_payment_id is not None
        return self.checkout.gateway_payment_id


def start(
    gateway: SandboxGateway,
    merchant: Merchant,
    *,
    method: str = "card",
    language: str = "en",
    description: str = "Zahra 10 KD renewal +96550001234",
) -> Started:
    ref = f"P-{uuid.uuid4().hex[:12]}"
    return_url = f"{merchant.url}/pay/return?ref={ref}"
    order = PaymentOrder(
        payment_ref=ref,
        amount_fils=10150,
        currency="KWD",
        method=method,
        language=language,
        return_url=return_url,
        callback_url=f"{merchant.url}/payments/callback/sandbox",
        description=description,
        msisdn="+96550001234",
    )
    return Started(ref, gateway.start_payment(order), return_url)


def card(number: str, **changes: str) -> dict[str, str]:
    return {"action": "pay", "card_number": number, "expiry": FUTURE, "cvv": "123"} | {
        "name": "Zahra Test",
        **changes,
    }


def assert_sent_back(response: httpx.Response, started: Started) -> None:
    """The browser went back to the merchant's return URL, with the gateway's payment id."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{started.return_url}&")
    assert parse_qs(urlsplit(location).query)["payment_id"] == [started.payment_id]


def test_the_hosted_page_shows_amount_description_banner_and_test_cards(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client
) -> None:
    started = start(gateway, merchant, description="Zahra <b>10 KD</b> renewal")
    page = browser.get(started.checkout.redirect_url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "10.150 KWD" in page.text
    assert "Zahra &lt;b&gt;10 KD&lt;/b&gt; renewal" in page.text  # merchant text is escaped
    assert "SANDBOX - no real money" in page.text
    assert 'name="viewport"' in page.text
    for number in ("4111 1111 1111 1111", "4000 0000 0000 0002", "4000 0000 0000 9995"):
        assert number in page.text
    assert_every_input_is_labelled(page.text)


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "select") and attributes.get("type") != "hidden":
            self.ids.append(attributes.get("id") or "")
        if tag == "label":
            self.labels.add(attributes.get("for") or "")


def assert_every_input_is_labelled(html: str) -> None:
    parser = _Inputs()
    parser.feed(html)
    assert parser.ids
    assert all(field_id in parser.labels for field_id in parser.ids), parser.ids


@pytest.mark.parametrize(
    ("number", "status", "reason"),
    [
        ("4111 1111 1111 1111", "captured", None),
        ("4000000000000002", "declined", "declined"),
        ("4000-0000-0000-9995", "declined", "insufficient_funds"),
    ],
)
def test_each_test_card_sends_its_outcome_once_and_the_payer_back(
    gateway: SandboxGateway,
    merchant: Merchant,
    browser: httpx.Client,
    sandbox_gateway: SandboxProcess,
    number: str,
    status: str,
    reason: str | None,
) -> None:
    started = start(gateway, merchant)
    response = browser.post(started.checkout.redirect_url, data=card(number))
    assert_sent_back(response, started)
    [callback] = merchant.wait(started.ref)
    assert callback.verified
    assert callback.json["status"] == status
    assert callback.json["reason"] == reason
    assert callback.json["amount_fils"] == 10150
    assert callback.json["payment_id"] == started.payment_id
    digits = number.replace(" ", "").replace("-", "")
    assert digits not in callback.body.decode() + json.dumps(callback.headers)
    assert digits not in sandbox_gateway.log()
    status_answer = gateway.query_payment(started.ref, gateway_payment_id=None, amount_fils=10150)
    assert status_answer.outcome == GatewayOutcome(status)
    assert status_answer.event_id == callback.json["event_id"]  # one event, two ways


def test_cancel_on_the_card_page_cancels_without_card_fields(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client
) -> None:
    started = start(gateway, merchant)
    assert_sent_back(
        browser.post(started.checkout.redirect_url, data={"action": "cancel"}), started
    )
    [callback] = merchant.wait(started.ref)
    assert (callback.json["status"], callback.json["reason"]) == ("cancelled", "cancelled")


def test_a_card_that_is_not_a_test_card_is_refused_on_the_page(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client
) -> None:
    started = start(gateway, merchant)
    response = browser.post(
        started.checkout.redirect_url, data=card("5500 0055 5555 5559", cvv="12", expiry="01/20")
    )
    assert response.status_code == 400
    assert "Use one of the sandbox test cards listed below." in response.text
    assert "The CVV is 3 or 4 digits." in response.text
    assert "Enter a future expiry as MM/YY." in response.text
    assert "5555 5559" not in response.text  # the number is not echoed back
    assert "5555555559" not in response.text
    pending = gateway.query_payment(started.ref, gateway_payment_id=None, amount_fils=10150)
    assert pending.outcome is GatewayOutcome.PENDING
    assert merchant.callbacks(started.ref) == []


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [("123456", "captured", None), ("654321", "declined", "3ds_failed")],
)
def test_the_3ds_card_asks_a_code_before_deciding(
    gateway: SandboxGateway,
    merchant: Merchant,
    browser: httpx.Client,
    code: str,
    status: str,
    reason: str | None,
) -> None:
    started = start(gateway, merchant)
    challenged = browser.post(started.checkout.redirect_url, data=card("4000000000003220"))
    assert challenged.status_code == 303
    otp_url = f"{started.checkout.redirect_url}/3ds"
    assert challenged.headers["location"] == f"/checkout/{started.payment_id}/3ds"
    waiting = gateway.query_payment(started.ref, gateway_payment_id=None, amount_fils=10150)
    assert waiting.outcome is GatewayOutcome.PENDING
    assert merchant.callbacks(started.ref) == []
    # The card page itself now leads to the challenge.
    assert browser.get(started.checkout.redirect_url).headers["location"].endswith("/3ds")
    page = browser.get(otp_url)
    assert "One-time code" in page.text
    assert_every_input_is_labelled(page.text)
    assert_sent_back(browser.post(otp_url, data={"action": "verify", "otp": code}), started)
    [callback] = merchant.wait(started.ref)
    assert (callback.json["status"], callback.json["reason"]) == (status, reason)


@pytest.mark.parametrize(
    ("action", "status"),
    [("approve", "captured"), ("decline", "declined"), ("cancel", "cancelled")],
)
def test_the_wallet_page_asks_approval_of_the_amount(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client, action: str, status: str
) -> None:
    started = start(gateway, merchant, method="wallet:paypal", description="Zahra 10 KD renewal")
    page = browser.get(started.checkout.redirect_url)
    assert "Approve payment of 10.150 KWD to Zahra 10 KD renewal" in page.text
    assert "card_number" not in page.text
    assert browser.post(started.checkout.redirect_url, data={}).status_code == 400  # no choice
    assert_sent_back(browser.post(started.checkout.redirect_url, data={"action": action}), started)
    [callback] = merchant.wait(started.ref)
    assert callback.json["status"] == status


def knet(number: str, **changes: str) -> dict[str, str]:
    fields = {"action": "submit", "bank": "National Bank of Kuwait [NBK]", "prefix": "888888"}
    return fields | {"card_number": number, "expiry": FUTURE, "pin": "1234", **changes}


@pytest.mark.parametrize(
    ("number", "status", "reason"),
    [
        ("0000000001", "captured", None),
        ("1234567890", "captured", None),
        ("0000000002", "declined", "declined"),
        ("0000009995", "declined", "insufficient_funds"),
    ],
)
def test_the_knet_bank_page_takes_bank_card_and_pin(
    gateway: SandboxGateway,
    merchant: Merchant,
    browser: httpx.Client,
    number: str,
    status: str,
    reason: str | None,
) -> None:
    started = start(gateway, merchant, method="knet")
    page = browser.get(started.checkout.redirect_url)
    assert "KNET payment" in page.text
    assert "<option>Kuwait Finance House [KFH]</option>" in page.text
    assert 'name="pin"' in page.text
    assert_every_input_is_labelled(page.text)
    assert_sent_back(browser.post(started.checkout.redirect_url, data=knet(number)), started)
    [callback] = merchant.wait(started.ref)
    assert (callback.json["status"], callback.json["reason"]) == (status, reason)
    assert "1234" not in callback.body.decode().replace("10150", "")


def test_the_knet_page_refuses_a_missing_bank_or_short_pin(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client
) -> None:
    started = start(gateway, merchant, method="knet")
    response = browser.post(
        started.checkout.redirect_url, data=knet("0000000001", bank="", pin="12")
    )
    assert response.status_code == 400
    assert "Choose your bank." in response.text
    assert "The PIN is 4 digits." in response.text
    assert merchant.callbacks(started.ref) == []


@pytest.mark.parametrize(
    ("language", "title", "amount"),
    [("ar", "الدفع بالبطاقة", "١٠٫١٥٠ د.ك"), ("zh", "银行卡支付", "10.150 科威特第纳尔")],
)
def test_pages_speak_the_payment_language(
    gateway: SandboxGateway,
    merchant: Merchant,
    browser: httpx.Client,
    language: str,
    title: str,
    amount: str,
) -> None:
    page = browser.get(start(gateway, merchant, language=language).checkout.redirect_url)
    assert f'lang="{language}"' in page.text
    assert ('dir="rtl"' in page.text) == (language == "ar")
    assert f"<h1>{title}</h1>" in page.text
    assert amount in page.text


def test_a_finished_payment_page_says_so_and_cannot_be_paid_again(
    gateway: SandboxGateway, merchant: Merchant, browser: httpx.Client
) -> None:
    started = start(gateway, merchant)
    assert_sent_back(
        browser.post(started.checkout.redirect_url, data=card("4111111111111111")), started
    )
    merchant.wait(started.ref)
    page = browser.get(started.checkout.redirect_url)
    assert "This payment is finished: paid." in page.text
    assert 'name="card_number"' not in page.text
    again = browser.post(started.checkout.redirect_url, data=card("4000000000000002"))
    assert again.status_code == 409
    time.sleep(0.3)
    assert len(merchant.callbacks(started.ref)) == 1


def test_an_unknown_payment_page_is_404(
    sandbox_gateway: SandboxProcess, browser: httpx.Client
) -> None:
    response = browser.get(f"{sandbox_gateway.base_url}/checkout/sbx_nobody")
    assert response.status_code == 404
    assert "Payment not found" in response.text
    assert browser.post(f"{sandbox_gateway.base_url}/checkout/sbx_nobody/3ds").status_code == 404


def test_query_of_a_reference_never_started_is_unknown(gateway: SandboxGateway) -> None:
    event = gateway.query_payment("P-never", gateway_payment_id=None, amount_fils=10150)
    assert event.outcome is GatewayOutcome.UNKNOWN


def complete(sandbox: SandboxProcess, ref: str, outcome: str, callback: str = "once") -> Any:
    answer = httpx.post(
        f"{sandbox.base_url}/api/payments/{ref}/complete",
        json={"outcome": outcome, "callback": callback},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_callback_retries_carry_one_event_id(
    gateway: SandboxGateway, merchant: Merchant, sandbox_gateway: SandboxProcess
) -> None:
    started = start(gateway, merchant)
    answer = complete(sandbox_gateway, started.ref, "approved", callback="twice")
    assert answer["browser"]["method"] == "GET"
    assert answer["browser"]["url"].endswith(f"payment_id={started.payment_id}")
    httpx.post(f"{sandbox_gateway.base_url}/api/payments/{started.ref}/callback", timeout=15)
    callbacks = merchant.wait(started.ref, count=3)
    assert all(c.verified for c in callbacks)
    assert len({c.json["event_id"] for c in callbacks}) == 1


def test_refunds_are_deduplicated_and_capped_at_the_capture(
    gateway: SandboxGateway, merchant: Merchant, sandbox_gateway: SandboxProcess
) -> None:
    started = start(gateway, merchant)
    complete(sandbox_gateway, started.ref, "approved")
    pid = started.payment_id
    first = gateway.refund(started.ref, gateway_payment_id=pid, amount_fils=4000, refund_ref="R1")
    again = gateway.refund(started.ref, gateway_payment_id=pid, amount_fils=4000, refund_ref="R1")
    assert first.succeeded
    assert (again.refund_id, again.amount_fils) == (first.refund_id, 4000)
    reused = gateway.refund(started.ref, gateway_payment_id=pid, amount_fils=10, refund_ref="R1")
    assert (reused.succeeded, reused.reason) == (False, "reference_reused")
    over = gateway.refund(started.ref, gateway_payment_id=None, amount_fils=6151, refund_ref="R2")
    assert (over.succeeded, over.reason) == (False, "amount_exceeds_captured")
    rest = gateway.refund(started.ref, gateway_payment_id=None, amount_fils=6150, refund_ref="R3")
    assert (rest.succeeded, rest.amount_fils) == (True, 6150)
    shown = httpx.get(f"{sandbox_gateway.base_url}/api/payments/{started.ref}").json()
    assert shown["refunded_fils"] == 10150
    status = gateway.query_payment(started.ref, gateway_payment_id=pid, amount_fils=10150)
    assert status.details["refunded_fils"] == "10150"


def test_a_payment_not_captured_cannot_be_refunded(
    gateway: SandboxGateway, merchant: Merchant, sandbox_gateway: SandboxProcess
) -> None:
    started = start(gateway, merchant)
    complete(sandbox_gateway, started.ref, "declined")
    refund = gateway.refund(
        started.ref, gateway_payment_id=started.payment_id, amount_fils=100, refund_ref="R1"
    )
    assert (refund.succeeded, refund.reason) == (False, "not_captured")


def test_forged_callbacks_are_rejected(
    gateway: SandboxGateway, merchant: Merchant, sandbox_gateway: SandboxProcess
) -> None:
    started = start(gateway, merchant)
    complete(sandbox_gateway, started.ref, "declined")
    [real] = merchant.wait(started.ref)
    now = datetime.now(UTC)
    assert (
        gateway.read_callback(real.body, real.headers, now=now).outcome is GatewayOutcome.DECLINED
    )
    forged = real.body.replace(b'"declined"', b'"captured"', 1)
    with pytest.raises(CallbackRejected):
        gateway.read_callback(forged, real.headers, now=now)
    header = {"sandbox-signature": sign("not-the-secret", int(now.timestamp()), forged)}
    with pytest.raises(CallbackRejected):
        gateway.read_callback(forged, header, now=now)
    # Posted to the merchant, the forgery is answered 400 and not taken.
    answer = httpx.post(f"{merchant.url}/payments/callback/sandbox", content=forged, headers=header)
    assert answer.status_code == 400
    assert [c.verified for c in merchant.callbacks(started.ref)] == [True, False]


def test_the_api_wants_the_shared_secret(
    sandbox_gateway: SandboxProcess, merchant: Merchant
) -> None:
    intruder = SandboxGateway(base_url=sandbox_gateway.settings.gateway_url("sandbox"), secret="x")
    with pytest.raises(GatewayUnavailable, match="401 unauthorized"):
        start(intruder, merchant)
    with pytest.raises(GatewayUnavailable, match="401"):
        intruder.query_payment("P-any", gateway_payment_id=None, amount_fils=1)
    intruder.close()


class _PostBack:
    """A protocol whose browser goes back by POST (as KNET's and Tap's may)."""

    gateway = "post"

    def router(self) -> APIRouter:
        return APIRouter()

    def send_callback(self, payment: SandboxPayment) -> str | None:
        return "ok"

    def browser_return(self, payment: SandboxPayment, reply: str | None) -> BrowserReturn:
        fields = {"paymentid": payment.gateway_payment_id, "note": '"><script>x</script>'}
        return BrowserReturn("POST", "https://shop.example/return?x=1&y=2", fields)


def test_a_post_return_is_an_auto_submitting_form_with_a_continue_button(tmp_path: Path) -> None:
    context = SandboxContext(SandboxStore(), Settings(env="test", data_dir=tmp_path), "http://t")
    context.protocols["post"] = _PostBack()
    app = FastAPI()
    app.include_router(checkout_pages.router(context))
    payment = SandboxPayment(
        "post", "P-1", "pay_1", 10150, "KWD", "wallet:paypal", "en", "", None, "d", time.time()
    )
    context.store.add(payment)
    with TestClient(app) as client:
        page = client.post("/checkout/pay_1", data={"action": "approve"})
    assert page.status_code == 200
    assert '<form method="post" action="https://shop.example/return?x=1&amp;y=2">' in page.text
    assert '<input type="hidden" name="paymentid" value="pay_1">' in page.text
    assert "&quot;&gt;&lt;script&gt;x&lt;/script&gt;" in page.text  # field values are escaped
    assert re.search(r"<button[^>]*>Continue</button>", page.text)
    assert "document.forms[0].submit()" in page.text
    assert payment.state == "captured"
