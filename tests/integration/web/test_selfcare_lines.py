"""Binding a number by SMS code, the home page's state badges, unbinding."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from builders import make_line
from integration.web.conftest import MSISDN, Visitor, count_rows, latest_code
from simrenew.accounts.models import Binding
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock


def _card(page_text: str, msisdn: str) -> str:
    found = re.search(rf'<li [^>]*data-msisdn="{re.escape(msisdn)}".*?</li>', page_text, re.S)
    assert found, page_text
    return found.group(0)


def test_a_wrong_code_says_how_many_attempts_are_left_and_binds_nothing(
    browser: Visitor, platform: Platform
) -> None:
    make_line(platform, MSISDN)
    browser.register("Hessa", "hessa@example.com")
    browser.get("/lines/add")
    sent = browser.submit("/lines/add", msisdn="+965 5000-1234")
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/lines/50001234/verify?until=")
    page = browser.follow()
    assert "We sent a 6-digit code by SMS to" in page.text
    assert "It is valid until November 25, 2026 12:05." in page.text  # 5 minutes, Kuwait time
    assert "from November 25, 2026 12:01" in page.text  # the resend cool-down

    code = latest_code(platform, MSISDN)
    wrong = "111111" if code != "111111" else "222222"
    answer = browser.submit("/lines/50001234/verify", otp=wrong)
    assert answer.status_code == 422
    assert "The code is not correct. 4 attempts left." in answer.text
    assert 'aria-invalid="true"' in answer.text
    with platform.uow() as uow:
        assert uow.session.scalars(select(Binding)).all() == []

    # Asking again within the minute is refused with when to try; after it, a new code comes.
    too_soon = browser.submit("/lines/50001234/resend")
    assert too_soon.status_code == 429
    assert "try again in 1 minute" in too_soon.text


def test_a_new_code_can_be_asked_after_the_cool_down(
    browser: Visitor, platform: Platform, clock: FixedClock
) -> None:
    make_line(platform, MSISDN)
    browser.register("Hessa", "hessa@example.com")
    browser.get("/lines/add")
    browser.submit("/lines/add", msisdn="50001234")
    first = latest_code(platform, MSISDN)
    browser.follow()
    clock.advance(seconds=61)
    assert browser.submit("/lines/50001234/resend").status_code == 303
    browser.follow()
    answer = browser.submit("/lines/50001234/verify", otp=latest_code(platform, MSISDN))
    assert answer.headers["location"] == "/home?notice=bound"
    assert count_rows(platform)["outbox"] == 2
    assert first  # two codes were texted, only the newest works (the accounts room's rule)


def test_numbers_that_cannot_be_bound_are_told_clearly(
    browser: Visitor, platform: Platform
) -> None:
    make_line(platform, "+96590000101", operator="bahar", valid_for=-timedelta(days=200))
    browser.register("Hessa", "hessa@example.com")
    browser.get("/lines/add?lang=en")
    cases = {
        "1234": "not a valid Kuwaiti mobile number",
        "50009999": "not a line of an operator we serve",
        "90000101": "recycled and can no longer be renewed",
    }
    for typed, message in cases.items():
        page = browser.submit("/lines/add", msisdn=typed)
        assert page.status_code in {404, 409, 422}
        assert message in page.text, typed
        assert f'value="{typed}"' in page.text
    assert count_rows(platform)["outbox"] == 0


def test_the_home_page_says_what_each_state_means_and_what_to_do(
    browser: Visitor, platform: Platform, clock: FixedClock
) -> None:
    make_line(platform, MSISDN, valid_for=timedelta(days=2))
    browser.register("Hessa", "hessa@example.com")
    card = _card(browser.bind(platform).text, MSISDN)
    assert "Calls, SMS and data work." in card
    assert "2 days" in card
    assert 'href="/lines/50001234/recharge"' in card

    clock.advance(days=3)  # validity ended a day ago: grace
    card = _card(browser.sign_in("hessa@example.com").text, MSISDN)
    assert 'data-state="grace"' in card
    assert "Grace period" in card
    assert "you can receive calls but not make them" in card
    assert "Validity ended" in card
    assert 'href="/lines/50001234/recharge"' in card

    clock.advance(days=200)  # past grace and suspension: the number is gone
    card = _card(browser.sign_in("hessa@example.com").text, MSISDN)
    assert 'data-state="recycled"' in card
    assert "Recycled" in card
    assert "call Zahra Telecom customer care on 107" in card
    assert "/recharge" not in card
    assert "/reactivate" not in card


def test_unbinding_asks_first_then_removes_the_number(browser: Visitor, platform: Platform) -> None:
    make_line(platform, MSISDN)
    browser.register("Hessa", "hessa@example.com")
    browser.bind(platform)
    page = browser.get("/lines/50001234/unbind")
    assert "The line itself keeps working" in page.text
    answer = browser.submit("/lines/50001234/unbind")
    assert answer.headers["location"] == "/home?notice=unbound"
    home = browser.follow()
    assert "The number was removed from your account." in home.text
    assert 'data-testid="no-lines"' in home.text
    with platform.uow() as uow:
        assert uow.session.scalars(select(Binding)).all() == []
