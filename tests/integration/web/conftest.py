"""Self-care page tests: the app over the test platform, a browser-like client, a fake gateway.

The gateway is a tiny in-test one: its page is `https://gateway.test/pay/<ref>`, and what the
payer "did" there is set per payment with `gateway.decide(ref, outcome)`; the result page asks
it (as it asks a real gateway when no callback came) and shows the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from builders import load_demo_catalog
from simrenew.bootstrap import Platform
from simrenew.notify.models import OutboxMessage
from simrenew.payments.desk import PaymentDesk, PaymentLinks
from simrenew.payments.gateways.base import (
    CallbackReply,
    Checkout,
    GatewayEvent,
    GatewayOutcome,
    PaymentOrder,
    Refund,
)
from simrenew.renewals.models import Quote, Receipt, Renewal
from simrenew.settings import Settings
from simrenew.web.app import build_app

PASSWORD = "sesame-2026"
MSISDN = "+96550001234"  # builders.make_line's default number (Zahra prepaid)
HOLDER_CIVIL_ID = "288020122596"  # builders.make_line's registration


class TinyGateway:
    """A gateway whose hosted page is imaginary: outcomes are decided by the test."""

    code = "tap"

    def __init__(self) -> None:
        self.orders: dict[str, PaymentOrder] = {}
        self.outcomes: dict[str, GatewayOutcome] = {}

    def decide(self, payment_ref: str, outcome: GatewayOutcome) -> None:
        """What the payer did on the gateway's page."""
        self.outcomes[payment_ref] = outcome

    def start_payment(self, order: PaymentOrder) -> Checkout:
        """Remember the order; send the browser to the imaginary page."""
        self.orders[order.payment_ref] = order
        return Checkout(redirect_url=f"https://gateway.test/pay/{order.payment_ref}")

    def read_callback(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> GatewayEvent:
        """No callbacks in these tests."""
        raise AssertionError("the tiny gateway sends no callbacks")

    def reply_to_callback(self, event: GatewayEvent | None, *, redirect_url: str) -> CallbackReply:
        """No callbacks in these tests."""
        return CallbackReply(200, "")

    def query_payment(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int
    ) -> GatewayEvent:
        """The outcome decided for the payment (pending until one is)."""
        outcome = self.outcomes.get(payment_ref, GatewayOutcome.PENDING)
        return GatewayEvent(
            event_id=f"inquiry-{payment_ref}-{outcome.value}",
            payment_ref=payment_ref,
            outcome=outcome,
            amount_fils=amount_fils if outcome is GatewayOutcome.CAPTURED else None,
            currency="KWD",
            reason="declined" if outcome is GatewayOutcome.DECLINED else None,
        )

    def refund(
        self, payment_ref: str, *, gateway_payment_id: str | None, amount_fils: int, refund_ref: str
    ) -> Refund:
        """Refunds always work here."""
        return Refund(refund_id=refund_ref, amount_fils=amount_fils, succeeded=True)


@pytest.fixture
def gateway(platform: Platform, settings: Settings) -> TinyGateway:
    """The tiny gateway, serving every gateway code of the demo catalog."""
    tiny = TinyGateway()
    platform.__dict__["payments"] = PaymentDesk(
        gateways={"tap": tiny, "knet": tiny, "sandbox": tiny},
        links=PaymentLinks(settings.public_url),
    )
    return tiny


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


@dataclass
class Form:
    """A form of a page: where it goes and the values it would send as it stands."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)


def forms_of(html: str) -> list[Form]:
    """The POST forms of a page, with their hidden and pre-filled/checked values."""
    found = []
    for match in FORM.finditer(html):
        opening = dict(ATTRIBUTE.findall(match.group(0).split(">", 1)[0]))
        fields: dict[str, str] = {}
        for tag in INPUT.findall(match.group(0)):
            attributes = dict(ATTRIBUTE.findall(tag))
            name = attributes.get("name")
            kind = attributes.get("type", "text")
            if not name or (kind == "radio" and " checked" not in tag):
                continue
            fields[name] = unescape(attributes.get("value", ""))
        found.append(Form(unescape(opening.get("action", "")), fields))
    return found


class Visitor:
    """A person's browser: cookies kept, forms submitted as the page has them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.page: Any = None

    def get(self, path: str, **kwargs: Any) -> Any:
        """Open a page (redirects not followed: tests look at them)."""
        self.page = self.client.get(path, follow_redirects=False, **kwargs)
        return self.page

    def form(self, action: str, page: Any = None) -> Form:
        """The form of the current page that posts to `action`."""
        html = (page or self.page).text
        for form in forms_of(html):
            if form.action == action:
                return form
        raise AssertionError(f"no form posting to {action} in:\n{html}")

    def submit(self, action: str, **values: str) -> Any:
        """Fill in the current page's form for `action` and send it."""
        form = self.form(action)
        self.page = self.client.post(action, data={**form.fields, **values}, follow_redirects=False)
        return self.page

    def follow(self) -> Any:
        """Go where a redirect points (a path on this site)."""
        assert self.page.status_code in {302, 303, 307}, self.page.text
        location = urlsplit(self.page.headers["location"])
        target = location.path + (f"?{location.query}" if location.query else "")
        return self.get(target)

    def register(self, name: str, login: str, password: str = PASSWORD, lang: str = "en") -> Any:
        """Sign up through the register page (which signs in)."""
        self.get(f"/register?lang={lang}")
        answer = self.submit("/register", name=name, login=login, password=password)
        assert answer.status_code == 303, answer.text
        return self.follow()

    def sign_in(self, login: str, password: str = PASSWORD) -> Any:
        """Sign in through the sign-in page (sessions last 12 hours)."""
        self.get("/signin")
        answer = self.submit("/signin", login=login, password=password)
        assert answer.status_code == 303, answer.text
        return self.follow()

    def bind(self, platform: Platform, msisdn: str = MSISDN) -> Any:
        """Add a number with the code texted to it."""
        self.get("/lines/add")
        answer = self.submit("/lines/add", msisdn=msisdn)
        assert answer.status_code == 303, answer.text
        verify = self.follow()
        action = urlsplit(answer.headers["location"]).path
        assert verify.status_code == 200
        answer = self.submit(action, otp=latest_code(platform, msisdn))
        assert answer.headers.get("location") == "/home?notice=bound", answer.text
        return self.follow()


def latest_code(platform: Platform, msisdn: str) -> str:
    """The newest one-time code texted to a number (read from the SMS outbox)."""
    with platform.uow() as uow:
        text = uow.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == msisdn, OutboxMessage.template == "otp")
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(1)
        ).one()
    found = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
    assert found, text
    return found.group(1)


def count_rows(platform: Platform) -> dict[str, int]:
    """Rows a recharge or a binding leaves behind, to prove a refused form wrote nothing."""
    with platform.engine.connect() as conn:
        return {
            model.__tablename__: conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Renewal, Receipt, Quote, OutboxMessage)
        }


@pytest.fixture
def site(platform: Platform, settings: Settings, gateway: TinyGateway) -> Iterator[TestClient]:
    """A client of the app with the demo catalog loaded."""
    load_demo_catalog(platform)
    with TestClient(build_app(settings, platform=platform)) as client:
        yield client


@pytest.fixture
def browser(site: TestClient) -> Visitor:
    """One person's browser on the site."""
    return Visitor(site)


@pytest.fixture
def other_browser(platform: Platform, settings: Settings, site: TestClient) -> Iterator[Visitor]:
    """A second person's browser (its own cookies)."""
    with TestClient(build_app(settings, platform=platform)) as client:
        yield Visitor(client)
