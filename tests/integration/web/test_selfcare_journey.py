"""The subscriber's main journey on the website: sign up, bind a line, renew it, get the receipt."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

from pypdf import PdfReader
from sqlalchemy import func, select

from builders import make_line
from integration.web.conftest import MSISDN, TinyGateway, Visitor
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.money import format_fils
from simrenew.payments.gateways.base import GatewayOutcome
from simrenew.payments.models import Payment
from simrenew.renewals.models import Renewal


def _state_of(page_text: str) -> str:
    found = re.search(r'id="state"[^>]*data-state="(\w+)"', page_text)
    assert found, page_text
    return found.group(1)


def _line_card(page_text: str, msisdn: str) -> str:
    found = re.search(rf'<li [^>]*data-msisdn="{re.escape(msisdn)}".*?</li>', page_text, re.S)
    assert found, page_text
    return found.group(0)


def test_sign_up_bind_renew_and_download_the_receipt(
    browser: Visitor, platform: Platform, gateway: TinyGateway, clock: FixedClock
) -> None:
    make_line(platform, MSISDN, paid_fils=1500)
    home = browser.register("Fatima Al-Sabah", "fatima@example.com")
    assert home.status_code == 200
    assert "Welcome!" in home.text
    assert 'data-testid="no-lines"' in home.text

    home = browser.bind(platform)
    card = _line_card(home.text, MSISDN)
    assert "The number is now linked to your account." in home.text
    assert 'data-state="active"' in card
    assert ">Active<" in card.replace("\n", "").replace(" ", "")
    assert "Zahra Telecom" in card
    assert "--brand: #0f7b6c" in card  # the operator's colour from the catalog
    assert format_fils(1500, "en") in card
    assert "10 days" in card  # make_line: validity ends in 10 days

    recharge = browser.get("/lines/50001234/recharge")
    assert recharge.status_code == 200
    assert recharge.text.count('data-testid="package-option"') == 6  # Zahra prepaid on the web
    assert 'value="wallet:applepay"' not in recharge.text  # an app-only wallet
    quote = browser.submit("/lines/50001234/recharge", package="kd10", method="card")
    assert quote.status_code == 200
    assert "Check the price" in quote.text
    assert format_fils(10_000, "en") in quote.text
    pay_form = browser.form("/lines/50001234/recharge/pay")
    assert pay_form.fields["quote_id"]
    assert pay_form.fields["idempotency_key"]

    paid = browser.submit("/lines/50001234/recharge/pay")
    assert paid.status_code == 303
    to_pay = urlsplit(paid.headers["location"])
    ref = to_pay.path.rsplit("/", 1)[-1]
    assert to_pay.path == f"/pay/{ref}"
    forwarded = browser.get(to_pay.path)
    assert forwarded.status_code == 303
    assert forwarded.headers["location"] == f"https://gateway.test/pay/{ref}"
    assert gateway.orders[ref].amount_fils == 10_000

    waiting = browser.get(f"/payments/{ref}/return")
    assert _state_of(waiting.text) == "waiting"
    assert f"const statusUrl = '/payments/{ref}/status'" in waiting.text
    gateway.decide(ref, GatewayOutcome.CAPTURED)
    clock.advance(seconds=5)  # the gateway is asked again only after a few seconds
    assert browser.get(f"/payments/{ref}/status").json()["page_state"] == "credited"
    result = browser.get(f"/payments/{ref}/return")
    assert _state_of(result.text) == "credited"
    with platform.uow() as uow:
        renewal = uow.session.scalars(select(Renewal)).one()
    assert renewal.receipt_no
    assert renewal.receipt_no in result.text
    assert format_fils(11_500, "en") in result.text  # the new balance
    assert f'href="/receipts/{renewal.receipt_no}.pdf"' in result.text
    assert 'href="/home"' in result.text

    pdf = browser.get(f"/receipts/{renewal.receipt_no}.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert renewal.receipt_no in text

    home = browser.get("/home")
    card = _line_card(home.text, MSISDN)
    assert format_fils(11_500, "en") in card
    assert "100 days" in card  # 10 days left + the 90 days of kd10

    receipts = browser.get("/receipts")
    assert renewal.receipt_no in receipts.text
    receipt = browser.get(f"/receipts/{renewal.receipt_no}")
    assert receipt.status_code == 200
    assert format_fils(10_000, "en") in receipt.text


def test_a_double_click_on_pay_starts_one_payment(
    browser: Visitor, platform: Platform, gateway: TinyGateway
) -> None:
    make_line(platform, MSISDN)
    browser.register("Ali", "ali@example.com")
    browser.bind(platform)
    browser.get("/lines/50001234/recharge")
    browser.submit("/lines/50001234/recharge", package="kd5", method="knet")
    form = browser.form("/lines/50001234/recharge/pay")
    first = browser.client.post(form.action, data=form.fields, follow_redirects=False)
    second = browser.client.post(form.action, data=form.fields, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert len(gateway.orders) == 1


def test_a_declined_card_credits_nothing_and_offers_to_try_again(
    browser: Visitor, platform: Platform, gateway: TinyGateway
) -> None:
    make_line(platform, MSISDN, paid_fils=700)
    browser.register("Sara", "sara@example.com")
    browser.bind(platform)
    browser.get("/lines/50001234/recharge")
    browser.submit("/lines/50001234/recharge", package="kd10", method="card")
    paid = browser.submit("/lines/50001234/recharge/pay")
    ref = paid.headers["location"].rsplit("/", 1)[-1]
    gateway.decide(ref, GatewayOutcome.DECLINED)
    result = browser.get(f"/payments/{ref}/return")
    assert _state_of(result.text) == "failed"
    assert "Nothing was credited" in result.text
    assert "declined the payment" in result.text
    assert 'href="/lines/50001234/recharge"' in result.text  # try again
    assert "/receipts/" not in result.text
    card = _line_card(browser.get("/home").text, MSISDN)
    assert format_fils(700, "en") in card


def test_a_suspended_line_is_reactivated_after_its_holders_id(
    browser: Visitor, platform: Platform, gateway: TinyGateway
) -> None:
    from datetime import timedelta

    make_line(platform, MSISDN, valid_for=-timedelta(days=8))  # past 7 grace days: suspended
    browser.register("Noura", "noura@example.com")
    home = browser.bind(platform)
    card = _line_card(home.text, MSISDN)
    assert 'data-state="suspended"' in card
    assert 'href="/lines/50001234/reactivate"' in card
    assert 'href="/lines/50001234/recharge"' not in card

    # The recharge address leads a suspended line to reactivation.
    assert browser.get("/lines/50001234/recharge").headers["location"] == (
        "/lines/50001234/reactivate"
    )
    page = browser.get("/lines/50001234/reactivate")
    assert 'name="id_number"' in page.text

    quote = browser.submit(
        "/lines/50001234/reactivate",
        id_type="civil_id",
        id_number="227081660516",
        package="kd10",
        method="card",
    )
    assert quote.status_code == 200, quote.text
    refused = browser.submit("/lines/50001234/reactivate/pay")
    assert refused.status_code == 422
    assert "not the one registered to the line" in refused.text
    assert 'value="227081660516"' in refused.text  # what was typed is kept
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Renewal)) == 0

    browser.submit(
        "/lines/50001234/reactivate",
        id_type="civil_id",
        id_number=HOLDER,
        package="kd10",
        method="card",
    )
    paid = browser.submit("/lines/50001234/reactivate/pay")
    assert paid.status_code == 303, paid.text
    ref = paid.headers["location"].rsplit("/", 1)[-1]
    gateway.decide(ref, GatewayOutcome.CAPTURED)
    assert _state_of(browser.get(f"/payments/{ref}/return").text) == "credited"
    card = _line_card(browser.get("/home").text, MSISDN)
    assert 'data-state="active"' in card


HOLDER = "2880 2012 2596"  # make_line's civil ID, spaced as people type it
