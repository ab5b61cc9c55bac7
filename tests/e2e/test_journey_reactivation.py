"""Journey: a suspended line reactivated online. The home page says the line is suspended and
how to bring it back; a malformed and then a wrong passport number are refused with a clear
message before any payment; the registered one, a package and a card payment make it active.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from e2e.conftest import Site, snapshot
from simrenew.money import format_fils, parse_fils

MSISDN = "+96565000102"  # demo: Najm prepaid, suspended (lines/demo.py)
NATIONAL = MSISDN.removeprefix("+965")
HOLDER_PASSPORT = "M9081726"  # the demo line's registration (lines/demo.py)
PASSWORD = "Reactivate-2026"


def test_a_suspended_line_is_reactivated_online(site: Site, page: Page) -> None:
    page.goto(f"{site.base_url}/register")
    page.get_by_label("Your name").fill("Maria Santos")
    page.get_by_label("Mobile number or e-mail").fill("maria.reactivation@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_test_id("no-lines")).to_be_visible()

    page.get_by_role("link", name="Add a number").click()
    page.get_by_label("Mobile number").fill(NATIONAL)
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Code from the SMS").fill(site.otp_for(MSISDN))
    page.get_by_role("button", name="Link the number").click()

    # Home: suspended, what it means, and the way to reactivate (not to recharge).
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card.get_by_test_id("state-badge")).to_have_text("Suspended")
    expect(card.get_by_test_id("state-advice")).to_contain_text("All services are stopped")
    expect(card.get_by_test_id("state-advice")).to_contain_text("Reactivate it online")
    expect(card.get_by_role("link", name=re.compile(r"^Recharge"))).to_have_count(0)
    old_balance = parse_fils(card.get_by_test_id("balance").inner_text())
    snapshot(page, "en-11-home-suspended")
    card.get_by_role("link", name=re.compile(r"^Reactivate")).click()

    expect(page.get_by_role("heading", name="Reactivate the line", level=1)).to_be_visible()
    expect(page.get_by_test_id("line-summary")).to_have_attribute("data-state", "suspended")
    snapshot(page, "en-12-reactivate")

    # A number that cannot be a passport: refused at once, on the form.
    page.get_by_role("radio", name="Passport").check()
    id_field = page.get_by_label("Civil ID or passport number")
    id_field.fill("M-1")
    page.locator('input[name="package"][value="kd10"]').check()
    page.locator('input[name="method"][value="card"]').check()
    page.get_by_role("button", name="See the price").click()
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "The civil ID or passport number is not valid."
    )
    expect(id_field).to_have_attribute("aria-invalid", "true")

    # A well-formed passport that is not the holder's: refused before the gateway is reached.
    page.get_by_role("radio", name="Passport").check()
    id_field.fill("M1234567")
    page.get_by_role("button", name="See the price").click()
    expect(page.get_by_role("heading", name="Check the price")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_test_id("form-error")).to_contain_text(
        "This civil ID or passport number is not the one registered to the line."
    )
    assert page.url.startswith(site.base_url), page.url
    expect(page.get_by_label("Civil ID or passport number")).to_have_attribute(
        "aria-invalid", "true"
    )
    snapshot(page, "en-13-reactivate-wrong-id")

    # The registered passport: the price, then the card payment.
    page.get_by_role("radio", name="Passport").check()
    page.get_by_label("Civil ID or passport number").fill(HOLDER_PASSPORT)
    page.locator('input[name="package"][value="kd10"]').check()
    page.locator('input[name="method"][value="card"]').check()
    page.get_by_role("button", name="See the price").click()
    expect(page.get_by_role("heading", name="Check the price")).to_be_visible()
    expect(page.get_by_text("Paying reactivates the line at once")).to_be_visible()
    credit = parse_fils(page.get_by_test_id("quote-credit").inner_text())
    new_valid_until = page.get_by_test_id("quote-valid-until").inner_text()
    total = page.get_by_test_id("quote-total").inner_text()
    snapshot(page, "en-14-reactivate-quote")
    page.get_by_role("button", name=f"Pay {total}").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(site.sandbox_url)}/checkout/"))
    page.get_by_label("Card number").fill("4111 1111 1111 1111")
    page.get_by_label("Expiry (MM/YY)").fill(f"12/{(datetime.now(UTC).year + 3) % 100:02d}")
    page.get_by_label("CVV").fill("123")
    page.get_by_label("Name on card").fill("MARIA SANTOS")
    page.get_by_role("button", name="Pay", exact=True).click()

    state = page.get_by_test_id("payment-state")
    expect(state).to_have_attribute("data-state", "credited", timeout=30_000)
    expect(state).to_contain_text("Your line is renewed.")
    new_balance = format_fils(old_balance + credit, "en")
    expect(page.get_by_test_id("result-balance").locator("dd")).to_have_text(new_balance)
    expect(page.get_by_test_id("result-valid-until").locator("dd")).to_have_text(new_valid_until)
    expect(page.get_by_test_id("result-receipt")).to_be_visible()

    # Home: the line is active again, with its new balance and expiry.
    page.get_by_role("link", name="Back to my lines").click()
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{MSISDN}"]')
    expect(card.get_by_test_id("state-badge")).to_have_text("Active")
    expect(card).to_have_attribute("data-state", "active")
    expect(card.get_by_test_id("balance")).to_have_text(new_balance)
    expect(card.get_by_test_id("valid-until")).to_have_text(new_valid_until)
    expect(card.get_by_role("link", name=re.compile(r"^Recharge"))).to_be_visible()
    snapshot(page, "en-15-home-reactivated")
