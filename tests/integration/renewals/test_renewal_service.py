"""The renewal service on a real database: credit once, ledger in step, receipt and SMS queued."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from builders import DEMO_CATALOG, load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.catalog.rules import parse_catalog
from simrenew.catalog.service import load_catalog
from simrenew.clock import FixedClock
from simrenew.errors import (
    IdempotencyKeyReused,
    LineRecycled,
    LineSuspended,
    NotAllowed,
    PackageNotAvailable,
    PaymentMethodNotAvailable,
    QuoteExpired,
    UnknownLine,
)
from simrenew.lines.models import LineHistory
from simrenew.lines.service import line_status
from simrenew.notify.models import OutboxMessage
from simrenew.renewals.audit import audit_ledger
from simrenew.renewals.models import LedgerEntry, Receipt, Renewal
from simrenew.renewals.quotes import quote_renewal
from simrenew.renewals.receipts import get_receipt, verify_receipt
from simrenew.renewals.service import RenewalRequest, credit_renewal

MSISDN = "+96550001234"


def renewal(key: str, package: str = "kd10", method: str = "cash", **extra: str) -> RenewalRequest:
    body = {"msisdn": MSISDN, "package_code": package, "payment": {"method": method}, **extra}
    return RenewalRequest(
        msisdn=MSISDN,
        package_code=package,
        payment_method=method,
        idempotency_key=key,
        body=body,
        quote_id=extra.get("quote_id"),
    )


def count(platform: Platform, model: type) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def store(platform: Platform):  # type: ignore[no-untyped-def]
    load_demo_catalog(platform)
    return make_caller(platform, "store")[0]


def test_cash_renewal_credits_the_line_and_writes_everything_in_one_go(
    platform: Platform, store
) -> None:
    make_line(platform, MSISDN, paid_fils=1_500, valid_for=timedelta(days=3), language="ar")
    outcome = credit_renewal(platform.uow(), store, renewal("k1"), clock=platform.clock)

    body = outcome.body
    assert not outcome.replayed
    assert body["state"] == "credited"
    assert body["credit_fils"] == 10_000
    assert body["balance_fils"] == 11_500
    assert body["receipt_no"].startswith("R")
    status = line_status(platform.uow(), MSISDN, clock=platform.clock)
    assert status["balance_fils"] == 11_500
    assert status["days_left"] == 3 + 90  # kd10 gives 90 days, from the current end date
    assert audit_ledger(platform.uow()).ok

    receipt = get_receipt(platform.uow(), store, body["receipt_no"])
    assert receipt["credit_fils"] == 10_000
    assert verify_receipt(platform.uow(), body["receipt_no"], receipt["verification_code"])
    assert not verify_receipt(platform.uow(), body["receipt_no"], "WRONGCODE0")

    with platform.uow() as uow:
        sms = uow.session.scalars(select(OutboxMessage)).one()
    assert sms.lane == "priority"
    assert sms.language == "ar"
    assert body["receipt_no"] in sms.body
    assert "10.000 د.ك" in sms.body
    assert "11.500 د.ك" in sms.body


def test_line_in_grace_is_restored_and_extended_from_now(
    platform: Platform, store, clock: FixedClock
) -> None:
    make_line(platform, MSISDN, valid_for=timedelta(days=1))
    clock.advance(days=2)  # no sweep has run: the dates alone put the line in grace
    assert line_status(platform.uow(), MSISDN, clock=clock)["state"] == "grace"

    credit_renewal(platform.uow(), store, renewal("k1"), clock=clock)

    status = line_status(platform.uow(), MSISDN, clock=clock)
    assert status["state"] == "active"
    assert status["days_left"] == 90  # from now, not from the lapsed end date
    with platform.uow() as uow:
        events = [
            (h.event, h.from_state, h.to_state)
            for h in uow.session.scalars(select(LineHistory).order_by(LineHistory.at))
        ]
    assert ("expiry", "active", "grace") in events
    assert events[-1] == ("renewal", "grace", "active")


@pytest.mark.parametrize(("days_past_end", "error"), [(20, LineSuspended), (400, LineRecycled)])
def test_suspended_and_recycled_lines_are_refused_and_nothing_is_written(
    platform: Platform, store, clock: FixedClock, days_past_end: int, error: type
) -> None:
    make_line(platform, MSISDN, valid_for=timedelta(days=1))
    clock.advance(days=1 + days_past_end)
    with pytest.raises(error):
        credit_renewal(platform.uow(), store, renewal("k1"), clock=clock)
    assert count(platform, Renewal) == 0
    assert count(platform, OutboxMessage) == 0


def test_refusals_name_the_reason(platform: Platform, store) -> None:
    make_line(platform, MSISDN)
    with pytest.raises(UnknownLine):
        credit_renewal(
            platform.uow(),
            store,
            RenewalRequest("+96550009999", "kd10", "cash", "k0", body={"m": 1}),
            clock=platform.clock,
        )
    with pytest.raises(PackageNotAvailable):
        credit_renewal(platform.uow(), store, renewal("k1", package="nope"), clock=platform.clock)
    with pytest.raises(PaymentMethodNotAvailable):
        credit_renewal(platform.uow(), store, renewal("k2", method="card"), clock=platform.clock)
    network, _ = make_caller(platform, "network")
    with pytest.raises(NotAllowed):
        credit_renewal(platform.uow(), network, renewal("k3"), clock=platform.clock)
    assert count(platform, Renewal) == 0
    assert count(platform, LedgerEntry) == 0


def test_same_key_replays_and_different_body_is_refused(platform: Platform, store) -> None:
    make_line(platform, MSISDN)
    first = credit_renewal(platform.uow(), store, renewal("k1"), clock=platform.clock)
    again = credit_renewal(platform.uow(), store, renewal("k1"), clock=platform.clock)
    assert again.replayed
    assert again.body == first.body
    with pytest.raises(IdempotencyKeyReused):
        credit_renewal(platform.uow(), store, renewal("k1", package="kd20"), clock=platform.clock)
    assert count(platform, Renewal) == 1
    assert line_status(platform.uow(), MSISDN, clock=platform.clock)["balance_fils"] == 10_000


def test_quote_is_honoured_until_it_expires(platform: Platform, store, clock: FixedClock) -> None:
    make_line(platform, MSISDN)
    quote = quote_renewal(
        platform.uow(),
        store,
        msisdn=MSISDN,
        package_code="kd10",
        payment_method="cash",
        clock=clock,
    )
    done = credit_renewal(
        platform.uow(), store, renewal("k1", quote_id=quote["quote_id"]), clock=clock
    )
    assert done.body["total_fils"] == quote["total_fils"]
    late = quote_renewal(
        platform.uow(),
        store,
        msisdn=MSISDN,
        package_code="kd10",
        payment_method="cash",
        clock=clock,
    )
    clock.advance(seconds=901)
    with pytest.raises(QuoteExpired):
        credit_renewal(platform.uow(), store, renewal("k2", quote_id=late["quote_id"]), clock=clock)


def test_fifty_concurrent_renewals_of_one_line_credit_exactly_forty(
    platform: Platform, store
) -> None:
    make_line(platform, MSISDN)
    # 40 distinct keys; 10 of the 50 requests reuse one of them with the same body (a retry).
    keys = [f"key-{i}" for i in range(40)] + [f"key-{i}" for i in range(0, 40, 4)]

    def renew(key: str) -> tuple[str, bool]:
        outcome = credit_renewal(platform.uow(), store, renewal(key), clock=platform.clock)
        return str(outcome.body["renewal_id"]), outcome.replayed

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(renew, keys))

    assert len({renewal_id for renewal_id, _ in results}) == 40
    assert sum(replayed for _, replayed in results) == 10
    assert count(platform, Renewal) == 40
    assert count(platform, Receipt) == 40
    assert count(platform, OutboxMessage) == 40
    assert line_status(platform.uow(), MSISDN, clock=platform.clock)["balance_fils"] == 400_000
    report = audit_ledger(platform.uow())
    assert report.ok, report.offenders()


def test_audit_names_a_line_whose_balance_was_tampered_with(platform: Platform, store) -> None:
    make_line(platform, MSISDN, paid_fils=5_000)
    credit_renewal(platform.uow(), store, renewal("k1"), clock=platform.clock)
    assert audit_ledger(platform.uow()).ok
    with platform.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE lines SET paid_fils = paid_fils + 1, balance_fils = balance_fils + 1 "
                "WHERE msisdn = :m"
            ),
            {"m": MSISDN},
        )
    report = audit_ledger(platform.uow())
    assert not report.ok
    assert any(MSISDN in offender for offender in report.offenders())


def test_a_reloaded_catalog_prices_the_next_quote_at_once(platform: Platform, store) -> None:
    """Processes cache the catalog; loading a new one must not leave them on the old prices."""
    make_line(platform, MSISDN)
    before = quote_renewal(
        platform.uow(), store, msisdn=MSISDN, package_code="kd10", clock=platform.clock
    )
    assert before["price_fils"] == 10_000

    text = DEMO_CATALOG.read_text(encoding="utf-8")
    zahra_kd10 = text.index("code: kd10")  # Zahra's comes first in the file
    dearer = text[:zahra_kd10] + text[zahra_kd10:].replace('price: "10.000"', 'price: "11.000"', 1)
    assert dearer != text
    load_catalog(
        platform.uow(), parse_catalog(dearer, filename="dearer.yaml"), clock=platform.clock
    )

    after = quote_renewal(
        platform.uow(), store, msisdn=MSISDN, package_code="kd10", clock=platform.clock
    )
    assert after["price_fils"] == 11_000


def test_partner_sees_the_wallet_fee_in_the_quote_and_renews_from_its_till(
    platform: Platform,
) -> None:
    load_demo_catalog(platform)
    partner, _ = make_caller(platform, "partner")
    make_line(platform, MSISDN)

    quote = quote_renewal(
        platform.uow(),
        partner,
        msisdn=MSISDN,
        package_code="kd10",
        payment_method="wallet:applepay",
        clock=platform.clock,
    )
    # Apple Pay at a partner: 0.100 KWD + 1.5% of 10.000 KWD, added for the payer, never credited.
    assert quote["fee_fils"] == 250
    assert quote["total_fils"] == 10_250
    assert quote["credit_fils"] == 10_000

    done = credit_renewal(
        platform.uow(), partner, renewal("p1", method="till"), clock=platform.clock
    )
    assert done.body["state"] == "credited"
    assert done.body["channel"] == "partner"
    assert done.body["fee_fils"] == 0
    assert line_status(platform.uow(), MSISDN, clock=platform.clock)["balance_fils"] == 10_000
