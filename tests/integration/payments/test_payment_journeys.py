"""A renewal paid on a gateway's page, end to end: simrenew, the sandbox gateway process and
the payer's browser, for every outcome the payer and the network can produce."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from builders import make_line
from integration.payments.conftest import MSISDN, Journey

# Every method with its gateway: Tap carries cards and Apple Pay, KNET its own debit network,
# the sandbox protocol a wallet provider's.
METHODS = {
    "card": "tap",
    "knet": "knet",
    "wallet:applepay": "tap",
    "wallet:paypal": "sandbox",
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_an_approved_payment_credits_the_line_once_with_receipt_and_sms(
    journey: Journey, method: str
) -> None:
    before = journey.balance()
    started = journey.renew(method)
    payment = started["payment"]
    assert started["state"] == "awaiting_payment"
    assert started["receipt_no"] is None
    assert payment["gateway"] == METHODS[method]
    assert payment["state"] == "pending"
    ref = payment["payment_ref"]
    assert payment["redirect_url"].rsplit("/", 1)[-1] == ref  # API.md: the last path segment
    assert (
        started["total_fils"]
        == started["price_fils"] - started["discount_fils"] + started["fee_fils"]
    )

    # The channel's link sends the payer to the gateway's own page.
    to_gateway = journey.http.get(payment["redirect_url"])
    assert to_gateway.status_code == 303
    assert to_gateway.headers["location"].startswith(journey.sandbox.base_url)

    page = journey.open_page(started)
    assert str(started["total_fils"] // 1000) in page.text  # the amount is shown to the payer
    completed = journey.complete(ref, "approved")
    assert completed["amount_fils"] == started["total_fils"]  # the fee is paid, not credited
    page = journey.browse_back(completed)
    assert page.status_code == 200
    assert 'data-state="credited"' in page.text

    renewal = journey.renewal(started["renewal_id"])
    assert renewal["state"] == "credited"
    assert renewal["payment"]["state"] == "captured"
    assert renewal["receipt_no"] in page.text
    assert renewal["payment"].get("redirect_url") is None  # nothing left to pay
    assert journey.balance() == before + started["credit_fils"] + started["bonus_fils"]
    assert journey.credits_of(started["renewal_id"]) == 1
    assert journey.receipts_of(started["renewal_id"]) == 1
    confirmations = journey.sms("renewal_confirmation")
    assert len(confirmations) == 1
    assert renewal["receipt_no"] in confirmations[0]
    journey.assert_books_balance()


@pytest.mark.parametrize(
    ("method", "outcome", "state", "reason"),
    [
        ("card", "declined", "declined", "declined"),
        ("card", "insufficient_funds", "declined", "insufficient_funds"),
        ("knet", "declined", "declined", None),
        ("wallet:paypal", "declined", "declined", "declined"),
        ("card", "cancelled", "cancelled", None),
        ("knet", "cancelled", "cancelled", None),
    ],
)
def test_a_payment_that_does_not_go_through_credits_nothing(
    journey: Journey, method: str, outcome: str, state: str, reason: str | None
) -> None:
    before = journey.balance()
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    page = journey.browse_back(journey.complete(ref, outcome))
    assert 'data-state="failed"' in page.text
    renewal = journey.renewal(started["renewal_id"])
    assert renewal["state"] == "failed"
    assert renewal["payment"]["state"] == state
    if reason is not None:
        assert reason in (renewal["payment"]["reason"] or "").lower().replace(" ", "_")
    assert renewal["receipt_no"] is None
    assert journey.balance() == before
    assert journey.credits_of(started["renewal_id"]) == 0
    assert journey.sms("renewal_confirmation") == []
    # Once finished, the channel's link leads to the result, not back to the gateway.
    link = journey.http.get(started["payment"]["redirect_url"])
    assert link.headers["location"].endswith(f"/payments/{ref}/return")


def test_a_browser_that_never_returns_still_gets_its_credit_and_sms(journey: Journey) -> None:
    started = journey.renew("knet")
    journey.open_page(started)
    journey.complete(started["payment"]["payment_ref"], "approved")  # no browse_back
    assert journey.renewal(started["renewal_id"])["state"] == "credited"
    assert len(journey.sms("renewal_confirmation")) == 1


@pytest.mark.parametrize("method", ["card", "knet", "wallet:paypal"])
def test_a_callback_that_never_comes_is_replaced_by_asking_the_gateway(
    journey: Journey, method: str
) -> None:
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    completed = journey.complete(ref, "approved", callback="never")
    assert completed["callbacks_sent"] == 0
    journey.browse_back(completed)  # the result page asks the gateway while no callback came
    status = journey.wait_for(ref, "captured")
    assert status["renewal"]["state"] == "credited"
    assert journey.credits_of(started["renewal_id"]) == 1


@pytest.mark.parametrize("method", ["card", "knet", "wallet:paypal"])
def test_a_callback_sent_twice_credits_once(journey: Journey, method: str) -> None:
    before = journey.balance()
    started = journey.renew(method)
    journey.open_page(started)
    completed = journey.complete(started["payment"]["payment_ref"], "approved", callback="twice")
    assert completed["callbacks_sent"] == 2
    assert journey.balance() == before + started["credit_fils"] + started["bonus_fils"]
    assert journey.credits_of(started["renewal_id"]) == 1
    assert len(journey.sms("renewal_confirmation")) == 1


def test_the_browser_before_the_callback_sees_the_result_then_the_callback_changes_nothing(
    journey: Journey,
) -> None:
    started = journey.renew("card")
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    completed = journey.complete(ref, "approved", callback="delayed")
    page = journey.browse_back(completed)
    assert page.status_code == 200  # waiting, or already credited by asking the gateway
    journey.wait_for(ref, "captured")
    sent = journey.gateway_payment(ref)["callbacks_sent"]
    while journey.gateway_payment(ref)["callbacks_sent"] == sent == 0:
        threading.Event().wait(0.2)  # the delayed callback arrives after the browser
    assert journey.credits_of(started["renewal_id"]) == 1
    assert len(journey.sms("renewal_confirmation")) == 1


def test_two_browsers_returning_at_once_credit_once(journey: Journey) -> None:
    started = journey.renew("card")
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    completed = journey.complete(ref, "approved", callback="never")
    pages: list[httpx.Response] = []

    def browser() -> None:
        with httpx.Client(timeout=10) as own:
            pages.append(own.get(completed["browser"]["url"]))

    browsers = [threading.Thread(target=browser) for _ in range(2)]
    for thread in browsers:
        thread.start()
    for thread in browsers:
        thread.join()
    assert [page.status_code for page in pages] == [200, 200]
    journey.wait_for(ref, "captured")
    assert journey.credits_of(started["renewal_id"]) == 1
    assert journey.receipts_of(started["renewal_id"]) == 1
    journey.assert_books_balance()


def test_a_repeated_renewal_request_returns_the_same_payment(journey: Journey) -> None:
    first = journey.renew("card", key="partner-order-77")
    again = journey.renew("card", key="partner-order-77")
    assert again["renewal_id"] == first["renewal_id"]
    assert again["payment"]["payment_ref"] == first["payment"]["payment_ref"]
    reused = journey.http.post(
        f"{journey.base_url}/api/v1/renewals",
        headers={"Authorization": f"Bearer {journey.token}", "Idempotency-Key": "partner-order-77"},
        json={"msisdn": MSISDN, "package_code": "kd20", "payment": {"method": "card"}},
    )
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


def test_a_fee_is_quoted_charged_and_never_credited(journey: Journey) -> None:
    quote = journey.http.post(
        f"{journey.base_url}/api/v1/quotes",
        headers={"Authorization": f"Bearer {journey.token}"},
        json={"msisdn": MSISDN, "package_code": "kd10", "payment_method": "wallet:applepay"},
    ).json()
    assert quote["fee_fils"] == 100 + 150  # 0.100 KWD fixed + 1.5 % of 10.000 KWD
    before = journey.balance()
    started = journey.renew("wallet:applepay")
    journey.open_page(started)
    assert (started["fee_fils"], started["total_fils"]) == (quote["fee_fils"], quote["total_fils"])
    completed = journey.complete(started["payment"]["payment_ref"], "approved")
    assert completed["amount_fils"] == 10_250
    assert journey.balance() == before + 10_000


def test_a_partner_may_not_use_a_method_its_channel_does_not_take(journey: Journey) -> None:
    refused = journey.renew("till", expect=201)  # a partner's till is credited at once
    assert refused["state"] == "credited"
    answer: Any = journey.http.post(
        f"{journey.base_url}/api/v1/renewals",
        headers={"Authorization": f"Bearer {journey.token}", "Idempotency-Key": "k-terminal"},
        json={"msisdn": MSISDN, "package_code": "kd10", "payment": {"method": "card_terminal"}},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "payment_method_not_available"


def test_a_suspended_line_is_reactivated_by_a_card_payment_after_the_id_check(
    journey: Journey,
) -> None:
    suspended = "+96550009876"
    make_line(journey.platform, suspended, valid_for=-timedelta(days=8))
    answer = journey.http.post(
        f"{journey.base_url}/api/v1/renewals",
        headers={"Authorization": f"Bearer {journey.token}", "Idempotency-Key": "k-react"},
        json={
            "msisdn": suspended,
            "package_code": "kd10",
            "payment": {"method": "card"},
            "reactivation": {"id_type": "civil_id", "id_number": "288020122596"},
        },
    )
    assert answer.status_code == 201, answer.text
    started = answer.json()
    journey.open_page(started)
    journey.complete(started["payment"]["payment_ref"], "approved")
    assert journey.renewal(started["renewal_id"])["state"] == "credited"
    line = journey.http.get(
        f"{journey.base_url}/api/v1/lines/{suspended}",
        headers={"Authorization": f"Bearer {journey.token}"},
    ).json()
    assert line["state"] == "active"
    assert len(journey.sms("reactivation", msisdn=suspended)) == 1
