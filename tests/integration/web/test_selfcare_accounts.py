"""Account pages: sign up (rules shown first), sign in and out, errors on the page, reset."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from integration.web.conftest import PASSWORD, Visitor, latest_code
from simrenew.accounts.models import Account
from simrenew.accounts.rules import PASSWORD_RULES
from simrenew.bootstrap import Platform


def test_the_register_page_shows_the_password_rules_before_anything_is_typed(
    browser: Visitor,
) -> None:
    for language in ("en", "ar", "zh"):
        page = browser.get(f"/register?lang={language}")
        assert PASSWORD_RULES[language] in unescape(page.text)
    page = browser.get("/register?lang=en")
    for name in ("name", "login", "password"):  # every input has its label
        assert re.search(rf'<label for="field-{name}">[^<]+</label>', page.text), name
    assert 'autocomplete="new-password"' in page.text


def test_a_refused_sign_up_keeps_what_was_typed_but_never_the_password(
    browser: Visitor, platform: Platform
) -> None:
    browser.get("/register?lang=ar")
    page = browser.submit("/register", name="Khalid", login="khalid@example.com", password="short")
    assert page.status_code == 422
    assert "كلمة المرور" in page.text  # the rule broken, in the page's language
    assert 'value="Khalid"' in page.text
    assert 'value="khalid@example.com"' in page.text
    assert 'value="short"' not in page.text
    assert 'id="field-password" name="password" type="password"' in page.text
    assert 'aria-invalid="true"' in page.text
    with platform.uow() as uow:
        assert uow.session.scalars(select(Account)).all() == []


def test_a_login_already_taken_is_told(browser: Visitor, other_browser: Visitor) -> None:
    browser.register("Khalid", "+965 5555 0001")
    other_browser.get("/register")
    page = other_browser.submit("/register", name="K", login="55550001", password=PASSWORD)
    assert page.status_code == 409
    assert "already exists" in page.text


def test_sign_out_ends_the_session_and_sign_in_brings_the_visitor_back(
    browser: Visitor,
) -> None:
    browser.register("Reem", "reem@example.com")
    old_cookie = browser.client.cookies.get("simrenew_session")
    browser.get("/home")
    signed_out = browser.submit("/signout")
    assert signed_out.headers["location"] == "/signin?notice=signed_out"
    forgotten = signed_out.headers["set-cookie"]
    assert 'simrenew_session="";' in forgotten
    assert "Max-Age=0" in forgotten
    assert "You are signed out." in browser.follow().text
    # The old session is over on the server too, not only forgotten by the browser.
    browser.client.cookies.set("simrenew_session", old_cookie or "")
    answer = browser.get("/receipts")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/receipts"

    browser.follow()
    back = browser.submit("/signin", login="reem@example.com", password=PASSWORD)
    assert back.headers["location"] == "/receipts"
    cookie = back.headers["set-cookie"]
    assert "simrenew_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    # 12 hours counted from the server's clock, whatever the browser's clock says (the test
    # clock is fixed in the past: an Expires date alone would be gone on arrival).
    assert "Max-Age=43200" in cookie
    assert browser.follow().status_code == 200


def test_a_wrong_password_is_told_on_the_page_and_five_lock_the_login(
    browser: Visitor, other_browser: Visitor
) -> None:
    browser.register("Yousef", "yousef@example.com")
    other_browser.get("/signin?lang=en")
    for _ in range(5):
        page = other_browser.submit("/signin", login="yousef@example.com", password="wrong-123")
        assert page.status_code == 400
        assert "The mobile number, e-mail or password is not right." in page.text
        assert 'value="yousef@example.com"' in page.text
    locked = other_browser.submit("/signin", login="yousef@example.com", password=PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert "try again in 15 minutes" in locked.text
    assert "simrenew_session" not in locked.headers.get("set-cookie", "")


def test_a_forgotten_password_is_reset_with_the_code_texted_to_the_mobile(
    browser: Visitor, other_browser: Visitor, platform: Platform
) -> None:
    browser.register("Laila", "+96550001234")
    other_browser.get("/forgot")
    sent = other_browser.submit("/forgot", login="5000 1234")
    assert sent.status_code == 200
    assert 'data-testid="code-sent"' in sent.text
    wrong = other_browser.submit("/reset", otp="000000", password="new-pass-2027")
    if latest_code(platform, "+96550001234") != "000000":
        assert wrong.status_code == 422
        assert "4 attempts left" in wrong.text
    done = other_browser.submit(
        "/reset", otp=latest_code(platform, "+96550001234"), password="new-pass-2027"
    )
    assert done.headers["location"] == "/signin?notice=password_changed"
    other_browser.follow()
    signed_in = other_browser.submit("/signin", login="50001234", password="new-pass-2027")
    assert signed_in.headers["location"] == "/home"
    # Every earlier session ended with the reset.
    assert browser.get("/home").status_code == 303
