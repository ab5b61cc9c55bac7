"""Journey, in Arabic: sign up from `?lang=ar`, link a Zahra line, renew it by card, keep the
receipt.

Every page on the way (the sandbox gateway's too) must be `<html lang="ar" dir="rtl">` and speak
Arabic: the test finds its buttons and fields by their Arabic names from the site's catalog, and
fails when a name has no Arabic translation. Amounts are written with Arabic-Indic digits.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from e2e.conftest import Site, snapshot
from simrenew.money import format_fils, parse_fils
from simrenew.web.pages.selfcare.i18n import local_digits, translate, translations

MSISDN = "+96550000102"  # demo: Zahra prepaid, active and 2 days from its end (lines/demo.py)
NATIONAL = MSISDN.removeprefix("+965")
PASSWORD = "Tajdid-2026-ok"
KD10_FILS = 10_000
KD10_DAYS = 90  # Zahra's kd10 in the demo catalog
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]{3,}")


def ar(message: str, **params: str) -> str:
    """The Arabic the site shows for an English message; fails when it has no translation."""
    text = translate("ar", message, **params)
    assert text != message % params if params else text != message, f"untranslated: {message}"
    return text


def money(fils: int) -> str:
    """An amount as an Arabic page writes it (Arabic-Indic digits, د.ك)."""
    return format_fils(fils, "ar")


def assert_arabic_page(page: Page, title: str | None = None) -> None:
    """The page is marked Arabic and right-to-left, and its heading is in Arabic."""
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    heading = page.get_by_role("heading", level=1)
    if title is not None:
        expect(heading).to_have_text(title)
    assert ARABIC_LETTERS.search(heading.inner_text()), heading.inner_text()


def days_text(count: int) -> str:
    """A number of days as the Arabic page writes it: "يومان" (two days), "٩٢ يوماً"..."""
    words = translations("ar").ngettext("%(num)s day", "%(num)s days", count)
    return words % {"num": local_digits(count, "ar")}


def days(text: str) -> int:
    """The number of days an Arabic "days left" text says."""
    found = [count for count in range(1000) if days_text(count) == text]
    assert found, f"not a number of days: {text}"
    return found[0]


def test_the_card_renewal_journey_in_arabic(site: Site, page: Page) -> None:
    page.goto(f"{site.base_url}/register?lang=ar")
    assert_arabic_page(page, ar("Create an account"))
    switcher = page.get_by_test_id("language-switcher")
    expect(switcher.locator('[aria-current="true"]')).to_have_text("العربية")
    page.get_by_label(ar("Your name")).fill("مريم العنزي")
    page.get_by_label(ar("Mobile number or e-mail")).fill("maryam.ar@example.com")
    page.get_by_label(ar("Password")).fill(PASSWORD)
    snapshot(page, "ar-01-register")
    page.get_by_role("button", name=ar("Create the account")).click()

    expect(page).to_have_url(re.compile(r"/home"))
    assert_arabic_page(page, ar("My lines"))
    expect(page.get_by_test_id("no-lines")).to_be_visible()

    page.get_by_role("link", name=ar("Add a number")).click()
    assert_arabic_page(page, ar("Add a number"))
    page.get_by_label(ar("Mobile number")).fill(NATIONAL)
    page.get_by_role("button", name=ar("Send the code")).click()
    assert_arabic_page(page, ar("Enter the code"))
    page.get_by_label(ar("Code from the SMS")).fill(site.otp_for(MSISDN))
    page.get_by_role("button", name=ar("Link the number")).click()

    expect(page).to_have_url(re.compile(r"/home"))
    assert_arabic_page(page, ar("My lines"))
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card.get_by_test_id("state-badge")).to_have_text(ar("Active"))
    expect(card).to_contain_text("زهرة للاتصالات")  # the operator's Arabic name, from the catalog
    balance_text = card.get_by_test_id("balance").inner_text()
    assert re.search(r"[٠-٩]", balance_text), balance_text  # Arabic-Indic digits
    assert "د.ك" in balance_text, balance_text
    old_balance = parse_fils(balance_text)
    old_days = days(card.get_by_test_id("days-left").inner_text())
    snapshot(page, "ar-02-home-with-line")

    card.get_by_role("link", name=re.compile(rf"^{ar('Recharge')}")).click()
    assert_arabic_page(page, ar("Recharge"))
    page.locator('input[name="package"][value="kd10"]').check()
    page.locator('input[name="method"][value="card"]').check()
    snapshot(page, "ar-03-recharge")
    page.get_by_role("button", name=ar("See the price")).click()

    assert_arabic_page(page, ar("Check the price"))
    quote = page.get_by_test_id("quote")
    expect(quote.get_by_test_id("quote-price")).to_have_text(money(KD10_FILS))
    expect(quote.get_by_test_id("quote-fee")).to_have_text(ar("None"))
    expect(quote.get_by_test_id("quote-total")).to_have_text(money(KD10_FILS))
    expect(quote.get_by_test_id("quote-credit")).to_have_text(money(KD10_FILS))
    new_valid_until = quote.get_by_test_id("quote-valid-until").inner_text()
    assert re.search(r"[٠-٩]{4}", new_valid_until), new_valid_until
    snapshot(page, "ar-04-quote")
    page.get_by_role("button", name=ar("Pay %(total)s", total=money(KD10_FILS))).click()

    # The sandbox gateway's card page, in the language the payment was started in.
    expect(page).to_have_url(re.compile(rf"^{re.escape(site.sandbox_url)}/checkout/"))
    assert_arabic_page(page, "الدفع بالبطاقة")
    page.get_by_label("رقم البطاقة").fill("4111 1111 1111 1111")
    page.get_by_label("تاريخ الانتهاء").fill(f"12/{(datetime.now(UTC).year + 3) % 100:02d}")
    page.get_by_label("رمز التحقق (CVV)").fill("123")
    page.get_by_label("الاسم على البطاقة").fill("MARYAM ALENEZI")
    snapshot(page, "ar-05-gateway-card")
    page.get_by_role("button", name="ادفع", exact=True).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(site.base_url)}/payments/.+/return"))
    state = page.get_by_test_id("payment-state")
    expect(state).to_have_attribute("data-state", "credited", timeout=30_000)
    assert_arabic_page(page, ar("Payment result"))
    expect(state).to_contain_text(ar("Payment received. Your line is renewed."))
    receipt_no = page.get_by_test_id("result-receipt").locator("dd").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]+", receipt_no), receipt_no
    new_balance = money(old_balance + KD10_FILS)
    expect(page.get_by_test_id("result-balance").locator("dd")).to_have_text(new_balance)
    expect(page.get_by_test_id("result-valid-until").locator("dd")).to_have_text(new_valid_until)
    snapshot(page, "ar-06-result-success")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=ar("Download the receipt (PDF)")).click()
    pdf_path = download_info.value.path()
    assert pdf_path.read_bytes().startswith(b"%PDF")
    pdf_text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert receipt_no in pdf_text
    assert ARABIC_LETTERS.search(pdf_text), pdf_text  # the receipt is in the account's language

    page.get_by_role("link", name=ar("Back to my lines")).click()
    assert_arabic_page(page, ar("My lines"))
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card.get_by_test_id("balance")).to_have_text(new_balance)
    expect(card.get_by_test_id("valid-until")).to_have_text(new_valid_until)
    expect(card.get_by_test_id("days-left")).to_have_text(days_text(old_days + KD10_DAYS))

    page.get_by_role("link", name=ar("Receipts")).click()
    assert_arabic_page(page, ar("Receipts"))
    row = page.locator(f'[data-testid="renewal-row"][data-receipt="{receipt_no}"]')
    expect(row).to_contain_text(ar("Paid and credited"))
    snapshot(page, "ar-07-receipts")

    # The SMS is in the line's language too (Latin digits, as operators' SMS write them).
    deadline = time.monotonic() + 30
    while not any(receipt_no in text for text in site.sms_texts(MSISDN)):
        assert time.monotonic() < deadline, site.sms_texts(MSISDN)
        time.sleep(0.3)
    confirmation = next(text for text in site.sms_texts(MSISDN) if receipt_no in text)
    assert "الإيصال" in confirmation
    assert format_fils(old_balance + KD10_FILS, "ar", latin_digits=True) in confirmation
