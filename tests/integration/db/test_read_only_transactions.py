"""Units of work that only read end without a ROLLBACK on PostgreSQL; writes are still undone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.db.base import insert_row
from simrenew.errors import PackageNotAvailable
from simrenew.ids import new_id
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.service import line_status
from simrenew.renewals.service import RenewalRequest, credit_renewal

MSISDN = "+96550001234"


def renewal(key: str, package: str = "kd10") -> RenewalRequest:
    return RenewalRequest(
        msisdn=MSISDN, package_code=package, payment_method="cash", idempotency_key=key
    )


def prepared_statements(platform: Platform) -> int:
    """How many statements the server holds prepared for the pool's (one) connection."""
    with platform.uow() as uow:
        return uow.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) or 0


# Prepared statements are psycopg's, on PostgreSQL: SQLite has no ROLLBACK to avoid here.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_reads_and_refusals_keep_the_renewals_prepared_statements(platform: Platform) -> None:
    load_demo_catalog(platform)
    store = make_caller(platform, "store")[0]
    make_line(platform, MSISDN, paid_fils=1_500, valid_for=timedelta(days=3))
    for n in range(6):  # psycopg prepares a statement from its fifth run on a connection
        credit_renewal(platform.uow(), store, renewal(f"k{n}"), clock=platform.clock)
    prepared = prepared_statements(platform)
    assert prepared > 0

    line_status(platform.uow(), MSISDN, clock=platform.clock)  # a read-only request
    with pytest.raises(PackageNotAvailable):  # a refusal after the line was locked
        credit_renewal(platform.uow(), store, renewal("k-bad", "no-such"), clock=platform.clock)

    # A ROLLBACK would have made psycopg deallocate them all.
    assert prepared_statements(platform) >= prepared
    outcome = credit_renewal(platform.uow(), store, renewal("k-last"), clock=platform.clock)
    assert outcome.body["balance_fils"] == 1_500 + 7 * 10_000


def credit_then_refuse(platform: Platform) -> None:
    with platform.uow() as uow:
        line = uow.session.scalars(select(Line).where(Line.msisdn == MSISDN)).one()
        line.paid_fils += 5_000
        line.balance_fils += 5_000
        uow.session.flush()  # written, then refused
        raise PackageNotAvailable()


def test_a_unit_of_work_left_without_commit_undoes_what_it_wrote(platform: Platform) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN, paid_fils=1_500)
    now = platform.clock.now()

    with platform.uow() as uow:
        line = uow.session.scalars(select(Line).where(Line.msisdn == MSISDN)).one()
        line.paid_fils += 5_000  # an ORM change never flushed
        insert_row(
            uow.session,
            LineHistory(
                id=new_id(),
                msisdn=MSISDN,
                at=now,
                event="import",
                to_state="active",
                details={"note": "never"},
            ),
        )

    with pytest.raises(PackageNotAvailable):
        credit_then_refuse(platform)

    with platform.uow() as uow:
        line = uow.session.scalars(select(Line).where(Line.msisdn == MSISDN)).one()
        imports = uow.session.scalars(
            select(LineHistory).where(LineHistory.msisdn == MSISDN, LineHistory.event == "import")
        ).all()
    assert (line.paid_fils, line.balance_fils) == (1_500, 1_500)
    assert [row for row in imports if row.details.get("note") == "never"] == []
