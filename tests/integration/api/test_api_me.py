"""The subscriber app API: an account, its sessions, lines bound by texted code, renewals.

A gateway that only hands out its page's address stands in for the payment gateways: what
happens on the page is the payments room's business (tests/integration/payments).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from builders import make_line
from simrenew.bootstrap import Platform
from simrenew.catalog.models import Operator
from simrenew.clock import FixedClock
from simrenew.notify.models import OutboxMessage
from simrenew.payments.desk import PaymentDesk, PaymentLinks
from simrenew.payments.gateways.base import Checkout, PaymentOrder
from simrenew.renewals.models import Renewal

if TYPE_CHECKING:
    from starlette.testclient import TestClient

PASSWORD = "sahra-2026"
LINE_A = "+96550001234"
LINE_B = "+96550005678"
A_ID = "288020122596"  # the civil ID builders.make_line registers lines to
B_ID = "290010112346"  # another valid civil ID: B's line has its own holder


class PageOnlyGateway:
    """A gateway that answers every payment with its hosted page's address, nothing more."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.orders: list[PaymentOrder] = []

    def start_payment(self, order: PaymentOrder) -> Checkout:
        self.orders.append(order)
        return Checkout(redirect_url=f"https://pay.example/{self.code}/{order.payment_ref}")


@pytest.fixture
def gateways(platform: Platform) -> dict[str, PageOnlyGateway]:
    """The platform's gateways replaced by page-only ones (tap: cards, knet, sandbox)."""
    fakes = {code: PageOnlyGateway(code) for code in ("tap", "knet", "sandbox")}
    platform.payments = PaymentDesk(gateways=fakes, links=PaymentLinks("https://simrenew.test"))
    return fakes


def _register(api: TestClient, login: str, **extra: Any) -> Any:
    body = {"name": "Fatima", "login": login, "password": PASSWORD, **extra}
    return api.post("/api/v1/me/register", json=body)


def _sign_in(api: TestClient, login: str, password: str = PASSWORD, **headers: str) -> Any:
    return api.post(
        "/api/v1/me/sessions", json={"login": login, "password": password}, headers=headers
    )


def _account(api: TestClient, login: str) -> dict[str, str]:
    """Register and sign in; the bearer headers of the new session."""
    assert _register(api, login).status_code == 201
    answer = _sign_in(api, login)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _texted_code(platform: Platform, msisdn: str) -> str:
    """The newest code texted to a number, as the subscriber reads it on the phone."""
    with platform.uow() as uow:
        message = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == msisdn, OutboxMessage.template == "otp")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).one()
    code: str = message.params["code"]
    assert code in message.body
    return code


def _bind(api: TestClient, platform: Platform, headers: dict[str, str], msisdn: str) -> Any:
    started = api.post("/api/v1/me/lines", json={"msisdn": msisdn}, headers=headers)
    assert started.status_code == 202, started.text
    code = _texted_code(platform, msisdn)
    return api.post(f"/api/v1/me/lines/{msisdn}/verify", json={"otp": code}, headers=headers)


# -- account and sessions ---------------------------------------------------------------------


def test_register_sign_in_read_the_account_and_sign_out(api: TestClient) -> None:
    registered = _register(api, "5000 1234", name="  Fatima  Al-Sabah ")
    signed_in = _sign_in(api, "+965 5000-1234")
    token = signed_in.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    me = api.get("/api/v1/me", headers=bearer)
    signed_out = api.delete("/api/v1/me/sessions", headers=bearer)
    after = api.get("/api/v1/me", headers=bearer)

    assert registered.status_code == 201
    account = registered.json()
    assert (account["login"], account["name"], account["language"]) == (
        LINE_A,
        "Fatima Al-Sabah",
        "en",
    )
    assert signed_in.status_code == 200
    assert token.startswith("sub_")
    assert signed_in.json()["expires_at"] == "2026-12-25T12:00:00+03:00"  # 30 days for the app
    assert me.json() == account
    assert signed_out.status_code == 204
    assert after.status_code == 401
    assert after.json()["code"] == "unauthenticated"


def test_an_account_speaks_the_language_asked_and_changes_it(api: TestClient) -> None:
    registered = _register(api, "Fatima@Example.COM")
    arabic = api.post(
        "/api/v1/me/register",
        json={"name": "Ali", "login": "ali@example.com", "password": PASSWORD},
        headers={"Accept-Language": "ar-KW,ar;q=0.9"},
    )
    bearer = {"Authorization": f"Bearer {_sign_in(api, 'fatima@example.com').json()['token']}"}
    changed = api.patch("/api/v1/me", json={"language": "zh"}, headers=bearer)
    unknown = api.patch("/api/v1/me", json={"language": "fr"}, headers=bearer)

    assert registered.json()["login"] == "fatima@example.com"
    assert arabic.json()["language"] == "ar"
    assert changed.json()["language"] == "zh"
    assert api.get("/api/v1/me", headers=bearer).json()["language"] == "zh"
    assert unknown.status_code == 422
    assert "language" in unknown.json()["detail"]


def test_a_taken_login_and_a_weak_password_are_refused_clearly(api: TestClient) -> None:
    _register(api, "50001234")

    taken = _register(api, "0096550001234")
    weak = api.post(
        "/api/v1/me/register",
        json={"name": "Ali", "login": "ali@example.com", "password": "password"},
        headers={"Accept-Language": "ar"},
    )
    rules = api.get("/api/v1/me/password-rules", headers={"Accept-Language": "zh"})

    assert taken.status_code == 409
    assert taken.json()["code"] == "login_taken"
    assert weak.status_code == 422
    assert weak.json()["code"] == "validation_error"
    assert "كلمة المرور" in weak.json()["detail"]  # the field, named in the reader's language
    assert rules.json()["rules"].startswith("使用8至128个字符")


def test_five_wrong_passwords_lock_the_login_for_fifteen_minutes(
    api: TestClient, clock: FixedClock
) -> None:
    _register(api, "50001234")

    unknown = _sign_in(api, "50009999", "whatever-1")
    wrong = [_sign_in(api, "50001234", "not-it-123") for _ in range(5)]
    locked = _sign_in(api, "50001234")
    locked_ar = _sign_in(api, "50001234", **{"Accept-Language": "ar"})
    clock.advance(minutes=15)
    again = _sign_in(api, "50001234")

    assert [w.status_code for w in wrong] == [401] * 5
    # Nothing tells a wrong password from an unknown login.
    assert {w.json()["detail"] for w in wrong} == {unknown.json()["detail"]}
    assert "login or password is not correct" in unknown.json()["detail"]
    assert locked.status_code == 429
    assert locked.json()["code"] == "rate_limited"
    assert "Too many failed sign-ins. Please try again in 15 minutes." in locked.json()["detail"]
    assert "بعد 15 دقيقة" in locked_ar.json()["detail"]
    assert again.status_code == 200


def test_me_routes_need_a_subscriber_session(
    api: TestClient, store: dict[str, str], clock: FixedClock
) -> None:
    bearer = _account(api, "50001234")

    anonymous = api.get("/api/v1/me/lines")
    staff = api.get("/api/v1/me/lines", headers=store)
    forged = api.get("/api/v1/me", headers={"Authorization": "Bearer sub_forged"})
    clock.advance(days=30)
    expired = api.get("/api/v1/me", headers=bearer)

    assert anonymous.status_code == 401
    assert staff.status_code == 403
    assert staff.json()["code"] == "not_allowed"
    assert forged.status_code == 401
    assert expired.status_code == 401


# -- binding lines ------------------------------------------------------------------------------


def test_a_line_is_bound_with_the_code_texted_to_it(api: TestClient, platform: Platform) -> None:
    make_line(platform, LINE_A, paid_fils=1500, valid_for=-timedelta(hours=1))
    bearer = _account(api, "fatima@example.com")
    api.patch("/api/v1/me", json={"language": "ar"}, headers=bearer)

    started = api.post("/api/v1/me/lines", json={"msisdn": "5000 1234"}, headers=bearer)
    code = _texted_code(platform, LINE_A)
    typed = "".join("٠١٢٣٤٥٦٧٨٩"[int(d)] for d in code)  # typed on an Arabic keyboard
    bound = api.post(f"/api/v1/me/lines/{LINE_A}/verify", json={"otp": typed}, headers=bearer)
    lines = api.get("/api/v1/me/lines", headers=bearer)
    status = api.get("/api/v1/lines/50001234", headers=bearer)

    assert started.status_code == 202
    assert started.json() == {
        "msisdn": LINE_A,
        "expires_at": "2026-11-25T12:05:00+03:00",
        "resend_after": "2026-11-25T12:01:00+03:00",
    }
    with platform.uow() as uow:
        sms = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "otp")
        ).one()
    assert (sms.language, sms.lane) == ("ar", "priority")
    assert "رمز التحقق" in sms.body
    assert bound.status_code == 200, bound.text
    line = bound.json()
    assert (line["msisdn"], line["state"], line["balance_fils"]) == (LINE_A, "grace", 1500)
    assert line["balance_display"] == "١٫٥٠٠ د.ك"
    assert line["operator_name"] == "زهرة للاتصالات"
    assert line["bound_at"] == "2026-11-25T12:00:00+03:00"
    assert lines.json() == [line]
    assert status.status_code == 200
    assert status.json()["state"] == "grace"


def test_a_wrong_code_says_how_many_attempts_are_left_and_the_fifth_spends_it(
    api: TestClient, platform: Platform
) -> None:
    make_line(platform, LINE_A)
    bearer = _account(api, "50001234")
    api.post("/api/v1/me/lines", json={"msisdn": LINE_A}, headers=bearer)
    code = _texted_code(platform, LINE_A)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    url = f"/api/v1/me/lines/{LINE_A}/verify"

    attempts = [api.post(url, json={"otp": wrong}, headers=bearer) for _ in range(5)]
    right_too_late = api.post(url, json={"otp": code}, headers=bearer)
    malformed = api.post(url, json={"otp": "12"}, headers=bearer)

    assert [a.status_code for a in attempts] == [422, 422, 422, 422, 409]
    assert attempts[0].json()["code"] == "otp_invalid"
    assert attempts[0].json()["detail"] == "The code is not correct. 4 attempts left."
    assert attempts[3].json()["detail"].endswith("1 attempt left.")
    assert attempts[4].json()["code"] == "otp_expired"
    assert "last attempt" in attempts[4].json()["detail"]
    assert right_too_late.json()["code"] == "otp_expired"
    assert malformed.status_code == 422
    assert api.get("/api/v1/me/lines", headers=bearer).json() == []


def test_a_code_lives_five_minutes_and_a_new_one_waits_for_the_cool_down(
    api: TestClient, platform: Platform, clock: FixedClock
) -> None:
    make_line(platform, LINE_A)
    bearer = _account(api, "50001234")
    url = f"/api/v1/me/lines/{LINE_A}/verify"
    api.post("/api/v1/me/lines", json={"msisdn": LINE_A}, headers=bearer)
    first = _texted_code(platform, LINE_A)

    too_soon = api.post("/api/v1/me/lines", json={"msisdn": LINE_A}, headers=bearer)
    clock.advance(seconds=60)
    resent = api.post("/api/v1/me/lines", json={"msisdn": LINE_A}, headers=bearer)
    second = _texted_code(platform, LINE_A)
    old_code = api.post(url, json={"otp": first}, headers=bearer) if first != second else None
    clock.advance(minutes=5)
    expired = api.post(url, json={"otp": second}, headers=bearer)

    assert too_soon.status_code == 429
    assert too_soon.json()["code"] == "rate_limited"
    assert "try again in 1 minute" in too_soon.json()["detail"]
    assert resent.status_code == 202
    # Only the newest code works: the first one is now just a wrong code.
    assert old_code is None or old_code.json()["code"] == "otp_invalid"
    assert expired.status_code == 409
    assert expired.json()["code"] == "otp_expired"
    assert api.get("/api/v1/me/lines", headers=bearer).json() == []


def test_unknown_recycled_and_other_accounts_lines_are_refused_clearly(
    api: TestClient, platform: Platform
) -> None:
    make_line(platform, LINE_A)
    make_line(platform, "+96550009999", state="recycled", valid_for=-timedelta(days=40))
    fatima = _account(api, "fatima@example.com")
    ali = _account(api, "ali@example.com")
    assert _bind(api, platform, fatima, LINE_A).status_code == 200

    def ask(bearer: dict[str, str], msisdn: str, language: str = "en") -> Any:
        headers = {**bearer, "Accept-Language": language}
        return api.post("/api/v1/me/lines", json={"msisdn": msisdn}, headers=headers)

    unknown = ask(ali, "60001234")
    recycled = ask(ali, "50009999")
    invalid = ask(ali, "123")
    elsewhere = ask(ali, LINE_A)
    elsewhere_zh = ask(ali, LINE_A, "zh")
    again = ask(fatima, LINE_A)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_line"
    assert "not a line of an operator we serve" in unknown.json()["detail"]
    assert recycled.json()["code"] == "line_recycled"
    assert invalid.json()["code"] == "invalid_msisdn"
    assert elsewhere.status_code == 409
    assert elsewhere.json()["code"] == "line_bound_elsewhere"
    assert "contact customer care" in elsewhere.json()["detail"]
    assert "联系客户服务" in elsewhere_zh.json()["detail"]
    assert again.json()["code"] == "line_already_bound"
    with platform.uow() as uow:  # no code was texted for any refused number
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_an_unbound_line_leaves_the_account_and_another_may_bind_it(
    api: TestClient, platform: Platform
) -> None:
    make_line(platform, LINE_A)
    fatima = _account(api, "fatima@example.com")
    ali = _account(api, "ali@example.com")
    _bind(api, platform, fatima, LINE_A)

    unbound = api.delete("/api/v1/me/lines/50001234", headers=fatima)
    not_hers = api.delete("/api/v1/me/lines/50001234", headers=fatima)
    rebound = _bind(api, platform, ali, LINE_A)

    assert unbound.status_code == 204
    assert api.get("/api/v1/me/lines", headers=fatima).json() == []
    assert api.get(f"/api/v1/lines/{LINE_A}", headers=fatima).status_code == 403
    assert not_hers.status_code == 403
    assert rebound.status_code == 200


# -- one account never touches another's line ---------------------------------------------------


def test_a_token_of_account_a_never_reads_or_renews_account_b_line(
    api: TestClient,
    platform: Platform,
    store: dict[str, str],
    gateways: dict[str, PageOnlyGateway],
) -> None:
    make_line(platform, LINE_A)
    make_line(platform, LINE_B, civil_id=B_ID, paid_fils=2000)
    a = _account(api, "a@example.com")
    b = _account(api, "b@example.com")
    _bind(api, platform, a, LINE_A)
    _bind(api, platform, b, LINE_B)
    cash = api.post(
        "/api/v1/renewals",
        headers={**store, "Idempotency-Key": "store-b-1"},
        json={"msisdn": LINE_B, "package_code": "kd5", "payment": {"method": "cash"}},
    ).json()
    receipt = f"/api/v1/receipts/{cash['receipt_no']}"
    with platform.uow() as uow:
        renewals_before = uow.session.scalar(select(func.count()).select_from(Renewal))

    reads = {
        "line": api.get(f"/api/v1/lines/{LINE_B}", headers=a),
        "history": api.get(f"/api/v1/lines/{LINE_B}/history", headers=a),
        "receipt": api.get(receipt, headers=a),
        "receipt_pdf": api.get(receipt, headers={**a, "Accept": "application/pdf"}),
        "offers": api.get(f"/api/v1/me/lines/{LINE_B}/offers", headers=a),
        "quote": api.post(
            "/api/v1/me/quotes",
            json={"msisdn": LINE_B, "package_code": "kd10", "payment_method": "card"},
            headers=a,
        ),
        "renewal": api.post(
            "/api/v1/me/renewals",
            json={"msisdn": LINE_B, "package_code": "kd10", "payment": {"method": "card"}},
            headers={**a, "Idempotency-Key": "a-tries-b"},
        ),
        "unbind": api.delete(f"/api/v1/me/lines/{LINE_B}", headers=a),
    }
    # A number that is no line at all is refused the same way: nothing is revealed.
    nothing = {
        "no line": api.get("/api/v1/lines/50007777", headers=a),
        "no receipt": api.get("/api/v1/receipts/R0000000000000000", headers=a),
    }

    for name, answer in {**reads, **nothing}.items():
        assert answer.status_code == 403, (name, answer.text)
        assert answer.json()["code"] == "not_allowed", name
    assert nothing["no line"].json() == reads["line"].json()
    assert nothing["no receipt"].json() == reads["receipt"].json()
    assert cash["renewal_id"] not in {r["renewal_id"] for r in _renewals(api, a)}
    with platform.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Renewal)) == renewals_before
    assert gateways["tap"].orders == []
    # B itself reads all of it.
    assert api.get(f"/api/v1/lines/{LINE_B}", headers=b).json()["balance_fils"] == 7000
    assert api.get(f"/api/v1/lines/{LINE_B}/history", headers=b).status_code == 200
    assert api.get(receipt, headers=b).json()["total_display"] == "5.000 KWD"
    assert [r["receipt_no"] for r in _renewals(api, b)] == [cash["receipt_no"]]


def _renewals(api: TestClient, bearer: dict[str, str]) -> list[dict[str, Any]]:
    answer = api.get("/api/v1/me/renewals", headers=bearer)
    assert answer.status_code == 200, answer.text
    body: list[dict[str, Any]] = answer.json()
    return body


# -- forgotten password -------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_with_the_code_texted_to_the_mobile(
    api: TestClient, platform: Platform
) -> None:
    old = _account(api, "50001234")
    unknown = api.post("/api/v1/me/password-resets", json={"login": "50009999"})
    asked = api.post("/api/v1/me/password-resets", json={"login": "5000 1234"})
    code = _texted_code(platform, LINE_A)
    confirm = "/api/v1/me/password-resets/confirm"
    body = {"login": "50001234", "new_password": "fresh-pass-77"}

    wrong = api.post(confirm, json={**body, "code": f"{(int(code) + 1) % 10**6:06d}"})
    weak = api.post(confirm, json={**body, "code": code, "new_password": "short"})
    done = api.post(confirm, json={**body, "code": code})
    reused = api.post(confirm, json={**body, "code": code})

    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()  # the same answer: nothing is revealed
    with platform.uow() as uow:
        texted = list(uow.session.scalars(select(OutboxMessage.recipient)))
    assert texted == [LINE_A]
    assert wrong.json()["detail"].endswith("4 attempts left.")
    assert weak.status_code == 422  # refused before the code: no attempt spent
    assert done.status_code == 204
    assert reused.json()["code"] == "otp_expired"
    assert api.get("/api/v1/me", headers=old).status_code == 401  # every session ended
    assert _sign_in(api, "50001234").status_code == 401
    assert _sign_in(api, "50001234", "fresh-pass-77").status_code == 200


# -- recharge -----------------------------------------------------------------------------------


def test_a_bound_line_is_renewed_by_card_on_the_gateways_page(
    api: TestClient, platform: Platform, gateways: dict[str, PageOnlyGateway]
) -> None:
    make_line(platform, LINE_A, paid_fils=1000)
    bearer = _account(api, "50001234")
    _bind(api, platform, bearer, LINE_A)
    renew = {"msisdn": "50001234", "package_code": "kd10", "payment": {"method": "card"}}

    offers = api.get("/api/v1/me/lines/50001234/offers", headers=bearer).json()
    quote = api.post(
        "/api/v1/me/quotes",
        json={"msisdn": LINE_A, "package_code": "kd10", "payment_method": "card"},
        headers=bearer,
    ).json()
    keyed = {**bearer, "Idempotency-Key": "app-7f3a"}
    quoted = {**renew, "quote_id": quote["quote_id"]}
    started = api.post("/api/v1/me/renewals", json=quoted, headers=keyed)
    replayed = api.post("/api/v1/me/renewals", json=quoted, headers=keyed)
    cash = api.post(
        "/api/v1/me/renewals",
        json={**renew, "payment": {"method": "cash"}},
        headers={**bearer, "Idempotency-Key": "app-cash"},
    )

    with platform.uow() as uow:
        colour = uow.session.scalar(select(Operator.colour).where(Operator.code == "zahra"))
    assert offers["operator"] == {"code": "zahra", "name": "Zahra Telecom", "colour": colour}
    packages = {p["code"]: p for p in offers["packages"]}
    assert "app15" in packages  # sold in the app only
    assert packages["kd10"]["price_fils"] == 10000
    assert {m["method"] for m in offers["methods"]} == {"card", "knet", "wallet:applepay"}
    # 5% app discount, 20% app bonus on 10 KD, no card fee.
    assert (quote["price_fils"], quote["discount_fils"], quote["bonus_fils"]) == (10000, 500, 2000)
    assert (quote["fee_fils"], quote["total_fils"], quote["channel"]) == (0, 9500, "app")
    assert quote["reactivation_required"] is False
    assert started.status_code == 201, started.text
    renewal = started.json()
    assert (renewal["state"], renewal["receipt_no"], renewal["total_fils"]) == (
        "awaiting_payment",
        None,
        9500,
    )
    assert renewal["payment"]["redirect_url"].startswith("https://simrenew.test/pay/")
    assert renewal["payment"]["gateway"] == "tap"
    assert [o.amount_fils for o in gateways["tap"].orders] == [9500]
    assert replayed.json() == renewal
    assert replayed.headers["idempotent-replayed"] == "true"
    assert cash.status_code == 422
    assert cash.json()["code"] == "payment_method_not_available"
    listed = _renewals(api, bearer)
    assert [r["renewal_id"] for r in listed] == [renewal["renewal_id"]]
    assert listed[0]["payment"]["redirect_url"] == renewal["payment"]["redirect_url"]


def test_a_suspended_line_is_reactivated_online_with_the_holders_id(
    api: TestClient, platform: Platform, gateways: dict[str, PageOnlyGateway]
) -> None:
    make_line(platform, LINE_A, valid_for=-timedelta(days=10))  # grace 7 days: suspended
    bearer = _account(api, "50001234")
    _bind(api, platform, bearer, LINE_A)
    renew = {"msisdn": LINE_A, "package_code": "kd5", "payment": {"method": "knet"}}

    def post(key: str, body: dict[str, Any]) -> Any:
        headers = {**bearer, "Idempotency-Key": key}
        return api.post("/api/v1/me/renewals", json=body, headers=headers)

    line = api.get("/api/v1/me/lines", headers=bearer).json()[0]
    quote = api.post(
        "/api/v1/me/quotes",
        json={"msisdn": LINE_A, "package_code": "kd5", "payment_method": "knet"},
        headers=bearer,
    ).json()
    plain = post("r-1", renew)
    wrong_id = post("r-2", {**renew, "reactivation": {"id_type": "civil_id", "id_number": B_ID}})
    reactivated = post("r-3", {**renew, "reactivation": {"id_type": "civil_id", "id_number": A_ID}})

    assert (line["state"], line["reactivation_required"]) == ("suspended", True)
    assert quote["reactivation_required"] is True
    assert quote["new_valid_until"] == "2026-12-25T12:00:00+03:00"  # fresh validity from now
    assert plain.json()["code"] == "line_suspended"
    assert wrong_id.json()["code"] == "identity_mismatch"
    assert reactivated.status_code == 201, reactivated.text
    assert reactivated.json()["state"] == "awaiting_payment"
    assert reactivated.json()["payment"]["gateway"] == "knet"
