"""Callbacks that are replayed, reordered, forged, stale or for the wrong amount: each is
answered as its protocol expects and none credits a line it should not, or twice."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from integration.payments.conftest import Journey
from simrenew.payments.gateways.fake import SIGNATURE_HEADER, sign
from simrenew.payments.gateways.tap_protocol import SIGNATURE_HEADER as TAP_SIGNATURE_HEADER
from simrenew.staff.models import AuditEntry


def _wallet_payment(journey: Journey) -> tuple[dict[str, Any], str, str]:
    """A wallet:paypal renewal awaiting payment: (renewal, payment_ref, gateway payment id)."""
    started = journey.renew("wallet:paypal")
    ref = started["payment"]["payment_ref"]
    gateway_id = journey.payment_row(ref).gateway_payment_id
    assert gateway_id is not None
    return started, ref, gateway_id


def _event(
    ref: str,
    gateway_id: str,
    status: str,
    amount_fils: int,
    *,
    event_id: str | None = None,
    currency: str = "KWD",
) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or f"evt_{gateway_id}_{status}",
            "reference": ref,
            "payment_id": gateway_id,
            "status": status,
            "reason": None if status == "captured" else status,
            "amount_fils": amount_fils,
            "currency": currency,
        },
        separators=(",", ":"),
    ).encode()


def _post_signed(
    journey: Journey, body: bytes, *, at: float | None = None, secret: str | None = None
) -> Any:
    key = secret or journey.platform.settings.secret("sandbox_gateway_secret")
    stamp = int(time.time() if at is None else at)
    return journey.callback(
        "sandbox",
        body,
        {"Content-Type": "application/json", SIGNATURE_HEADER: sign(key, stamp, body)},
    )


def _rejected(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "bad_signature"


def test_a_forged_callback_is_refused_and_changes_nothing(journey: Journey) -> None:
    before = journey.balance()
    started, ref, gateway_id = _wallet_payment(journey)
    body = _event(ref, gateway_id, "captured", started["total_fils"])
    _rejected(_post_signed(journey, body, secret="not-the-shared-secret"))
    _rejected(journey.callback("sandbox", body, {"Content-Type": "application/json"}))
    assert journey.payment_row(ref).state == "pending"
    assert journey.balance() == before
    with journey.platform.uow() as uow:
        actions = list(uow.session.scalars(select(AuditEntry.action)))
    assert actions.count("payment.callback_rejected") == 2


def test_a_stale_callback_is_refused_and_a_fresh_one_accepted(journey: Journey) -> None:
    started, ref, gateway_id = _wallet_payment(journey)
    body = _event(ref, gateway_id, "captured", started["total_fils"])
    _rejected(_post_signed(journey, body, at=time.time() - 301))
    _rejected(_post_signed(journey, body, at=time.time() + 301))
    assert journey.payment_row(ref).state == "pending"
    assert _post_signed(journey, body, at=time.time() - 240).status_code == 200
    assert journey.renewal(started["renewal_id"])["state"] == "credited"


def test_a_replayed_callback_credits_once(journey: Journey) -> None:
    before = journey.balance()
    started, ref, gateway_id = _wallet_payment(journey)
    body = _event(ref, gateway_id, "captured", started["total_fils"])
    assert [_post_signed(journey, body).status_code for _ in range(3)] == [200, 200, 200]
    assert journey.balance() == before + started["credit_fils"] + started["bonus_fils"]
    assert journey.credits_of(started["renewal_id"]) == 1
    assert len(journey.sms("renewal_confirmation")) == 1
    journey.assert_books_balance()


def test_a_late_failure_never_undoes_a_capture(journey: Journey) -> None:
    started, ref, gateway_id = _wallet_payment(journey)
    captured = _event(ref, gateway_id, "captured", started["total_fils"])
    assert _post_signed(journey, captured).status_code == 200
    for status in ("declined", "cancelled", "pending"):
        late = _event(ref, gateway_id, status, started["total_fils"])
        assert _post_signed(journey, late).status_code == 200
    renewal = journey.renewal(started["renewal_id"])
    assert (renewal["state"], renewal["payment"]["state"]) == ("credited", "captured")
    assert journey.credits_of(started["renewal_id"]) == 1


def test_a_capture_after_a_decline_is_still_credited(journey: Journey) -> None:
    """Events can arrive out of order; money taken always becomes credit (or comes back)."""
    started, ref, gateway_id = _wallet_payment(journey)
    declined = _event(ref, gateway_id, "declined", started["total_fils"])
    assert _post_signed(journey, declined).status_code == 200
    assert journey.renewal(started["renewal_id"])["state"] == "failed"
    captured = _event(ref, gateway_id, "captured", started["total_fils"])
    assert _post_signed(journey, captured).status_code == 200
    assert journey.renewal(started["renewal_id"])["state"] == "credited"
    assert journey.credits_of(started["renewal_id"]) == 1


def test_a_capture_of_another_amount_or_currency_is_never_credited(journey: Journey) -> None:
    before = journey.balance()
    started, ref, gateway_id = _wallet_payment(journey)
    short = _event(ref, gateway_id, "captured", started["total_fils"] - 1, event_id="e-short")
    _rejected(_post_signed(journey, short))
    dollars = _event(ref, gateway_id, "captured", started["total_fils"], currency="USD")
    _rejected(_post_signed(journey, dollars))
    payment = journey.payment_row(ref)
    assert payment.state == "pending"
    assert payment.flag in {"amount_mismatch", "currency_mismatch"}
    assert journey.balance() == before
    assert journey.credits_of(started["renewal_id"]) == 0


def test_a_signed_event_of_another_gateway_payment_is_refused(journey: Journey) -> None:
    started, ref, _ = _wallet_payment(journey)
    other = _event(ref, "sbx_someone_elses_payment", "captured", started["total_fils"])
    _rejected(_post_signed(journey, other))
    assert journey.credits_of(started["renewal_id"]) == 0


def test_a_forged_knet_notice_is_sent_to_the_failure_page(journey: Journey) -> None:
    started = journey.renew("knet")
    ref = started["payment"]["payment_ref"]
    answer = journey.callback(
        "knet",
        f"trandata={'ab' * 64}&trackid={ref}&paymentid=100000000001".encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200  # KNET's protocol: always a REDIRECT= line
    assert answer.text.strip() == f"REDIRECT={journey.base_url}/payments/failed"
    assert journey.payment_row(ref).state == "pending"
    page = journey.http.get(f"{journey.base_url}/payments/failed")
    assert page.status_code == 200


def test_a_forged_tap_webhook_is_refused(journey: Journey) -> None:
    started = journey.renew("card")
    ref = started["payment"]["payment_ref"]
    charge_id = journey.payment_row(ref).gateway_payment_id
    body = json.dumps(
        {
            "id": charge_id,
            "object": "charge",
            "status": "CAPTURED",
            "amount": started["total_fils"] / 1000,
            "currency": "KWD",
            "reference": {"transaction": ref, "payment": "1", "gateway": "1"},
            "transaction": {"created": str(int(time.time() * 1000))},
        }
    ).encode()
    answer = journey.callback(
        "tap", body, {"Content-Type": "application/json", TAP_SIGNATURE_HEADER: "00" * 32}
    )
    _rejected(answer)
    assert journey.payment_row(ref).state == "pending"


def test_a_callback_for_an_unknown_gateway_is_not_found(journey: Journey) -> None:
    answer = journey.callback("paypal-direct", b"{}", {"Content-Type": "application/json"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
