"""Account use cases on both databases: sessions, codes at rest, bindings that outlive holders,
limits, the audit trail and renewals of bound lines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from builders import load_demo_catalog, make_line
from simrenew.accounts import service
from simrenew.accounts.models import Account, OtpChallenge
from simrenew.bootstrap import Platform
from simrenew.catalog.models import CatalogVersion, PaymentMethod
from simrenew.clock import FixedClock
from simrenew.errors import (
    NotAllowed,
    OtpInvalid,
    PaymentMethodNotAvailable,
    RateLimited,
    Unauthenticated,
)
from simrenew.lines.models import Line
from simrenew.lines.service import Registration, find_or_register_customer
from simrenew.notify.models import OutboxMessage
from simrenew.payments.desk import PaymentDesk, PaymentLinks
from simrenew.payments.gateways.base import Checkout, PaymentOrder
from simrenew.renewals.service import RenewalRequest
from simrenew.staff.models import AuditEntry
from simrenew.staff.rules import Caller

PASSWORD = "sahra-2026"
LINE = "+96550001234"
KEY = "test-secret"


@pytest.fixture
def catalog(platform: Platform) -> None:
    """The demo catalog."""
    load_demo_catalog(platform)


def _subscriber(platform: Platform, login: str, channel: Any = "app") -> tuple[Caller, str]:
    uow, clock = platform.uow(), platform.clock
    service.register(uow, name="Fatima", login=login, password=PASSWORD, language="en", clock=clock)
    grant = service.sign_in(uow, login=login, password=PASSWORD, channel=channel, clock=clock)
    caller = service.authenticate_subscriber(platform.uow(), grant.token, clock=platform.clock)
    return caller, grant.token


def _last_code(platform: Platform, msisdn: str) -> str:
    with platform.uow() as uow:
        message = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == msisdn)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).one()
    code: str = message.params["code"]
    return code


def _bind(platform: Platform, caller: Caller, msisdn: str = LINE) -> dict[str, Any]:
    service.start_binding(platform.uow(), caller, msisdn, clock=platform.clock, secret_key=KEY)
    code = _last_code(platform, msisdn)
    return service.verify_binding(
        platform.uow(), caller, msisdn, code, clock=platform.clock, secret_key=KEY
    )


def test_web_sessions_last_twelve_hours_and_app_sessions_thirty_days(
    platform: Platform, clock: FixedClock
) -> None:
    web, web_token = _subscriber(platform, "web@example.com", "web")
    grant = service.sign_in(
        platform.uow(), login="web@example.com", password=PASSWORD, channel="app", clock=clock
    )

    assert (web.kind, web.channel) == ("subscriber", "web")
    clock.advance(hours=12)
    with pytest.raises(Unauthenticated):
        service.authenticate_subscriber(platform.uow(), web_token, clock=clock)
    app = service.authenticate_subscriber(platform.uow(), grant.token, clock=clock)
    assert app.channel == "app"
    service.sign_out(platform.uow(), grant.token, clock=clock)
    service.sign_out(platform.uow(), grant.token, clock=clock)  # twice: nothing happens
    with pytest.raises(Unauthenticated):
        service.authenticate_subscriber(platform.uow(), grant.token, clock=clock)


def test_a_locked_login_refuses_even_the_right_password_and_says_for_how_long(
    platform: Platform, clock: FixedClock
) -> None:
    _subscriber(platform, "50001234")
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            service.sign_in(
                platform.uow(), login="50001234", password="nope-1234", channel="web", clock=clock
            )
    clock.advance(minutes=5)

    with pytest.raises(RateLimited) as raised:
        service.sign_in(
            platform.uow(), login="50001234", password=PASSWORD, channel="web", clock=clock
        )

    assert raised.value.retry_after == 600
    assert "10 minutes" in raised.value.message("en")


def test_an_old_password_hash_is_upgraded_at_sign_in(platform: Platform) -> None:
    _subscriber(platform, "50001234")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with platform.uow() as uow:
        uow.session.execute(update(Account).values(password_hash=weak))
        uow.commit()

    service.sign_in(
        platform.uow(), login="50001234", password=PASSWORD, channel="app", clock=platform.clock
    )

    with platform.uow() as uow:
        stored = uow.session.scalar(select(Account.password_hash))
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)


def test_codes_are_kept_only_as_an_hmac_under_the_servers_key(
    platform: Platform, catalog: None
) -> None:
    make_line(platform, LINE)
    caller, _ = _subscriber(platform, "fatima@example.com")
    service.start_binding(platform.uow(), caller, LINE, clock=platform.clock, secret_key=KEY)
    code = _last_code(platform, LINE)

    with platform.uow() as uow:
        stored = uow.session.scalars(select(OtpChallenge)).one()
    assert code not in stored.code_hash
    with pytest.raises(OtpInvalid):  # the right code under another key is a wrong code
        service.verify_binding(
            platform.uow(), caller, LINE, code, clock=platform.clock, secret_key="other"
        )
    bound = service.verify_binding(
        platform.uow(), caller, LINE, code, clock=platform.clock, secret_key=KEY
    )
    assert bound["msisdn"] == LINE


def test_a_number_issued_to_someone_else_leaves_the_old_account(
    platform: Platform, catalog: None
) -> None:
    make_line(platform, LINE)
    fatima, _ = _subscriber(platform, "fatima@example.com")
    ali, _ = _subscriber(platform, "ali@example.com")
    _bind(platform, fatima)
    with platform.uow() as uow:  # the number is recycled and registered to a new holder
        holder = find_or_register_customer(
            uow.session,
            Registration(id_type="civil_id", id_number="290010112346", name="Ali"),
            platform.clock.now(),
        )
        uow.session.execute(update(Line).values(customer_id=holder.id))
        uow.commit()

    assert service.list_bound_lines(platform.uow(), fatima, clock=platform.clock) == []
    with pytest.raises(NotAllowed):
        service.ensure_bound(platform.uow(), fatima, LINE)
    assert _bind(platform, ali)["msisdn"] == LINE
    assert service.ensure_bound(platform.uow(), ali, "50001234") == LINE


def test_a_number_gets_at_most_five_codes_an_hour(
    platform: Platform, clock: FixedClock, catalog: None
) -> None:
    make_line(platform, LINE)
    caller, _ = _subscriber(platform, "fatima@example.com")
    for _ in range(5):
        service.start_binding(platform.uow(), caller, LINE, clock=clock, secret_key=KEY)
        clock.advance(seconds=60)

    with pytest.raises(RateLimited) as raised:
        service.start_binding(platform.uow(), caller, LINE, clock=clock, secret_key=KEY)

    assert raised.value.retry_after == 55 * 60  # until the first code is an hour old
    clock.advance(minutes=55)
    service.start_binding(platform.uow(), caller, LINE, clock=clock, secret_key=KEY)


def test_a_reset_code_for_an_email_login_goes_to_its_first_bound_line(
    platform: Platform, catalog: None
) -> None:
    make_line(platform, LINE)
    caller, _ = _subscriber(platform, "fatima@example.com")
    _subscriber(platform, "lonely@example.com")
    _bind(platform, caller)

    service.start_password_reset(
        platform.uow(), login="lonely@example.com", clock=platform.clock, secret_key=KEY
    )
    service.start_password_reset(
        platform.uow(), login="Fatima@example.com", clock=platform.clock, secret_key=KEY
    )
    service.reset_password(
        platform.uow(),
        login="fatima@example.com",
        code=_last_code(platform, LINE),
        new_password="fresh-pass-77",
        clock=platform.clock,
        secret_key=KEY,
    )

    with platform.uow() as uow:
        reset_sms = uow.session.scalars(
            select(OutboxMessage.recipient).order_by(OutboxMessage.id)
        ).all()
    assert reset_sms == [LINE, LINE]  # the binding code, then the reset code; none for lonely
    grant = service.sign_in(
        platform.uow(),
        login="fatima@example.com",
        password="fresh-pass-77",
        channel="web",
        clock=platform.clock,
    )
    assert grant.account.login == "fatima@example.com"


def test_the_audit_trail_records_what_happened_without_any_secret(
    platform: Platform, catalog: None
) -> None:
    make_line(platform, LINE)
    caller, _ = _subscriber(platform, "50001234")
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            service.sign_in(
                platform.uow(),
                login="50001234",
                password="nope-1234",
                channel="web",
                clock=platform.clock,
            )
    _bind(platform, caller)
    bind_code = _last_code(platform, LINE)
    service.unbind(platform.uow(), caller, LINE, clock=platform.clock)
    service.start_password_reset(
        platform.uow(), login="50001234", clock=platform.clock, secret_key=KEY
    )
    reset_code = _last_code(platform, LINE)
    service.reset_password(
        platform.uow(),
        login="50001234",
        code=reset_code,
        new_password="fresh-pass-77",
        clock=platform.clock,
        secret_key=KEY,
    )

    with platform.uow() as uow:
        entries = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "account.registered",
        "account.signin_locked",
        "account.line_bound",
        "account.line_unbound",
        "account.password_reset",
    ]
    written = json.dumps([[e.actor, e.subject, e.details] for e in entries])
    for secret in (PASSWORD, "nope-1234", "fresh-pass-77", bind_code, reset_code, "288020122596"):
        assert secret not in written


class PageOnlyGateway:
    """A gateway that answers every payment with its hosted page's address."""

    code = "tap"

    def start_payment(self, order: PaymentOrder) -> Checkout:
        return Checkout(redirect_url=f"https://pay.example/{order.payment_ref}")


def test_a_bound_line_is_renewed_online_and_listed_with_its_payment(
    platform: Platform, catalog: None
) -> None:
    make_line(platform, LINE, paid_fils=1000)
    make_line(platform, "+96550005678", civil_id="290010112346")
    caller, _ = _subscriber(platform, "fatima@example.com", "web")
    _bind(platform, caller)
    desk = PaymentDesk(
        gateways={"tap": PageOnlyGateway()},
        links=PaymentLinks("https://simrenew.test"),
    )

    def request(msisdn: str, method: str = "card", key: str = "k-1") -> RenewalRequest:
        body = {"msisdn": msisdn, "package_code": "kd10", "payment": {"method": method}}
        return RenewalRequest(
            msisdn=msisdn,
            package_code="kd10",
            payment_method=method,
            idempotency_key=key,
            body=body,
        )

    outcome = service.renew_bound_line(
        platform.uow(), desk, caller, request("50001234"), clock=platform.clock
    )
    with pytest.raises(NotAllowed):
        service.renew_bound_line(
            platform.uow(), desk, caller, request("+96550005678", key="k-2"), clock=platform.clock
        )
    with platform.uow() as uow:  # a catalog slip: cash offered on the web channel
        uow.session.execute(
            update(PaymentMethod)
            .where(PaymentMethod.method == "cash")
            .values(channels=["store", "web"])
        )
        uow.session.execute(update(CatalogVersion).values(version="cash-on-the-web"))
        uow.commit()
    with pytest.raises(PaymentMethodNotAvailable):  # still never credited without paying
        service.renew_bound_line(
            platform.uow(), desk, caller, request(LINE, "cash", "k-3"), clock=platform.clock
        )
    listed = service.list_account_renewals(platform.uow(), caller, desk=desk)

    assert outcome.body["state"] == "awaiting_payment"
    assert outcome.body["msisdn"] == LINE
    assert outcome.body["channel"] == "web"  # web prices: no app discount
    assert outcome.body["total_fils"] == 10000
    assert outcome.body["payment"]["redirect_url"].startswith("https://simrenew.test/pay/")
    assert [r["renewal_id"] for r in listed] == [outcome.body["renewal_id"]]


def test_ended_sessions_and_spent_codes_are_purged_after_a_day_and_live_ones_kept(
    platform: Platform, clock: FixedClock, catalog: None
) -> None:
    make_line(platform, LINE)
    caller, token = _subscriber(platform, "keep@example.com", "app")  # lives 30 days
    _, ended = _subscriber(platform, "gone@example.com", "web")
    service.sign_out(platform.uow(), ended, clock=clock)
    service.start_binding(platform.uow(), caller, LINE, clock=clock, secret_key=KEY)

    assert service.purge_ended_sessions_and_codes(platform.uow(), clock=clock) == 0
    clock.advance(days=1, minutes=10)  # the code expired 5 minutes in, the sign-out a day ago
    assert service.purge_ended_sessions_and_codes(platform.uow(), clock=clock) == 2

    with platform.uow() as uow:
        assert uow.session.scalars(select(OtpChallenge)).all() == []
    assert service.authenticate_subscriber(platform.uow(), token, clock=clock).id == caller.id
    with pytest.raises(Unauthenticated):
        service.authenticate_subscriber(platform.uow(), ended, clock=clock)
