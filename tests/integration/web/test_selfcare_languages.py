"""Every page in English, Arabic (right to left) and Chinese, and how the language is chosen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import select

from builders import make_line
from integration.web.conftest import MSISDN, Visitor
from simrenew.accounts.models import Account
from simrenew.bootstrap import Platform
from simrenew.money import format_fils
from simrenew.web.pages.selfcare.i18n import LOCALE_DIR

ROOT = Path(__file__).parents[3]
ARABIC = re.compile(r"[\u0600-\u06ff]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)s")
SWITCHER = re.compile(r'<nav class="languages"[^>]*>(.*?)</nav>', re.S)


def _html_tag(page: str) -> str:
    found = re.search(r"<html [^>]*>", page)
    assert found, page
    return found.group(0)


def _visible_text(page: str) -> str:
    body = page.split("<body>", 1)[1]
    body = re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.S)
    body = SWITCHER.sub("", body)  # the switcher names every language in itself
    return re.sub(r"<[^>]+>", " ", body)


def _assert_switcher(page: str, path: str) -> None:
    found = SWITCHER.search(page)
    assert found, page
    links = re.findall(r'href="([^"]+)"', found.group(1))
    assert [link.rsplit("lang=", 1)[1] for link in links] == ["en", "ar", "zh"]
    assert all(link.startswith(path) for link in links)


def _signed_in_with_line(browser: Visitor, platform: Platform) -> None:
    make_line(platform, MSISDN, paid_fils=2500)
    browser.register("Huda", "huda@example.com")
    browser.bind(platform)


def test_arabic_pages_are_right_to_left_and_in_arabic(browser: Visitor, platform: Platform) -> None:
    _signed_in_with_line(browser, platform)
    home = browser.get("/home?lang=ar")
    assert _html_tag(home.text) == '<html lang="ar" dir="rtl">'
    assert "خطوطي" in home.text  # "My lines"
    assert "فعّال" in home.text  # the active badge
    assert format_fils(2500, "ar") in home.text  # ٢٫٥٠٠ د.ك
    assert "زهرة للاتصالات" in home.text  # the operator's Arabic name from the catalog
    # The choice is remembered: the next page without ?lang= is Arabic too.
    assert 'dir="rtl"' in browser.get("/lines/50001234/recharge").text
    english_words = {"Balance", "Recharge", "Valid until", "My lines", "Sign out"}
    visible = _visible_text(browser.page.text)
    assert not [word for word in english_words if word in visible]


def test_chinese_pages_are_in_chinese(browser: Visitor, platform: Platform) -> None:
    _signed_in_with_line(browser, platform)
    for path in ("/home", "/lines/50001234/recharge", "/receipts", "/lines/add"):
        page = browser.get(f"{path}?lang=zh")
        assert _html_tag(page.text) == '<html lang="zh" dir="ltr">'
        assert CHINESE.search(_visible_text(page.text)), path
        assert not ARABIC.search(_visible_text(page.text)), path
    assert "我的号码" in browser.get("/home").text


@pytest.mark.parametrize(
    "path", ["/signin", "/register", "/forgot", "/reset", "/signin?next=/receipts"]
)
def test_every_signed_out_page_has_the_three_language_switcher(browser: Visitor, path: str) -> None:
    page = browser.get(path)
    assert page.status_code == 200
    _assert_switcher(page.text, path.split("?", 1)[0])
    if "next=" in path:
        assert "next=%2Freceipts&amp;lang=ar" in page.text  # the rest of the address is kept


def test_every_signed_in_page_has_the_switcher(browser: Visitor, platform: Platform) -> None:
    _signed_in_with_line(browser, platform)
    for path in (
        "/home",
        "/lines/add",
        "/lines/50001234/verify",
        "/lines/50001234/recharge",
        "/lines/50001234/unbind",
        "/receipts",
    ):
        page = browser.get(path)
        assert page.status_code == 200, path
        _assert_switcher(page.text, path)
    # A page answering a form switches to the page the form belongs to.
    browser.get("/lines/50001234/recharge")
    quote = browser.submit("/lines/50001234/recharge", package="kd5", method="card")
    _assert_switcher(quote.text, "/lines/50001234/recharge")


def test_accept_language_picks_the_first_page_language(browser: Visitor) -> None:
    arabic = browser.get("/signin", headers={"Accept-Language": "ar-KW,ar;q=0.9,en;q=0.5"})
    assert 'lang="ar" dir="rtl"' in arabic.text
    chinese = browser.get("/register", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'lang="zh"' in chinese.text
    assert "密码" in chinese.text  # the password rules in Chinese, up front
    # An explicit choice beats the browser's preference from then on.
    browser.get("/signin?lang=en", headers={"Accept-Language": "ar"})
    assert 'lang="en"' in browser.get("/signin", headers={"Accept-Language": "ar"}).text


def test_switching_language_when_signed_in_changes_the_account_language(
    browser: Visitor, platform: Platform
) -> None:
    browser.register("Wang Fang", "wang@example.com")
    browser.get("/home?lang=zh")
    with platform.uow() as uow:
        language = uow.session.scalars(select(Account.language)).one()
    assert language == "zh"  # its SMS and receipts follow


def test_an_account_made_in_arabic_gets_arabic_pages_on_a_new_browser(
    browser: Visitor, other_browser: Visitor
) -> None:
    browser.register("Mariam", "mariam@example.com", lang="ar")
    other_browser.get("/signin")  # no cookie, no Accept-Language: the default (English)
    answer = other_browser.submit("/signin", login="mariam@example.com", password="sesame-2026")
    assert answer.status_code == 303
    assert 'dir="rtl"' in other_browser.follow().text


def test_the_payment_result_page_speaks_the_payers_language(
    browser: Visitor, other_browser: Visitor, platform: Platform
) -> None:
    make_line(platform, MSISDN)
    browser.register("Layla", "layla@example.com", lang="ar")
    browser.bind(platform)
    browser.get("/lines/50001234/recharge")
    browser.submit("/lines/50001234/recharge", package="kd5", method="card")
    ref = browser.submit("/lines/50001234/recharge/pay").headers["location"].rsplit("/", 1)[-1]
    page = browser.get(f"/payments/{ref}/return")
    assert 'lang="ar" dir="rtl"' in page.text
    assert "نتيجة الدفع" in page.text
    # A browser without this site's cookies (the gateway posting back): Accept-Language, then
    # the language the payment was started in.
    chinese = other_browser.get(f"/payments/{ref}/return", headers={"Accept-Language": "zh"})
    assert 'lang="zh"' in chinese.text
    assert "支付结果" in chinese.text
    other_browser.client.cookies.clear()
    plain = other_browser.client.post(f"/payments/{ref}/return", headers={"Accept-Language": ""})
    assert 'lang="ar"' in plain.text
    assert "set-cookie" not in plain.headers  # a cross-site post-back sets no cookie
    english = other_browser.get(f"/payments/{ref}/return?lang=en")
    assert 'data-state="waiting"' in english.text
    assert "This page updates by itself" in english.text
    failed = other_browser.get("/payments/failed?lang=ar")
    assert failed.status_code == 200
    assert "تعذّر تأكيد الدفع" in failed.text
    unknown = other_browser.get("/payments/NOSUCHREF/return?lang=zh")
    assert unknown.status_code == 404
    assert "没有该笔付款" in unknown.text


def test_every_message_of_the_site_is_translated_in_arabic_and_chinese() -> None:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {
        message: None
        for _, _, message, _, _ in extract_from_dir(
            ROOT, method_map, options_map, keywords={"N_": None, "_": None, "ngettext": (1, 2)}
        )
    }
    assert len(found) > 100
    for language, script in (("ar", ARABIC), ("zh", CHINESE)):
        with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        for message in found:
            key = message if isinstance(message, str) else message[0]
            entry = catalog.get(key)
            assert entry is not None, (language, message)
            assert not entry.fuzzy, (language, message)
            texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            source = message if isinstance(message, str) else message[1]
            for text in texts:
                assert script.search(text or ""), (language, message)
                # Every placeholder kept ("%(num)s" may be left out where the word says it).
                wanted = set(PLACEHOLDER.findall(source)) - {"%(num)s"}
                assert wanted <= set(PLACEHOLDER.findall(text)), (language, message, text)
