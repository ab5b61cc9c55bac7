"""Builders for tests: plain functions that put a catalog, lines and credentials in place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from simrenew.bootstrap import Platform
from simrenew.catalog import repository as catalog_repository
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.ids import new_id
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.service import Registration, find_or_register_customer
from simrenew.renewals.ledger import post
from simrenew.staff.rules import Caller
from simrenew.staff.service import authenticate, create_credential

DEMO_CATALOG = Path(__file__).parents[1] / "src" / "simrenew" / "catalog" / "demo" / "demo.yaml"


def load_demo_catalog(platform: Platform) -> None:
    """Load the demo catalog into the platform's database."""
    load_catalog(platform.uow(), read_catalog_file(DEMO_CATALOG), clock=platform.clock)


def make_line(
    platform: Platform,
    msisdn: str = "+96550001234",
    *,
    operator: str = "zahra",
    plan: str | None = None,
    state: str = "active",
    valid_for: timedelta = timedelta(days=10),
    paid_fils: int = 0,
    bonus_fils: int = 0,
    bonus_expires_in: timedelta = timedelta(days=30),
    language: str = "en",
    civil_id: str = "288020122596",
) -> str:
    """A registered line whose validity ends `valid_for` after the clock's now."""
    now = platform.clock.now()
    with platform.uow() as uow:
        session = uow.session
        if plan is None:
            plan = next(
                p.code
                for p in catalog_repository.list_plans(session)
                if p.operator_code == operator
            )
        customer = find_or_register_customer(
            session,
            Registration(
                id_type="civil_id", id_number=civil_id, name="Test Subscriber", language=language
            ),
            now,
        )
        line = Line(
            msisdn=msisdn,
            iccid=None,
            operator_code=operator,
            plan_code=plan,
            customer_id=customer.id,
            state=state,
            state_since=now,
            valid_until=now + valid_for,
            balance_fils=0,
            paid_fils=0,
            bonus_fils=0,
            bonus_expires_at=None,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(line)
        session.add(
            LineHistory(
                id=new_id(),
                msisdn=msisdn,
                at=now,
                event="import",
                from_state=None,
                to_state=state,
                renewal_id=None,
                details={},
            )
        )
        session.flush()
        if paid_fils:
            post(
                session, line, bucket="paid", kind="opening_balance", amount_fils=paid_fils, now=now
            )
        if bonus_fils:
            line.bonus_expires_at = now + bonus_expires_in
            post(
                session,
                line,
                bucket="bonus",
                kind="opening_balance",
                amount_fils=bonus_fils,
                now=now,
            )
        uow.commit()
    return msisdn


def make_caller(platform: Platform, channel: str = "store") -> tuple[Caller, str]:
    """A channel credential: the caller it stands for and its bearer token."""
    _, token = create_credential(platform.uow(), channel, f"test {channel}", clock=platform.clock)
    return authenticate(platform.uow(), token), token
