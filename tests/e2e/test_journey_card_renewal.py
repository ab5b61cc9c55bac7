"""Journey: a new subscriber signs up, links a Zahra line by SMS code and renews it by card.

Everything a subscriber sees on a phone: the sign-up form with its password rules, the empty
home page, the SMS code, the line's state, the price before paying, the sandbox gateway's card
page, the result page with the receipt number, the receipt PDF, the home page's new
balance and expiry, and the confirming SMS. A second walk comes back to the result page before
the bank has answered and sees it turn to success by itself.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from e2e.conftest import Site, snapshot
from simrenew.money import format_fils, parse_fils

MSISDN = "+96550000101"  # demo: Zahra prepaid, active (lines/demo.py)
NATIONAL = MSISDN.removeprefix("+965")
WAITING_MSISDN = "+96590000101"  # demo: Bahar prepaid, active
PASSWORD = "Renew-2026-ok"
KD10_FILS = 10_000
KD10_DAYS = 90  # Zahra's kd10 in the demo catalog


def card_expiry() -> str:
    """A card expiry (MM/YY) safely in the future."""
    return f"12/{(datetime.now(UTC).year + 3) % 100:02d}"


def days(text: str) -> int:
    """The number in "97 days"."""
    found = re.search(r"\d+", text)
    assert found, text
    return int(found.group(0))


def test_register_bind_renew_by_card_and_get_the_receipt(site: Site, page: Page) -> None:
    # Sign up: the password rules are on the form before anything is typed.
    page.goto(f"{site.base_url}/register")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    expect(page.get_by_text("at least one letter and one digit")).to_be_visible()
    page.get_by_label("Your name").fill("Fahad Al-Mutairi")
    page.get_by_label("Mobile number or e-mail").fill("fahad.card@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    snapshot(page, "en-01-register")
    page.get_by_role("button", name="Create the account").click()

    # Signed in at once, no line yet.
    expect(page).to_have_url(re.compile(r"/home"))
    expect(page.get_by_test_id("no-lines")).to_be_visible()

    # Link the number: a code goes to the line by SMS.
    page.get_by_role("link", name="Add a number").click()
    page.get_by_label("Mobile number").fill(NATIONAL)
    page.get_by_role("button", name="Send the code").click()
    expect(page.get_by_role("heading", name="Enter the code")).to_be_visible()
    page.get_by_label("Code from the SMS").fill(site.otp_for(MSISDN))
    page.get_by_role("button", name="Link the number").click()

    # Home: the line's balance, validity end (Kuwait time), days left and state.
    expect(page).to_have_url(re.compile(r"/home"))
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card).to_be_visible()
    expect(card.get_by_test_id("state-badge")).to_have_text("Active")
    expect(card).to_contain_text("Zahra Telecom")
    old_balance = parse_fils(card.get_by_test_id("balance").inner_text())
    old_valid_until = card.get_by_test_id("valid-until").inner_text()
    assert re.search(r"\d{4} \d{2}:\d{2}$", old_valid_until), old_valid_until
    old_days = days(card.get_by_test_id("days-left").inner_text())
    assert old_days > 0
    expect(page.get_by_text("Times are Kuwait time.")).to_be_visible()
    snapshot(page, "en-02-home-with-line")

    # Recharge: the 10 KD package by card; the price before paying.
    card.get_by_role("link", name=re.compile(r"^Recharge")).click()
    expect(page.get_by_role("heading", name="Recharge")).to_be_visible()
    page.locator('input[name="package"][value="kd10"]').check()
    page.locator('input[name="method"][value="card"]').check()
    snapshot(page, "en-03-recharge")
    page.get_by_role("button", name="See the price").click()

    expect(page.get_by_role("heading", name="Check the price")).to_be_visible()
    quote = page.get_by_test_id("quote")
    expect(quote.get_by_test_id("quote-price")).to_have_text(format_fils(KD10_FILS, "en"))
    expect(quote.get_by_test_id("quote-fee")).to_have_text("None")
    expect(quote.get_by_test_id("quote-total")).to_have_text(format_fils(KD10_FILS, "en"))
    expect(quote.get_by_test_id("quote-credit")).to_have_text(format_fils(KD10_FILS, "en"))
    new_valid_until = quote.get_by_test_id("quote-valid-until").inner_text()
    assert new_valid_until != old_valid_until
    snapshot(page, "en-04-quote")
    page.get_by_role("button", name=f"Pay {format_fils(KD10_FILS, 'en')}").click()

    # The sandbox gateway's card page.
    expect(page).to_have_url(re.compile(rf"^{re.escape(site.sandbox_url)}/checkout/"))
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    expect(page.locator(".amount")).to_have_text(format_fils(KD10_FILS, "en"))
    page.get_by_label("Card number").fill("4111 1111 1111 1111")
    page.get_by_label("Expiry (MM/YY)").fill(card_expiry())
    page.get_by_label("CVV").fill("123")
    page.get_by_label("Name on card").fill("FAHAD AL-MUTAIRI")
    snapshot(page, "en-05-gateway-card")
    page.get_by_role("button", name="Pay", exact=True).click()

    # Back on simrenew: the result page turns to success without the test reloading it.
    expect(page).to_have_url(re.compile(rf"^{re.escape(site.base_url)}/payments/.+/return"))
    state = page.get_by_test_id("payment-state")
    expect(state).to_have_attribute("data-state", "credited", timeout=30_000)
    expect(state).to_contain_text("Payment received. Your line is renewed.")
    receipt_no = page.get_by_test_id("result-receipt").locator("dd").inner_text().strip()
    assert receipt_no
    expected_balance = format_fils(old_balance + KD10_FILS, "en")
    expect(page.get_by_test_id("result-balance").locator("dd")).to_have_text(expected_balance)
    expect(page.get_by_test_id("result-valid-until").locator("dd")).to_have_text(new_valid_until)
    snapshot(page, "en-06-result-success")

    # The receipt as a PDF: a real PDF naming the receipt number.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the receipt (PDF)").click()
    pdf_path = download_info.value.path()
    pdf_bytes = pdf_path.read_bytes()
    assert pdf_bytes.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert receipt_no in text

    # Home: the new balance and expiry.
    page.get_by_role("link", name="Back to my lines").click()
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card.get_by_test_id("balance")).to_have_text(expected_balance)
    expect(card.get_by_test_id("valid-until")).to_have_text(new_valid_until)
    assert days(card.get_by_test_id("days-left").inner_text()) == old_days + KD10_DAYS
    expect(card.get_by_test_id("state-badge")).to_have_text("Active")

    # Receipts: the renewal, with its receipt.
    page.get_by_role("link", name="Receipts").click()
    row = page.locator(f'[data-testid="renewal-row"][data-receipt="{receipt_no}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Paid and credited")
    snapshot(page, "en-07-receipts")
    row.get_by_role("link", name=re.compile(r"^View the receipt")).click()
    expect(page.get_by_test_id("receipt-no")).to_have_text(receipt_no)
    expect(page.get_by_test_id("receipt-balance")).to_have_text(expected_balance)
    snapshot(page, "en-08-receipt")

    # An SMS confirms the renewal with its receipt number (the worker sends it shortly).
    confirmation = wait_for_sms(site, MSISDN, containing=receipt_no)
    assert expected_balance in confirmation


def test_the_result_page_turns_to_success_by_itself(site: Site, page: Page) -> None:
    # The payer is back on the result page while the bank is still deciding (a real gateway's
    # redirect can beat its callback): the page waits, then shows the success unprompted.
    page.goto(f"{site.base_url}/register")
    page.get_by_label("Your name").fill("Li Wei")
    page.get_by_label("Mobile number or e-mail").fill("li.wei.waiting@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    page.get_by_role("link", name="Add a number").click()
    page.get_by_label("Mobile number").fill(WAITING_MSISDN)
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Code from the SMS").fill(site.otp_for(WAITING_MSISDN))
    page.get_by_role("button", name="Link the number").click()
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{WAITING_MSISDN}"]')
    card.get_by_role("link", name=re.compile(r"^Recharge")).click()
    page.locator('input[name="package"][value="kd5"]').check()
    page.locator('input[name="method"][value="card"]').check()
    page.get_by_role("button", name="See the price").click()
    with page.expect_response(re.compile(r"/pay/[^/]+$")) as to_gateway:
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    payment_ref = to_gateway.value.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()

    page.goto(f"{site.base_url}/payments/{payment_ref}/return")
    state = page.get_by_test_id("payment-state")
    expect(state).to_have_attribute("data-state", "waiting")
    expect(page.get_by_text("This page updates by itself")).to_be_visible()
    waiting_labels = page.locator("#details dt").all_inner_texts()
    snapshot(page, "en-06a-result-waiting")

    # The payer approves (the sandbox's test helper acts as the payer on its page).
    approved = httpx.post(
        f"{site.sandbox_url}/api/payments/{payment_ref}/complete",
        json={"outcome": "approved"},
        timeout=10,
    )
    assert approved.status_code == 200, approved.text
    expect(state).to_have_attribute("data-state", "credited", timeout=15_000)
    expect(page.get_by_test_id("result-receipt")).to_be_visible()
    # Checked last: before the bank has answered, nothing may be called "Paid".
    assert "Paid" not in waiting_labels, f"the waiting result page says Paid: {waiting_labels}"


def wait_for_sms(site: Site, msisdn: str, *, containing: str) -> str:
    """The newest SMS to a line containing a text, once the worker has sent it."""
    deadline = time.monotonic() + 30
    while True:
        texts = site.sms_texts(msisdn)
        found = next((text for text in texts if containing in text), None)
        if found is not None:
            return found
        assert time.monotonic() < deadline, texts
        time.sleep(0.3)
