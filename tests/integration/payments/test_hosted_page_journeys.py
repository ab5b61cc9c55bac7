"""The payer's browser on the real hosted pages, end to end through simrenew.

A renewal is started by the partner; the payer's browser (plain HTTP that follows redirects and
auto-submits forms as a browser does) follows the payment link to the sandbox gateway's card
form, KNET bank page or wallet approval, fills it in, presses a button and lands back on
simrenew's result page. Nothing here calls the sandbox's test helper: the page decides.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from integration.payments.conftest import WAIT_SECONDS, Journey

FUTURE = f"12/{(datetime.now(UTC).year + 3) % 100:02d}"
APPROVED_CARD = "4111 1111 1111 1111"
CHALLENGE_CARD = "4000 0000 0000 3220"
POOR_CARD = "4000 0000 0000 9995"


@dataclass
class Form:
    """One HTML form as a browser sees it: its fields' current values and its buttons."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)
    buttons: dict[str, tuple[str | None, bool]] = field(
        default_factory=dict
    )  # value: name, novalidate


class FormParser(HTMLParser):
    """The forms of a page, and whether its script submits the first one at once."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.auto_submit = False
        self._open = False
        self._select: str | None = None
        self._option: tuple[str | None, list[str]] | None = None
        self._script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").upper()))
            self._open = True
        elif tag == "script":
            self._script = True
        elif self._open and tag in ("input", "select") and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")
            if "required" in a:
                self.forms[-1].required.add(a["name"])
            if tag == "select":
                self._select = a["name"]
                self.forms[-1].options[a["name"]] = []
        elif self._open and tag == "option" and self._select:
            self._option = (a.get("value") if "value" in a else None, [])
        elif self._open and tag == "button" and a.get("type", "submit") == "submit":
            self.forms[-1].buttons[a.get("value", "")] = (a.get("name"), "formnovalidate" in a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False
        elif tag == "script":
            self._script = False
        elif tag == "select":
            self._select = None
        elif tag == "option" and self._select and self._option is not None:
            value, text = self._option
            self.forms[-1].options[self._select].append("".join(text) if value is None else value)
            self._option = None

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[1].append(data)
        if self._script and "document.forms[0].submit()" in data:
            self.auto_submit = True


class Browser:
    """The payer's browser: every page it was shown is kept in `seen`."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=15, follow_redirects=True)
        self.seen: list[httpx.Response] = []

    def _load(self, response: httpx.Response) -> httpx.Response:
        for _ in range(5):  # an auto-submitting "returning to the merchant" page, if any
            self.seen += [*response.history, response]
            parsed = FormParser(response.text)
            if not parsed.auto_submit:
                return response
            form = parsed.forms[0]
            url = urljoin(str(response.url), form.action)
            response = self.http.request(form.method, url, data=form.fields)
        raise AssertionError("the page kept submitting itself")

    def get(self, url: str) -> httpx.Response:
        return self._load(self.http.get(url))

    def press(self, page: httpx.Response, button: str, typed: dict[str, str]) -> httpx.Response:
        """Type into the page's form and press the button whose value is `button`."""
        forms = FormParser(page.text).forms
        assert len(forms) == 1, page.text
        form = forms[0]
        name, novalidate = form.buttons[button]
        data = dict(form.fields)
        for key, value in typed.items():
            assert key in data, f"the page has no field {key!r}"
            assert key not in form.options or value in form.options[key], value
            data[key] = value
        if not novalidate:  # the browser refuses to submit with required fields empty
            assert not [key for key in form.required if not data[key]], data
        if name:
            data[name] = button
        assert form.method == "POST"
        return self._load(self.http.post(urljoin(str(page.url), form.action), data=data))

    def wait_for_result(self, page: httpx.Response) -> httpx.Response:
        """Do what the result page's script does: poll while waiting, then reload."""
        deadline = time.monotonic() + WAIT_SECONDS
        while page_state(page) == "waiting":
            assert time.monotonic() < deadline, "the result page kept waiting"
            time.sleep(0.5)
            poll = re.search(r"const statusUrl = '([^']+)'", page.text)
            assert poll is not None
            status = self.http.get(urljoin(str(page.url), poll[1])).json()
            if status["page_state"] != "waiting":
                page = self.get(str(page.url))
        return page


def page_state(page: httpx.Response) -> str:
    found = re.search(r'id="state"[^>]*data-state="(\w+)"', page.text)
    assert found is not None, page.text
    return found[1]


def details(page: httpx.Response) -> dict[str, str]:
    """The result page's label: value list."""
    return {
        unescape(k): unescape(v) for k, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text)
    }


def card(number: str) -> dict[str, str]:
    return {"card_number": number, "expiry": FUTURE, "cvv": "123", "name": "Zahra Al-Sabah"}


def knet(number: str) -> dict[str, str]:
    bank = "KNET Test Card [KNET1]"
    return {
        "bank": bank,
        "prefix": "888888",
        "card_number": number,
        "expiry": FUTURE,
        "pin": "1234",
    }


Steps = list[tuple[str, dict[str, str]]]  # (button pressed, fields typed) page after page


@pytest.fixture
def browser() -> Iterator[Browser]:
    payer = Browser()
    yield payer
    payer.http.close()


def pay_on_pages(
    journey: Journey, browser: Browser, started: dict[str, Any], steps: Steps
) -> httpx.Response:
    """Follow the payment link, go through the pages, land on simrenew's result page."""
    payment = started["payment"]
    page = browser.get(payment["redirect_url"])
    assert page.status_code == 200, page.text
    assert str(page.url).startswith(f"{journey.sandbox.base_url}/checkout/")
    for button, typed in steps:
        assert str(page.url).startswith(journey.sandbox.base_url), page.url
        page = browser.press(page, button, typed)
        assert page.status_code == 200, page.text
    assert urlsplit(str(page.url)).path == f"/payments/{payment['payment_ref']}/return"
    assert str(page.url).startswith(journey.base_url)
    return browser.wait_for_result(page)


def story(journey: Journey, ref: str) -> httpx.Response:
    """GET /api/v1/payments/{ref}: the payment with every event stored for it."""
    answer = journey.http.get(
        f"{journey.base_url}/api/v1/payments/{ref}",
        headers={"Authorization": f"Bearer {journey.token}"},
    )
    assert answer.status_code == 200, answer.text
    return answer


def assert_card_number_kept_nowhere(
    journey: Journey, browser: Browser, ref: str, steps: Steps
) -> None:
    """The number typed on the card page is in no stored event and on no page shown after."""
    stored = story(journey, ref).text
    first_after = next(i for i, r in enumerate(browser.seen) if r.request.method == "POST")
    for _, typed in steps:
        if "card_number" not in typed:
            continue
        for number in {typed["card_number"], re.sub(r"\D", "", typed["card_number"])}:
            assert number not in stored
            for response in browser.seen[first_after:]:
                assert number not in response.text, response.url
                assert number not in response.headers.get("location", "")


PAID = [
    pytest.param("card", [("pay", card(APPROVED_CARD))], "callback", id="card"),
    pytest.param(
        "card",
        [("pay", card(CHALLENGE_CARD)), ("verify", {"otp": "123456"})],
        "callback",
        id="card-3ds",
    ),
    # KNET's notice is only "ask me now": the capture is credited on the inquiry's answer.
    pytest.param("knet", [("submit", knet("0000000001"))], "inquiry", id="knet"),
    pytest.param("wallet:applepay", [("approve", {})], "callback", id="applepay-tap"),
    pytest.param("wallet:paypal", [("approve", {})], "callback", id="paypal-sandbox"),
]


@pytest.mark.parametrize(("method", "steps", "captured_by"), PAID)
def test_paying_on_the_hosted_page_credits_the_line_once(
    journey: Journey, browser: Browser, method: str, steps: Steps, captured_by: str
) -> None:
    before = journey.balance()
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]

    page = pay_on_pages(journey, browser, started, steps)

    assert page_state(page) == "credited"
    renewal = journey.renewal(started["renewal_id"])
    assert renewal["state"] == "credited"
    assert renewal["payment"]["state"] == "captured"
    assert renewal["receipt_no"]
    assert details(page)["Receipt"] == renewal["receipt_no"]
    credit = started["credit_fils"] + started["bonus_fils"]
    assert journey.balance() == before + credit
    assert journey.credits_of(started["renewal_id"]) == 1
    assert journey.receipts_of(started["renewal_id"]) == 1
    confirmations = journey.sms("renewal_confirmation")
    assert len(confirmations) == 1
    assert renewal["receipt_no"] in confirmations[0]
    payment = story(journey, ref).json()
    assert payment["captured_fils"] == started["total_fils"]  # the fee is paid, not credited
    capture = [e for e in payment["events"] if e["state_after"] == "captured"]
    assert [(e["state_before"], e["source"]) for e in capture] == [("pending", captured_by)]
    assert_card_number_kept_nowhere(journey, browser, ref, steps)
    journey.assert_books_balance()
    # Back to the payment link later: the result, never the gateway's page again.
    assert page_state(browser.get(started["payment"]["redirect_url"])) == "credited"
    assert journey.credits_of(started["renewal_id"]) == 1


# What the result page tells the payer for each gateway reason (never the gateway's raw code).
REASON_SHOWN = {
    "3ds_failed": "The card's security check (3-D Secure) was not passed.",
    "insufficient_funds": "Not enough money on the card or account.",
    "cancelled": "Cancelled on the payment page.",
    "NOT CAPTURED": "Declined by the bank.",
    "declined": "Declined by the bank.",
}

NOT_PAID = [
    pytest.param(
        "card",
        [("pay", card(CHALLENGE_CARD)), ("verify", {"otp": "654321"})],
        "declined",
        "3ds_failed",
        id="card-3ds-wrong-code",
    ),
    pytest.param(
        "card",
        [("pay", card(POOR_CARD))],
        "declined",
        "insufficient_funds",
        id="card-insufficient-funds",
    ),
    # Typed the card, then thought better of it.
    pytest.param(
        "card", [("cancel", card(APPROVED_CARD))], "cancelled", "cancelled", id="card-cancel"
    ),
    pytest.param(
        "knet", [("submit", knet("0000000002"))], "declined", "NOT CAPTURED", id="knet-declined"
    ),
    pytest.param(
        "wallet:applepay", [("decline", {})], "declined", "declined", id="applepay-tap-declined"
    ),
    pytest.param(
        "wallet:paypal", [("decline", {})], "declined", "declined", id="paypal-sandbox-declined"
    ),
]


@pytest.mark.parametrize(("method", "steps", "state", "reason"), NOT_PAID)
def test_a_payment_refused_on_the_hosted_page_credits_nothing(
    journey: Journey, browser: Browser, method: str, steps: Steps, state: str, reason: str
) -> None:
    before = journey.balance()
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]

    page = pay_on_pages(journey, browser, started, steps)

    assert page_state(page) == "failed"
    assert "Receipt" not in details(page)
    assert details(page)["Reason"] == REASON_SHOWN[reason]  # the payer is told why, in words
    renewal = journey.renewal(started["renewal_id"])
    assert renewal["state"] == "failed"
    assert renewal["payment"]["state"] == state
    assert renewal["payment"]["reason"] == reason
    assert renewal["receipt_no"] is None
    assert journey.balance() == before
    assert journey.credits_of(started["renewal_id"]) == 0
    assert journey.receipts_of(started["renewal_id"]) == 0
    assert journey.sms("renewal_confirmation") == []
    assert story(journey, ref).json()["captured_fils"] is None
    assert_card_number_kept_nowhere(journey, browser, ref, steps)
    journey.assert_books_balance()
