"""The site as a product: every page fits a 360 px phone, loads nothing from another site, speaks
the visitor's language (switcher, Accept-Language), and binding a number explains every refusal.

The walk is in Chinese (chosen with the switcher) so the third language is seen end to end; the
screenshots it leaves under test-artifacts/screenshots/ are for a person to review.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import Site, snapshot
from simrenew.errors import LineBoundElsewhere, LineRecycled, OtpInvalid
from simrenew.web.pages.selfcare.i18n import translate

GRACE = "+96560000101"  # demo: Najm prepaid, in grace (lines/demo.py)
RECYCLED = "+96599000102"  # demo: Bahar prepaid, recycled
NOT_OURS = "51234567"  # a well-formed Kuwaiti mobile number no operator here holds
PHONE_WIDTH = 360
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")  # three English words


def zh(message: str) -> str:
    """The Chinese the site shows for an English message; fails when it has no translation."""
    text = translate("zh", message)
    assert text != message, f"untranslated: {message}"
    return text


def check_page(page: Page, name: str, *, language: str = "zh") -> None:
    """The page is in the language, fits the phone without sideways scrolling, and is kept."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    expect(page.get_by_test_id("language-switcher")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{name}: {width} px wide on a {PHONE_WIDTH} px phone"
    snapshot(page, name)


def test_the_site_in_chinese_fits_a_phone_and_explains_every_refusal(
    site: Site, page: Page, browser: Browser
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{site.base_url}/signin")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the browser asks for en-US
    page.get_by_test_id("language-switcher").get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name=zh("Sign in"), level=1)).to_be_visible()
    check_page(page, "zh-01-signin")

    page.get_by_role("link", name=zh("Create an account")).click()  # the choice is remembered
    check_page(page, "zh-02-register")
    page.get_by_label(zh("Your name")).fill("王芳")
    page.get_by_label(zh("Mobile number or e-mail")).fill("wang.fang@example.com")
    page.get_by_label(zh("Password")).fill("Xufei-2026")
    page.get_by_role("button", name=zh("Create the account")).click()
    expect(page.get_by_role("heading", name=zh("No number yet"))).to_be_visible()
    check_page(page, "zh-03-home-empty")

    # Numbers that cannot be linked, each with its reason, and no SMS sent.
    page.get_by_role("link", name=zh("Add a number")).click()
    number = page.get_by_label(zh("Mobile number"), exact=True)
    untranslated: list[str] = []  # checked at the end, so the rest of the walk still runs
    for msisdn, reason in (
        (RECYCLED, LineRecycled.titles["zh"]),
        (NOT_OURS, "不属于我们服务的运营商"),
        ("2222 3333", "这不是有效的科威特手机号码"),
    ):
        number.fill(msisdn)
        page.get_by_role("button", name=zh("Send the code")).click()
        error = page.get_by_test_id("form-error")
        expect(error).to_contain_text(reason)
        expect(number).to_have_attribute("aria-invalid", "true")
        if ENGLISH_SENTENCE.search(error.inner_text()):
            untranslated.append(f"{msisdn}: {error.inner_text()}")
    assert site.sms_texts(RECYCLED) == []
    check_page(page, "zh-04-add-number-refused")

    # The grace line: a code by SMS; a new one only after the cool-down; a wrong code counted.
    number.fill(GRACE.removeprefix("+965"))
    page.get_by_role("button", name=zh("Send the code")).click()
    expect(page.get_by_role("heading", name=zh("Enter the code"))).to_be_visible()
    code = site.otp_for(GRACE)
    page.get_by_role("button", name=zh("Send a new code")).click()
    expect(page.get_by_test_id("form-error")).to_contain_text("后重试")  # "try again in ..."
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label(zh("Code from the SMS")).fill(wrong)
    page.get_by_role("button", name=zh("Link the number")).click()
    expect(page.get_by_test_id("form-error")).to_contain_text(OtpInvalid.titles["zh"])
    expect(page.get_by_test_id("form-error")).to_contain_text("4")  # attempts left
    check_page(page, "zh-05-verify-wrong-code")
    page.get_by_label(zh("Code from the SMS")).fill(code)
    page.get_by_role("button", name=zh("Link the number")).click()

    # Home: the grace badge, what it means, and the way to renew.
    card = page.locator(f'[data-testid="line-card"][data-msisdn="{GRACE}"]')
    expect(card.get_by_test_id("state-badge")).to_have_text(zh("Grace period"))
    expect(card.get_by_test_id("state-advice")).to_contain_text(
        zh("Recharge now and the line is active again at once.")
    )
    expect(card).to_contain_text("纳杰姆移动")  # the operator's Chinese name, from the catalog
    check_page(page, "zh-06-home-grace")

    # A second account is told the line is someone else's and to call care.
    other = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 780}, locale="zh-CN")
    try:
        stranger = other.new_page()
        stranger.goto(f"{site.base_url}/register")
        expect(stranger.locator("html")).to_have_attribute("lang", "zh")  # Accept-Language
        stranger.get_by_label(zh("Your name")).fill("李伟")
        stranger.get_by_label(zh("Mobile number or e-mail")).fill("li.wei@example.com")
        stranger.get_by_label(zh("Password")).fill("Xufei-2027")
        stranger.get_by_role("button", name=zh("Create the account")).click()
        stranger.get_by_role("link", name=zh("Add a number")).click()
        stranger.get_by_label(zh("Mobile number"), exact=True).fill(GRACE)
        stranger.get_by_role("button", name=zh("Send the code")).click()
        expect(stranger.get_by_test_id("form-error")).to_contain_text(
            LineBoundElsewhere.titles["zh"]
        )
    finally:
        other.close()

    # The recharge centre and the price, in Chinese.
    card.get_by_role("link", name=re.compile(f"^{zh('Recharge')}")).click()
    expect(page.get_by_role("heading", name=zh("Recharge"), level=1)).to_be_visible()
    check_page(page, "zh-07-recharge")
    page.locator('input[name="package"][value="kd20"]').check()
    page.locator('input[name="method"][value="knet"]').check()
    page.get_by_role("button", name=zh("See the price")).click()
    expect(page.get_by_role("heading", name=zh("Check the price"), level=1)).to_be_visible()
    # Najm's "spend 20 KD online, save 2 KD" and its 2.5% web discount, shown before paying.
    expect(page.get_by_test_id("quote-discount")).not_to_have_text(zh("None"))
    check_page(page, "zh-08-quote")

    page.get_by_role("link", name=zh("Receipts")).click()
    check_page(page, "zh-09-receipts")

    # Unbind: the line leaves the account; then sign out.
    page.get_by_role("link", name=zh("My lines")).click()
    card.get_by_role("link", name=re.compile(f"^{zh('Remove')}")).click()
    check_page(page, "zh-10-unbind")
    page.get_by_role("button", name=zh("Remove the number")).click()
    expect(page.get_by_test_id("notice")).to_have_text(
        zh("The number was removed from your account.")
    )
    expect(page.get_by_test_id("no-lines")).to_be_visible()
    page.get_by_role("button", name=zh("Sign out")).click()
    expect(page.get_by_test_id("notice")).to_have_text(zh("You are signed out."))
    page.goto(f"{site.base_url}/home")
    expect(page).to_have_url(re.compile(r"/signin"))  # signed out means signed out

    # Nothing came from another site (no CDN): every request went to simrenew itself.
    elsewhere = [url for url in requested if not url.startswith(site.base_url)]
    assert elsewhere == [], elsewhere
    # Every error in the visitor's language: no English sentence inside a Chinese message.
    assert untranslated == [], untranslated


def test_accept_language_picks_the_language_until_the_visitor_chooses(
    site: Site, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 780}, locale="ar-KW")
    try:
        page = context.new_page()
        page.goto(f"{site.base_url}/signin")
        expect(page.get_by_role("heading", level=1)).to_have_text(translate("ar", "Sign in"))
        check_page(page, "ar-00-signin", language="ar")
        page.goto(f"{site.base_url}/forgot")
        check_page(page, "ar-00-forgot", language="ar")
        # The switcher wins over the browser's language, and is remembered.
        page.get_by_test_id("language-switcher").get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(f"{site.base_url}/register")
        check_page(page, "en-00-register", language="en")
    finally:
        context.close()
