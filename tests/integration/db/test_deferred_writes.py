"""Writes held until commit (db.deferred): all or nothing, and one statement on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.db.base import insert_row
from simrenew.db.deferred import execute_write
from simrenew.ids import new_id
from simrenew.lines import repository as lines_repository
from simrenew.lines.models import Line, LineHistory
from simrenew.renewals.service import RenewalRequest, credit_renewal

MSISDN = "+96550001234"


@contextmanager
def statements_sent(platform: Platform) -> Iterator[list[str]]:
    """The SQL statements the platform's engine sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    event.listen(platform.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(platform.engine, "before_cursor_execute", record)


def history_row(at: datetime, note: str, row_id: str | None = None) -> LineHistory:
    return LineHistory(
        id=row_id or new_id(),
        msisdn=MSISDN,
        at=at,
        event="import",
        from_state=None,
        to_state="active",
        renewal_id=None,
        details={"note": note, "arabic": "تجديد"},
    )


def history_notes(platform: Platform) -> list[str]:
    with platform.uow() as uow:
        rows = uow.session.scalars(select(LineHistory).where(LineHistory.event == "import"))
        return sorted(row.details["note"] for row in rows if "note" in row.details)


def balance(platform: Platform) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(Line.balance_fils).where(Line.msisdn == MSISDN)) or 0


def test_a_renewal_sends_its_writes_in_one_statement_on_postgresql(platform: Platform) -> None:
    load_demo_catalog(platform)
    store = make_caller(platform, "store")[0]
    make_line(platform, MSISDN, paid_fils=1_500, valid_for=timedelta(days=3))
    first, second = (
        RenewalRequest(msisdn=MSISDN, package_code="kd10", payment_method="cash", idempotency_key=k)
        for k in ("k1", "k2")
    )
    credit_renewal(platform.uow(), store, first, clock=platform.clock)  # reads the catalog once

    with statements_sent(platform) as sent:
        outcome = credit_renewal(platform.uow(), store, second, clock=platform.clock)

    assert outcome.body["balance_fils"] == 21_500
    assert balance(platform) == 21_500
    if platform.engine.dialect.name == "postgresql":
        # The locking read, then every row of the renewal in one data-modifying WITH.
        assert len(sent) == 2
        assert sent[1].startswith("WITH ")
        for table in ("lines", "line_history", "ledger_entries", "renewals", "receipts", "outbox"):
            assert f"{table} " in sent[1]
    else:
        assert len(sent) > 2  # SQLite has no data-modifying WITH: one statement per write


def test_held_writes_reach_the_database_only_at_commit(platform: Platform) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN, paid_fils=1_500)
    now = platform.clock.now()

    with platform.uow() as uow:
        uow.defer_writes()
        insert_row(uow.session, history_row(now, "first"))
        insert_row(uow.session, history_row(now, "second"))
        assert history_notes(platform) == []  # another connection sees nothing yet
        uow.commit()

    assert history_notes(platform) == ["first", "second"]


def test_held_writes_of_a_transaction_left_without_commit_are_dropped(platform: Platform) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN)
    now = platform.clock.now()

    with platform.uow() as uow:
        uow.defer_writes()
        insert_row(uow.session, history_row(now, "never"))

    assert history_notes(platform) == []


def test_a_held_write_that_fails_at_commit_leaves_nothing_half_written(
    platform: Platform,
) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN, paid_fils=1_500)
    taken, now = new_id(), platform.clock.now()
    with platform.uow() as uow:
        insert_row(uow.session, history_row(now, "earlier", taken))
        uow.commit()

    with platform.uow() as uow:
        uow.defer_writes()
        context = lines_repository.get_line_context(uow.session, MSISDN, lock=True)
        assert context is not None
        line = context.line
        line.paid_fils += 5_000
        line.balance_fils += 5_000
        lines_repository.save_line(uow.session, line)
        insert_row(uow.session, history_row(now, "credited"))
        insert_row(uow.session, history_row(now, "duplicate", taken))  # the id is already used
        with pytest.raises(IntegrityError):
            uow.commit()

    assert balance(platform) == 1_500
    assert history_notes(platform) == ["earlier"]


def test_a_held_row_gets_the_defaults_its_columns_declare(platform: Platform) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN)
    now = platform.clock.now()
    first, second = history_row(now, "unused"), history_row(now, "unused")
    first.details = second.details = None  # type: ignore[assignment]  # left to the default

    with platform.uow() as uow:
        uow.defer_writes()
        insert_row(uow.session, first)
        insert_row(uow.session, second)
        insert_row(uow.session, history_row(now, "third"))  # two writes: one statement on PG
        uow.commit()

    with platform.uow() as uow:
        written = {row.id: row.details for row in uow.session.scalars(select(LineHistory))}
    assert written[first.id] == {}
    assert written[second.id] == {}


def test_a_held_write_with_a_percent_sign_in_its_sql_means_what_it_says(
    platform: Platform,
) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN)
    now = platform.clock.now()
    with platform.uow() as uow:
        insert_row(uow.session, history_row(now, "activated", new_id()))
        uow.commit()
    # A value written into the SQL itself: psycopg's placeholders escape its % as %%.
    mark_active = (
        update(LineHistory)
        .where(LineHistory.to_state.like(literal_column("'act%'")))
        .values(from_state=literal_column("'50%'"))
    )

    with platform.uow() as uow:
        uow.defer_writes()
        execute_write(uow.session, mark_active, {})
        insert_row(uow.session, history_row(now, "second"))  # two writes: one statement on PG
        uow.commit()

    with platform.uow() as uow:
        rows = uow.session.scalars(select(LineHistory).where(LineHistory.event == "import"))
        states = {row.details.get("note"): row.from_state for row in rows}
    assert states["activated"] == "50%"
    assert states["second"] is None  # written after the update, in the same statement
