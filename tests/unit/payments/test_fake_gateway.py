"""The sandbox gateway's native protocol adapter: signatures, callbacks and the API, offline."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from simrenew.payments.gateways.base import (
    CallbackRejected,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.gateways.fake import SandboxGateway, sign, verify_signature

SECRET = "whsec-test-0123456789"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def body(**changes: Any) -> bytes:
    event: dict[str, Any] = {
        "event_id": "evt_abc_captured",
        "reference": "P-1001",
        "payment_id": "sbx_abc",
        "status": "captured",
        "reason": None,
        "amount_fils": 10150,
        "currency": "KWD",
    }
    event.update(changes)
    return json.dumps(event, separators=(",", ":")).encode()


def read(raw: bytes, header: str | None, *, now: datetime = NOW) -> Any:
    headers = {} if header is None else {"sandbox-signature": header}
    return SandboxGateway(base_url="http://gw.invalid", secret=SECRET).read_callback(
        raw, headers, now=now
    )


def test_sign_is_hmac_sha256_of_timestamp_dot_raw_body() -> None:
    raw = body()
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + raw, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, raw) == f"t={T},v1={expected}"


def test_a_signed_callback_reads_as_the_event() -> None:
    event = read(body(), sign(SECRET, T, body()))
    assert event.event_id == "evt_abc_captured"
    assert event.payment_ref == "P-1001"
    assert event.outcome is GatewayOutcome.CAPTURED
    assert event.amount_fils == 10150
    assert event.currency == "KWD"
    assert event.gateway_payment_id == "sbx_abc"
    assert event.details == {"payment_id": "sbx_abc", "status": "captured"}


def test_header_names_are_matched_whatever_their_case() -> None:
    gateway = SandboxGateway(base_url="http://gw.invalid", secret=SECRET)
    event = gateway.read_callback(body(), {"Sandbox-Signature": sign(SECRET, T, body())}, now=NOW)
    assert event.outcome is GatewayOutcome.CAPTURED


@pytest.mark.parametrize(
    ("signed_at", "accepted"),
    [(T - 300, True), (T - 301, False), (T + 300, True), (T + 301, False)],
    ids=["300s-old", "301s-old", "300s-ahead", "301s-ahead"],
)
def test_the_timestamp_must_be_within_300_seconds_either_way(
    signed_at: int, accepted: bool
) -> None:
    header = sign(SECRET, signed_at, body())
    if accepted:
        assert read(body(), header).outcome is GatewayOutcome.CAPTURED
    else:
        with pytest.raises(CallbackRejected, match="300 s"):
            read(body(), header)


def test_a_fraction_of_a_second_past_the_window_is_refused() -> None:
    with pytest.raises(CallbackRejected):
        read(body(), sign(SECRET, T, body()), now=NOW + timedelta(seconds=300, microseconds=1))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw.replace(b"10150", b"10151"),
        lambda raw: raw.replace(b'"captured"', b'"declined"'),
        lambda raw: raw + b" ",  # same JSON, other bytes: the raw body is what is signed
        lambda raw: json.dumps(json.loads(raw), indent=1).encode(),
    ],
    ids=["amount", "status", "trailing-space", "re-serialised"],
)
def test_a_body_changed_after_signing_is_refused(tamper: Callable[[bytes], bytes]) -> None:
    header = sign(SECRET, T, body())
    with pytest.raises(CallbackRejected, match="does not match"):
        read(tamper(body()), header)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    with pytest.raises(CallbackRejected, match="does not match"):
        read(body(), sign("someone-else", T, body()))


def test_a_stale_forgery_is_refused_for_its_signature_not_its_age() -> None:
    # The clock is only consulted once the signature holds: forgers learn nothing of it.
    with pytest.raises(CallbackRejected, match="does not match"):
        read(body(), sign("someone-else", T - 10_000, body()))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"t={T}",
        "v1=" + "0" * 64,
        f"t=soon,v1={'0' * 64}",
        f"t={T},v1=xyz",
        f"t={T},t={T},v1={'0' * 64}",
        f"t=-{T},v1={'0' * 64}",
        f"t={'9' * 40},v1={'0' * 64}",
    ],
    ids=[
        "missing",
        "empty",
        "no-pairs",
        "no-v1",
        "no-t",
        "t-not-a-number",
        "v1-not-hex",
        "two-t",
        "negative-t",
        "huge-t",
    ],
)
def test_a_missing_or_garbled_header_is_refused(header: str | None) -> None:
    with pytest.raises(CallbackRejected):
        read(body(), header)


def test_any_matching_v1_verifies_and_other_schemes_are_ignored() -> None:
    good = sign(SECRET, T, body()).partition(",")[2]
    header = f"t={T},v0=legacy,v1={'0' * 64},{good}"
    assert read(body(), header).outcome is GatewayOutcome.CAPTURED


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_signature(SECRET, sign(SECRET, T, body()), body(), now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        ("captured", None, GatewayOutcome.CAPTURED),
        ("declined", "insufficient_funds", GatewayOutcome.DECLINED),
        ("declined", "3ds_failed", GatewayOutcome.DECLINED),
        ("cancelled", "cancelled", GatewayOutcome.CANCELLED),
        ("pending", None, GatewayOutcome.PENDING),
    ],
)
def test_statuses_map_to_outcomes_with_their_reason(
    status: str, reason: str | None, outcome: GatewayOutcome
) -> None:
    raw = body(status=status, reason=reason)
    event = read(raw, sign(SECRET, T, raw))
    assert (event.outcome, event.reason) == (outcome, reason)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        body(status="refunded"),
        body(amount_fils=10.15),
        body(amount_fils="10.150"),
        body(amount_fils=True),
        body(amount_fils=-1),
        body(event_id=""),
        body(reference=None),
        b"\xff\xfe",
    ],
    ids=[
        "not-json",
        "not-object",
        "unknown-status",
        "float",
        "string",
        "bool",
        "negative",
        "no-event-id",
        "no-reference",
        "not-utf8",
    ],
)
def test_a_signed_but_malformed_body_is_refused(raw: bytes) -> None:
    with pytest.raises(CallbackRejected, match="unreadable"):
        read(raw, sign(SECRET, T, raw))


def test_replies_are_json_and_a_rejected_callback_gets_400_to_be_retried() -> None:
    gateway = SandboxGateway(base_url="http://gw.invalid", secret=SECRET)
    event = read(body(), sign(SECRET, T, body()))
    accepted = gateway.reply_to_callback(event, redirect_url="http://shop/return")
    rejected = gateway.reply_to_callback(None, redirect_url="http://shop/return")
    assert (accepted.status_code, json.loads(accepted.body)) == (200, {"received": True})
    assert accepted.media_type == "application/json"
    assert rejected.status_code == 400


# The API side, against an httpx.MockTransport (no network).

Handler = Callable[[httpx.Request], httpx.Response]
ORDER = PaymentOrder(
    payment_ref="P-1001",
    amount_fils=10150,
    currency="KWD",
    method="wallet:paypal",
    language="ar",
    return_url="http://shop/return",
    callback_url="http://shop/callback",
    description="Zahra 10 KD renewal",
    msisdn="+96550001234",
)


def gateway_answering(handler: Handler, seen: list[httpx.Request]) -> SandboxGateway:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record))
    return SandboxGateway(base_url="http://gw.test/sandbox/", secret=SECRET, http=client)


def view(**changes: Any) -> dict[str, Any]:
    return {
        "id": "sbx_abc",
        "reference": "P-1001",
        "status": "captured",
        "reason": None,
        "amount_fils": 10150,
        "currency": "KWD",
        "refunded_fils": 0,
        "event_id": "evt_abc_captured",
        **changes,
    }


def test_start_payment_posts_the_order_in_fils_with_the_bearer_secret() -> None:
    seen: list[httpx.Request] = []
    answer = {"id": "sbx_abc", "redirect_url": "http://gw.test/checkout/sbx_abc"}
    gateway = gateway_answering(lambda _: httpx.Response(201, json=answer), seen)
    checkout = gateway.start_payment(ORDER)
    assert checkout.redirect_url == "http://gw.test/checkout/sbx_abc"
    assert checkout.gateway_payment_id == "sbx_abc"
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", "http://gw.test/sandbox/payments")
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    sent = json.loads(request.content)
    assert sent["amount_fils"] == 10150
    assert isinstance(sent["amount_fils"], int)
    assert sent["reference"] == "P-1001"
    assert sent["method"] == "wallet:paypal"
    assert sent["language"] == "ar"
    assert "msisdn" not in sent  # the wallet provider has no need for the line number


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="busy"),
        httpx.Response(401, json={"error": {"code": "unauthorized"}}),
        httpx.Response(201, text="<html>"),
        httpx.Response(201, json={"id": "sbx_abc"}),
        httpx.Response(201, json={"id": "sbx_abc", "redirect_url": "javascript:alert(1)"}),
    ],
    ids=["5xx", "bad-secret", "not-json", "no-redirect", "not-http-redirect"],
)
def test_start_payment_reports_an_unusable_gateway(answer: httpx.Response) -> None:
    gateway = gateway_answering(lambda _: answer, [])
    with pytest.raises(GatewayUnavailable):
        gateway.start_payment(ORDER)


def test_transport_errors_mean_the_gateway_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(GatewayUnavailable, match="unreachable"):
        gateway_answering(refuse, []).query_payment(
            "P-1001", gateway_payment_id=None, amount_fils=10150
        )


def test_query_reads_the_payment_view_by_reference() -> None:
    seen: list[httpx.Request] = []
    gateway = gateway_answering(lambda _: httpx.Response(200, json=view(refunded_fils=150)), seen)
    event = gateway.query_payment("P-1001", gateway_payment_id="sbx_abc", amount_fils=10150)
    assert str(seen[0].url) == "http://gw.test/sandbox/payments/by-reference/P-1001"
    assert event.outcome is GatewayOutcome.CAPTURED
    assert event.event_id == "evt_abc_captured"
    assert event.details["refunded_fils"] == "150"


def test_query_of_a_reference_the_gateway_never_saw_is_unknown() -> None:
    gateway = gateway_answering(lambda _: httpx.Response(404, json={"error": {}}), [])
    event = gateway.query_payment("P/2", gateway_payment_id=None, amount_fils=10150)
    assert event.outcome is GatewayOutcome.UNKNOWN
    assert event.amount_fils is None


def test_query_refuses_an_answer_about_another_payment() -> None:
    gateway = gateway_answering(lambda _: httpx.Response(200, json=view(reference="P-9")), [])
    with pytest.raises(GatewayUnavailable):
        gateway.query_payment("P-1001", gateway_payment_id=None, amount_fils=10150)


def test_refund_posts_amount_and_reference_to_the_payment() -> None:
    seen: list[httpx.Request] = []
    answer = {"id": "rf_1", "amount_fils": 5000, "status": "succeeded", "reference": "R-1"}
    gateway = gateway_answering(lambda _: httpx.Response(201, json=answer), seen)
    refund = gateway.refund(
        "P-1001", gateway_payment_id="sbx_abc", amount_fils=5000, refund_ref="R-1"
    )
    assert (refund.refund_id, refund.amount_fils, refund.succeeded) == ("rf_1", 5000, True)
    assert str(seen[0].url) == "http://gw.test/sandbox/payments/sbx_abc/refunds"
    assert json.loads(seen[0].content) == {"amount_fils": 5000, "reference": "R-1"}


def test_refund_refused_by_the_gateway_did_not_succeed_and_says_why() -> None:
    answer = {"error": {"code": "amount_exceeds_captured", "message": "at most 150 fils"}}
    gateway = gateway_answering(lambda _: httpx.Response(422, json=answer), [])
    refund = gateway.refund(
        "P-1001", gateway_payment_id="sbx_abc", amount_fils=9999, refund_ref="R"
    )
    assert (refund.succeeded, refund.amount_fils, refund.reason) == (
        False,
        0,
        "amount_exceeds_captured",
    )


def test_refund_without_the_gateway_id_looks_the_payment_up_first() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=view())
        return httpx.Response(201, json={"id": "rf_2", "amount_fils": 100, "status": "succeeded"})

    gateway = gateway_answering(answer, seen)
    refund = gateway.refund("P-1001", gateway_payment_id=None, amount_fils=100, refund_ref="R-2")
    assert refund.succeeded
    assert str(seen[1].url) == "http://gw.test/sandbox/payments/sbx_abc/refunds"


def test_refund_of_an_unknown_payment_did_not_succeed() -> None:
    gateway = gateway_answering(lambda _: httpx.Response(404, json={}), [])
    refund = gateway.refund("P-404", gateway_payment_id=None, amount_fils=100, refund_ref="R-3")
    assert (refund.succeeded, refund.reason) == (False, "unknown_payment")
