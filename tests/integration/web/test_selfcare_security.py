"""What protects the subscriber: CSRF tokens, sessions, other accounts' lines and receipts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from builders import make_line
from integration.web.conftest import MSISDN, TinyGateway, Visitor, count_rows
from simrenew.accounts.models import Binding
from simrenew.bootstrap import Platform
from simrenew.money import format_fils
from simrenew.payments.gateways.base import GatewayOutcome
from simrenew.renewals.models import Renewal


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: Visitor, platform: Platform
) -> None:
    make_line(platform, MSISDN)
    browser.register("Omar", "omar@example.com")
    before = count_rows(platform)
    for token in (None, "", "0" * 64):
        data = {"msisdn": "50001234"} | ({"csrf_token": token} if token is not None else {})
        refused = browser.client.post("/lines/add", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
    assert count_rows(platform) == before  # no SMS queued

    # Signing out from another site's page does not work either.
    assert browser.client.post("/signout", follow_redirects=False).status_code == 403
    assert browser.get("/home").status_code == 200


def test_a_csrf_token_belongs_to_one_browser(
    browser: Visitor, other_browser: Visitor, platform: Platform
) -> None:
    browser.register("Omar", "omar@example.com")
    browser.get("/lines/add")
    stolen = browser.form("/lines/add").fields["csrf_token"]
    other_browser.register("Eve", "eve@example.com")
    answer = other_browser.client.post(
        "/lines/add", data={"msisdn": "50001234", "csrf_token": stolen}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_signed_out_forms_are_protected_too(browser: Visitor) -> None:
    browser.get("/signin")
    answer = browser.client.post(
        "/signin", data={"login": "a@example.com", "password": "x"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert browser.submit("/signin", login="a@example.com", password="x").status_code == 400


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_sign_in_never_sends_the_visitor_to_another_site(browser: Visitor, target: str) -> None:
    browser.register("Omar", "omar@example.com")
    browser.submit("/signout")
    browser.get("/signin", params={"next": target})
    answer = browser.submit("/signin", login="omar@example.com", password="sesame-2026")
    assert answer.headers["location"] == "/home"


def test_pages_need_a_session_and_come_back_after_sign_in(browser: Visitor) -> None:
    for path in ("/home", "/lines/add", "/lines/50001234/recharge", "/receipts"):
        answer = browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/signin?next={path}"
    assert browser.get("/").headers["location"] == "/home"


def test_another_account_cannot_see_or_renew_the_line_nor_its_receipts(
    browser: Visitor, other_browser: Visitor, platform: Platform, gateway: TinyGateway
) -> None:
    make_line(platform, MSISDN, paid_fils=900)
    browser.register("Owner", "owner@example.com")
    browser.bind(platform)
    browser.get("/lines/50001234/recharge")
    browser.submit("/lines/50001234/recharge", package="kd5", method="card")
    ref = browser.submit("/lines/50001234/recharge/pay").headers["location"].rsplit("/", 1)[-1]
    gateway.decide(ref, GatewayOutcome.CAPTURED)
    browser.get(f"/payments/{ref}/return")
    with platform.uow() as uow:
        receipt_no = uow.session.scalars(select(Renewal.receipt_no)).one()
    assert receipt_no

    other_browser.register("Stranger", "stranger@example.com")
    for path in (
        "/lines/50001234/recharge",
        "/lines/50001234/reactivate",
        "/lines/50001234/unbind",
        f"/receipts/{receipt_no}",
        f"/receipts/{receipt_no}.pdf",
    ):
        answer = other_browser.get(path)
        assert answer.status_code in {403, 404}, path
        main = answer.text.split("<main", 1)[1]
        assert format_fils(900, "en") not in main
        assert receipt_no not in main
    home = other_browser.get("/home")
    assert MSISDN not in home.text
    assert "5000 1234" not in home.text
    assert receipt_no not in other_browser.get("/receipts").text

    other_browser.get("/lines/add")
    token = {"csrf_token": other_browser.form("/lines/add").fields["csrf_token"]}
    before = count_rows(platform)
    for action, data in (
        ("/lines/50001234/recharge", {"package": "kd5", "method": "card"}),
        ("/lines/50001234/recharge/pay", {"package": "kd5", "method": "card", "quote_id": "q"}),
        ("/lines/50001234/unbind", {}),
    ):
        answer = other_browser.client.post(action, data=token | data, follow_redirects=False)
        assert answer.status_code == 403, action
    answer = other_browser.submit("/lines/add", msisdn="50001234")
    assert answer.status_code == 409
    assert "contact customer care" in answer.text
    assert count_rows(platform) == before
    with platform.uow() as uow:
        assert len(uow.session.scalars(select(Binding)).all()) == 1


def test_pages_are_never_cached_nor_framed(browser: Visitor) -> None:
    page = browser.get("/signin")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "simrenew_presession=" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
