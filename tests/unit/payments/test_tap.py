"""The Tap adapter without a network: signature, amounts, statuses, webhooks, API answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simrenew.payments.gateways.base import (
    CallbackRejected,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.gateways.tap import TapGateway
from simrenew.payments.gateways.tap_protocol import (
    TapApiError,
    decode_json,
    encode_json,
    format_amount,
    hashstring,
    parse_amount,
    tap_outcome,
)

SECRET = "sk_test_XKokBfNWv6FIYuTMg5sLPjhJ"
CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CREATED_MS = str(int(CREATED.timestamp() * 1000))


def charge(**changes: Any) -> dict[str, Any]:
    """A captured charge as Tap posts it (card details included, as Tap does)."""
    document: dict[str, Any] = {
        "id": "chg_TS0520261125Ab12Cd34Ef56",
        "object": "charge",
        "status": "CAPTURED",
        "amount": Decimal("10.5"),
        "currency": "KWD",
        "transaction": {"created": CREATED_MS, "url": "https://tap.example/pay"},
        "reference": {"transaction": "PAY-1", "payment": "2511251234", "gateway": "123456"},
        "response": {"code": "000", "message": "Captured"},
        "card": {"first_six": "512345", "last_four": "0008"},
        "source": {"id": "src_card"},
    }
    document.update(changes)
    return document


def signed(document: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook for `document`, signed by the documented recipe."""
    message = (
        f"x_id{document['id']}x_amount10.500x_currencyKWD"
        f"x_gateway_reference{document['reference'].get('gateway', '')}"
        f"x_payment_reference{document['reference'].get('payment', '')}"
        f"x_status{document['status']}x_created{document['transaction']['created']}"
    )
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return encode_json(document), {"hashstring": signature, "content-type": "application/json"}


def gateway(handler: Callable[[httpx.Request], httpx.Response] | None = None) -> TapGateway:
    """A TapGateway whose HTTP goes to `handler` (or fails the test when used)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected call {request.method} {request.url}")

    client = httpx.Client(transport=httpx.MockTransport(handler or refuse))
    return TapGateway(base_url="https://api.tap.example/", secret_key=SECRET, http=client)


def order(method: str = "card", language: str = "en") -> PaymentOrder:
    return PaymentOrder(
        payment_ref="PAY-1",
        amount_fils=10500,
        currency="KWD",
        method=method,
        language=language,
        return_url="https://simrenew.example/pay/PAY-1/return",
        callback_url="https://simrenew.example/callbacks/tap",
        description="Zahra 10 KD renewal +96550001234",
        msisdn="+96550001234",
    )


# Amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fils", "text"),
    [(10000, "10.000"), (10500, "10.500"), (1, "0.001"), (0, "0.000"), (123456789, "123456.789")],
)
def test_fils_are_written_with_three_decimals(fils: int, text: str) -> None:
    assert format_amount(fils, "KWD") == text
    assert parse_amount(text, "KWD") == fils
    assert parse_amount(Decimal(text), "KWD") == fils


def test_two_decimal_currencies_and_whole_numbers() -> None:
    assert format_amount(1050, "USD") == "10.50"
    assert parse_amount(10, "KWD") == 10000  # Tap writes 10 for 10.000
    assert parse_amount(Decimal("10.5"), "KWD") == 10500


@pytest.mark.parametrize("value", [Decimal("10.0005"), 10.5, True, "ten", "-1", "NaN", None])
def test_unreadable_amounts_are_refused(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the type is the contract
        parse_amount(value, "KWD")


@given(st.integers(min_value=0, max_value=10**12))
def test_amounts_survive_the_wire(fils: int) -> None:
    body = encode_json({"amount": Decimal(format_amount(fils, "KWD"))})
    assert parse_amount(decode_json(body)["amount"], "KWD") == fils


def test_json_writes_decimals_as_numbers_and_leaves_text_alone() -> None:
    body = encode_json({"amount": Decimal("10.000"), "note": "10.000", "items": [Decimal("1.5")]})
    assert json.loads(body) == {"amount": 10.0, "note": "10.000", "items": [1.5]}
    assert b'"amount": 10.000' in body


# Signature and status -----------------------------------------------------------------------


def test_hashstring_follows_the_documented_recipe() -> None:
    expected = hmac.new(
        b"secret",
        b"x_idchg_1x_amount1.500x_currencyKWDx_gateway_referencegwx_payment_referencepy"
        b"x_statusCAPTUREDx_created1700",
        hashlib.sha256,
    ).hexdigest()
    document = {
        "id": "chg_1",
        "amount": Decimal("1.5"),
        "currency": "KWD",
        "status": "CAPTURED",
        "reference": {"gateway": "gw", "payment": "py"},
        "transaction": {"created": "1700"},
    }
    assert hashstring(document, "secret") == expected
    # A charge Tap has not processed yet has no payment/gateway references: empty in the hash.
    del document["reference"]
    assert (
        hashstring(document, "secret")
        == hmac.new(
            b"secret",
            b"x_idchg_1x_amount1.500x_currencyKWDx_gateway_referencex_payment_reference"
            b"x_statusCAPTUREDx_created1700",
            hashlib.sha256,
        ).hexdigest()
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("CAPTURED", GatewayOutcome.CAPTURED),
        ("INITIATED", GatewayOutcome.PENDING),
        ("IN_PROGRESS", GatewayOutcome.PENDING),
        ("UNKNOWN", GatewayOutcome.PENDING),
        ("SOMETHING_NEW", GatewayOutcome.PENDING),
        ("DECLINED", GatewayOutcome.DECLINED),
        ("RESTRICTED", GatewayOutcome.DECLINED),
        ("FAILED", GatewayOutcome.DECLINED),
        ("VOID", GatewayOutcome.DECLINED),
        ("TIMEDOUT", GatewayOutcome.DECLINED),
        ("CANCELLED", GatewayOutcome.CANCELLED),
        ("ABANDONED", GatewayOutcome.CANCELLED),
        ("EXPIRED", GatewayOutcome.CANCELLED),
    ],
)
def test_status_mapping(status: str, outcome: GatewayOutcome) -> None:
    assert tap_outcome(status) is outcome


# Webhooks -----------------------------------------------------------------------------------


def test_a_signed_webhook_is_read() -> None:
    body, headers = signed(charge())
    event = gateway().read_callback(body, headers, now=CREATED + timedelta(minutes=3))
    assert event.event_id == "chg_TS0520261125Ab12Cd34Ef56:CAPTURED"
    assert event.payment_ref == "PAY-1"
    assert event.outcome is GatewayOutcome.CAPTURED
    assert (event.amount_fils, event.currency) == (10500, "KWD")
    assert event.gateway_payment_id == "chg_TS0520261125Ab12Cd34Ef56"
    assert event.reason is None
    assert event.details["payment_reference"] == "2511251234"
    assert not any("512345" in value or "0008" in value for value in event.details.values())


@pytest.mark.parametrize(
    ("status", "code", "message", "outcome", "reason"),
    [
        ("DECLINED", "505", "Declined, Insufficient Funds", "declined", "insufficient_funds"),
        ("DECLINED", "516", "Declined, Authentication Failed", "declined", "3ds_failed"),
        ("DECLINED", "507", "Declined, Card Issuer", "declined", "Declined, Card Issuer"),
        ("CANCELLED", "302", "Canceled", "cancelled", "cancelled"),
        ("ABANDONED", "301", "Abandoned", "cancelled", "cancelled"),
    ],
)
def test_refusals_say_why(status: str, code: str, message: str, outcome: str, reason: str) -> None:
    document = charge(status=status, response={"code": code, "message": message})
    body, headers = signed(document)
    event = gateway().read_callback(body, headers, now=CREATED)
    assert (event.outcome.value, event.reason) == (outcome, reason)
    assert event.event_id.endswith(f":{status}")


@pytest.mark.parametrize(
    "forge",
    [
        lambda body, headers: (body.replace(b'"amount": 10.5', b'"amount": 0.5'), headers),
        lambda body, headers: (body.replace(b'"CAPTURED"', b'"DECLINED"'), headers),
        lambda body, headers: (body.replace(b"chg_TS05", b"chg_TS06"), headers),
        lambda body, headers: (body, {"hashstring": "0" * 64}),
        lambda body, headers: (body, {}),
        lambda body, headers: (b"not json", headers),
        lambda body, headers: (b"[]", headers),
    ],
    ids=["amount", "status", "charge-id", "wrong-hash", "no-hash", "not-json", "not-object"],
)
def test_forged_webhooks_are_rejected(
    forge: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]],
) -> None:
    body, headers = forge(*signed(charge()))
    with pytest.raises(CallbackRejected):
        gateway().read_callback(body, headers, now=CREATED)


def test_a_webhook_signed_with_another_key_is_rejected() -> None:
    body, headers = signed(charge(), secret="sk_test_someone_else")
    with pytest.raises(CallbackRejected, match="does not match"):
        gateway().read_callback(body, headers, now=CREATED)


def test_the_window_runs_over_the_hosted_page_life() -> None:
    body, headers = signed(charge())
    tap = gateway()
    # The payer may spend the page's 30 minutes on it: still taken 34 minutes after creation.
    assert tap.read_callback(body, headers, now=CREATED + timedelta(minutes=34)).amount_fils
    with pytest.raises(CallbackRejected, match="too old"):
        tap.read_callback(body, headers, now=CREATED + timedelta(minutes=36))
    with pytest.raises(CallbackRejected, match="future"):
        tap.read_callback(body, headers, now=CREATED - timedelta(minutes=6))


def test_a_webhook_without_a_creation_time_is_rejected() -> None:
    body, headers = signed(charge(transaction={"created": ""}))
    with pytest.raises(CallbackRejected, match="created"):
        gateway().read_callback(body, headers, now=CREATED)


def test_callback_replies() -> None:
    body, headers = signed(charge())
    tap = gateway()
    event = tap.read_callback(body, headers, now=CREATED)
    assert tap.reply_to_callback(event, redirect_url="https://x.example").status_code == 200
    assert tap.reply_to_callback(None, redirect_url="https://x.example").status_code == 400


# The API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "source"),
    [
        ("card", "src_card"),
        ("knet", "src_kw.knet"),
        ("wallet:applepay", "src_apple_pay"),
        ("wallet:googlepay", "src_all"),
    ],
)
def test_start_payment_creates_a_charge(method: str, source: str) -> None:
    seen: list[httpx.Request] = []

    def tap(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = {"id": "chg_1", "status": "INITIATED", "transaction": {"url": "https://pay"}}
        return httpx.Response(200, json=answer)

    checkout = gateway(tap).start_payment(order(method, language="ar"))
    assert (checkout.redirect_url, checkout.gateway_payment_id) == ("https://pay", "chg_1")
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", "https://api.tap.example/v2/charges")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["lang_code"] == "ar"
    assert b'"amount": 10.500' in request.content  # a number with 3 decimals, no float
    sent = decode_json(request.content)
    assert sent["currency"] == "KWD"
    assert sent["source"] == {"id": source}
    assert sent["reference"]["transaction"] == "PAY-1"
    assert sent["redirect"]["url"] == "https://simrenew.example/pay/PAY-1/return"
    assert sent["post"]["url"] == "https://simrenew.example/callbacks/tap"
    assert sent["customer"]["phone"] == {"country_code": "965", "number": "50001234"}


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (httpx.Response(401, json={"errors": [{"code": "2107", "description": "no"}]}), "401"),
        (httpx.Response(500, text="oops"), "500"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"id": "chg_1", "status": "INITIATED"}), "without id or page"),
    ],
)
def test_start_payment_failures_are_unavailable(answer: httpx.Response, kind: str) -> None:
    with pytest.raises(GatewayUnavailable, match=kind):
        gateway(lambda request: answer).start_payment(order())


def test_unreachable_tap_is_unavailable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(GatewayUnavailable, match="unreachable"):
        gateway(down).start_payment(order())


def test_query_without_charge_id_is_unknown_and_asks_nothing() -> None:
    event = gateway().query_payment("PAY-1", gateway_payment_id=None, amount_fils=10500)
    assert event.outcome is GatewayOutcome.UNKNOWN


def test_query_reads_the_charge_and_checks_its_reference() -> None:
    def tap(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == "https://api.tap.example/v2/charges/chg_1"
        if request.headers["authorization"] != f"Bearer {SECRET}":
            return httpx.Response(401)
        return httpx.Response(200, content=encode_json(charge(id="chg_1")))

    event = gateway(tap).query_payment("PAY-1", gateway_payment_id="chg_1", amount_fils=10500)
    assert (event.outcome, event.amount_fils, event.event_id) == (
        GatewayOutcome.CAPTURED,
        10500,
        "chg_1:CAPTURED",
    )
    with pytest.raises(GatewayUnavailable, match="belongs to"):
        gateway(tap).query_payment("PAY-2", gateway_payment_id="chg_1", amount_fils=10500)
    missing = gateway(lambda request: httpx.Response(404, json={"errors": []}))
    assert missing.query_payment("PAY-1", gateway_payment_id="chg_9", amount_fils=1).outcome is (
        GatewayOutcome.UNKNOWN
    )


def refund_answer(status: str, code: str = "000") -> httpx.Response:
    body = {"id": "re_1", "status": status, "amount": Decimal("4.000"), "currency": "KWD"}
    return httpx.Response(200, content=encode_json({**body, "response": {"code": code}}))


def test_refunds() -> None:
    seen: list[dict[str, Any]] = []

    def tap(request: httpx.Request) -> httpx.Response:
        seen.append(decode_json(request.content))
        return refund_answer("REFUNDED")

    result = gateway(tap).refund(
        "PAY-1", gateway_payment_id="chg_1", amount_fils=4000, refund_ref="R-1"
    )
    assert (result.refund_id, result.amount_fils, result.succeeded) == ("re_1", 4000, True)
    assert seen[0]["charge_id"] == "chg_1"
    assert seen[0]["amount"] == Decimal("4.000")
    assert seen[0]["reference"] == {"merchant": "R-1", "idempotent": "R-1"}

    pending = gateway(lambda request: refund_answer("PENDING", "100"))
    assert pending.refund("P", gateway_payment_id="c", amount_fils=4000, refund_ref="R").reason == (
        "pending"
    )
    declined = gateway(lambda request: refund_answer("DECLINED", "501"))
    assert not declined.refund("P", gateway_payment_id="c", amount_fils=1, refund_ref="R").succeeded
    refused = gateway(lambda request: httpx.Response(400, json={"errors": [{"code": "1"}]}))
    assert not refused.refund("P", gateway_payment_id="c", amount_fils=1, refund_ref="R").succeeded
    locked_out = gateway(lambda request: httpx.Response(401))
    with pytest.raises(TapApiError):
        locked_out.refund("P", gateway_payment_id="c", amount_fils=1, refund_ref="R")
