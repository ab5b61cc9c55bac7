"""Bulk import of lines from the old system's CSV export (`simrenew lines import FILE.csv`).

Rows are read and checked by `csv_rows`; a bad row is reported with its line number and never
stops the import. Rows are written in batches, one transaction each, so millions of lines work.

What the file says vs what is stored:
- the dates and the plan decide the state (`state_at`); a recorded `recycled` stays recycled.
  Rows whose state had to be corrected are counted as corrected, not rejected.
- a new line gets one history row (event "import") and, when it has a balance, one ledger row
  (kind "opening_balance"), so balance == ledger from the first instant.
- a row for a line already stored is compared with it: identical rows change nothing (so the
  same file imported twice is a no-op). A differing row updates the line and its registration,
  because the file is the migration's source of truth for the lines it names; a differing balance
  is brought to the file's figure ONLY through a ledger row of kind "import_adjustment" (never by
  overwriting the cached balance), so the audit still proves every balance, and the ledger shows
  who changed it and by how much.
- a line stored as `recycled` (recorded so, or so by its dates) has forfeited its balance
  (DESIGN.md, Line lifecycle): it is stored with balance 0, and a balance the file gives it is
  written in and then taken out by a ledger row of kind "recycle_forfeit", so the ledger shows
  where the money went. A line already stored as recycled is compared at balance 0, not at the
  file's figure: re-importing its row changes nothing.
- an empty optional value (`iccid`, `nationality`) means "not given": what is stored is kept.
- a registration (civil ID or passport) named by several rows takes its name, language and
  nationality from the first of them; later rows only link their line to it. Otherwise rows that
  disagree would rewrite each other on every import and re-importing would never be a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simrenew.catalog import repository as catalog_repository
from simrenew.clock import Clock, to_kuwait, utc
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import ValidationFailed
from simrenew.ids import new_id
from simrenew.lines.csv_rows import REQUIRED_COLUMNS as REQUIRED_COLUMNS  # cli/lines.py names it
from simrenew.lines.csv_rows import (
    ImportRow,
    NumberedRow,
    Plans,
    RowChecker,
    RowError,
    number_rows,
    read_csv,
    shown_msisdn,
)
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.lines.rules import LifecyclePeriods, LineState
from simrenew.lines.service import new_customer
from simrenew.renewals.ledger import post

BATCH_SIZE = 1000
# The report keeps the first rejections only: a broken export of millions of rows must not
# exhaust memory; the count is always complete.
MAX_KEPT_REJECTIONS = 1000


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported: its line in the file and why (no identity numbers)."""

    line_no: int
    msisdn: str
    reason: str


@dataclass
class ImportSummary:
    """What an import did; rows == imported + unchanged + updated + rejected."""

    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    updated: int = 0
    corrected: int = 0  # rows whose state the dates overruled (they are also counted above)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, line_no: int, msisdn: str, reason: str) -> None:
        """Count a rejected row and keep it for the report (the first MAX_KEPT_REJECTIONS)."""
        self.rejected += 1
        if len(self.rejections) < MAX_KEPT_REJECTIONS:
            self.rejections.append(Rejection(line_no, msisdn, reason))

    def add(self, batch: ImportSummary) -> None:
        """Add the outcome of one written batch (its rows were counted when read)."""
        self.imported += batch.imported
        self.unchanged += batch.unchanged
        self.updated += batch.updated
        self.corrected += batch.corrected
        for rejection in batch.rejections:
            self.reject(rejection.line_no, rejection.msisdn, rejection.reason)


def import_lines(
    uow_factory: Callable[[], UnitOfWork],
    source: str | Path | Iterable[Mapping[str, str | None]],
    *,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import lines from a CSV file (or rows as dicts, numbered from line 2); return the summary."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = clock.now()
    plans = _load_plans(uow_factory())
    if not plans:
        raise ValidationFailed(
            "The catalog is empty: load it first (`simrenew catalog load FILE`), since every "
            "line belongs to an operator's plan."
        )
    summary = ImportSummary()
    # The file is opened and its header checked on the first row asked for, before any write;
    # closing() shuts it even when a batch fails half-way.
    rows = read_csv(Path(source)) if isinstance(source, str | Path) else number_rows(source)
    reported = 0
    with closing(rows):
        for batch in _checked_batches(rows, plans, to_kuwait(now).date(), summary, batch_size):
            _write(uow_factory, batch, now, summary)
            if progress is not None:
                progress(reported := summary.rows)
    if progress is not None and summary.rows != reported:
        progress(summary.rows)  # rejected rows after the last batch
    return summary


def _checked_batches(
    rows: Iterable[NumberedRow], plans: Plans, today: date, summary: ImportSummary, size: int
) -> Iterator[list[ImportRow]]:
    """Valid rows in batches; invalid ones are counted as rejected in `summary` on the way."""
    checker = RowChecker(plans, today)
    batch: list[ImportRow] = []
    for line_no, raw in rows:
        summary.rows += 1
        try:
            batch.append(checker.check(line_no, raw))
        except RowError as error:
            summary.reject(line_no, shown_msisdn(raw.get("msisdn")), str(error))
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _load_plans(uow: UnitOfWork) -> dict[tuple[str, str], tuple[LifecyclePeriods, bool]]:
    with uow:
        return {
            (plan.operator_code, plan.code): (plan.periods(), plan.active)
            for plan in catalog_repository.list_plans(uow.session, active_only=False)
        }


# ---------------------------------------------------------------------------------------------
# Writing a batch


def _write(
    uow_factory: Callable[[], UnitOfWork],
    batch: list[ImportRow],
    now: datetime,
    summary: ImportSummary,
) -> None:
    """Write one batch in one transaction; on a conflict, row by row to isolate the culprit."""
    try:
        summary.add(retrying(partial(_write_batch, uow_factory, batch, now)))
    except IntegrityError:
        # A constraint the checks did not foresee (a concurrent writer, say): one transaction
        # per row, so only the conflicting rows are rejected.
        for row in batch:
            try:
                summary.add(retrying(partial(_write_batch, uow_factory, [row], now)))
            except IntegrityError:
                summary.reject(row.line_no, row.msisdn, "it conflicts with data already stored")


def _write_batch(
    uow_factory: Callable[[], UnitOfWork], batch: list[ImportRow], now: datetime
) -> ImportSummary:
    tally = ImportSummary()
    with uow_factory() as uow:
        session = uow.session
        msisdns = sorted(row.msisdn for row in batch)
        # Locked in MSISDN order: a renewal racing the import waits instead of being overwritten,
        # and two imports cannot deadlock each other.
        existing = {
            line.msisdn: line
            for line in session.scalars(
                select(Line).where(Line.msisdn.in_(msisdns)).order_by(Line.msisdn).with_for_update()
            )
        }
        iccids = [row.iccid for row in batch if row.iccid is not None]
        query = select(Line.iccid, Line.msisdn).where(Line.iccid.in_(iccids))
        iccid_owner = {iccid: msisdn for iccid, msisdn in session.execute(query).all()}
        customers = _customers(session, batch, existing.values())
        for row in batch:
            owner = iccid_owner.get(row.iccid) if row.iccid is not None else None
            if owner is not None and owner != row.msisdn:
                tally.reject(row.line_no, row.msisdn, f"iccid: already the ICCID of line {owner}")
                continue
            line = existing.get(row.msisdn)
            if line is None:
                stored = _add_line(session, row, customers, now)
                tally.imported += 1
            else:
                stored, changed = _update_line(session, line, row, customers, now)
                if changed:
                    tally.updated += 1
                else:
                    tally.unchanged += 1
            if stored is not row.state:
                tally.corrected += 1
        uow.commit()
    return tally


def _customers(
    session: Session, batch: list[ImportRow], lines: Iterable[Line]
) -> dict[tuple[str, str], Customer]:
    """The stored registrations the batch names or its lines hold, by (id_type, id_number)."""
    numbers = {row.registration.id_number for row in batch}
    holder_ids = {line.customer_id for line in lines if line.customer_id is not None}
    query = select(Customer).where(Customer.id_number.in_(numbers) | Customer.id.in_(holder_ids))
    return {(c.id_type, c.id_number): c for c in session.scalars(query)}


def _customer_for(
    session: Session, row: ImportRow, customers: dict[tuple[str, str], Customer], now: datetime
) -> tuple[Customer, bool]:
    """The row's registration, registered if new; True when its stored details changed."""
    reg = row.registration
    customer = customers.get((reg.id_type, reg.id_number))
    if customer is None:
        # The batch's registrations were all fetched up front, so this one is new. It is built
        # here rather than by find_or_register_customer, whose lookup and flush per row would
        # cost several round trips per line; a concurrent writer's duplicate still fails the
        # unique index and lands in _write's row-by-row retry.
        customer = new_customer(reg, now)
        session.add(customer)
        customers[(reg.id_type, reg.id_number)] = customer
        return customer, False
    if not row.governs_customer:
        return customer, False
    changed = False
    if customer.name != reg.name:
        customer.name, changed = reg.name, True
    if customer.language != reg.language:
        customer.language, changed = reg.language, True
    if reg.nationality is not None and customer.nationality != reg.nationality:
        customer.nationality, changed = reg.nationality, True
    return customer, changed


def _add_line(
    session: Session, row: ImportRow, customers: dict[tuple[str, str], Customer], now: datetime
) -> LineState:
    customer, _ = _customer_for(session, row, customers, now)
    state = row.stored_state(now)
    line = Line(
        msisdn=row.msisdn,
        iccid=row.iccid,
        operator_code=row.operator,
        plan_code=row.plan,
        customer_id=customer.id,
        state=state.value,
        state_since=row.state_since(state, now),
        valid_until=row.valid_until,
        balance_fils=0,
        paid_fils=0,
        bonus_fils=0,
        bonus_expires_at=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(line)
    details: dict[str, object] = {"line_no": row.line_no}
    if state is not row.state:
        details["file_state"] = row.state.value
    _add_history(session, row.msisdn, None, state, details, now)
    if row.balance_fils:
        post(
            session,
            line,
            bucket="paid",
            kind="opening_balance",
            amount_fils=row.balance_fils,
            now=now,
        )
    if state is LineState.RECYCLED:
        _forfeit(session, line, now)
    return state


def _update_line(
    session: Session,
    line: Line,
    row: ImportRow,
    customers: dict[tuple[str, str], Customer],
    now: datetime,
) -> tuple[LineState, bool]:
    """Bring a stored line to the row; return the state kept and whether anything changed."""
    changes: list[str] = []
    if (line.operator_code, line.plan_code) != (row.operator, row.plan):
        line.operator_code, line.plan_code = row.operator, row.plan
        changes.append("plan")
    customer, details_changed = _customer_for(session, row, customers, now)
    if details_changed or line.customer_id != customer.id:
        line.customer_id = customer.id
        changes.append("registration")
    if row.iccid is not None and line.iccid != row.iccid:
        line.iccid = row.iccid
        changes.append("iccid")
    if utc(line.valid_until) != row.valid_until:
        line.valid_until = row.valid_until
        changes.append("valid_until")
    before = LineState(line.state)
    state = row.stored_state(now, recycled_before=before is LineState.RECYCLED)
    if state is not before:
        line.state = state.value
        line.state_since = row.state_since(state, now)
        changes.append("state")
    # A line stored as recycled forfeited its balance then: the file's figure no longer applies.
    wanted = line.balance_fils if before is LineState.RECYCLED else row.balance_fils
    delta = wanted - line.balance_fils
    if delta > 0:
        post(session, line, bucket="paid", kind="import_adjustment", amount_fils=delta, now=now)
    elif delta < 0:
        _take(session, line, -delta, kind="import_adjustment", now=now)
    forfeited = _forfeit(session, line, now) if state is LineState.RECYCLED else 0
    if delta or forfeited:
        changes.append("balance_fils")
    if not changes:
        return state, False
    line.version += 1
    line.updated_at = now
    details: dict[str, object] = {"line_no": row.line_no, "changed": changes}
    if state is not row.state:
        details["file_state"] = row.state.value
    _add_history(session, line.msisdn, before, state, details, now)
    return state, True


def _forfeit(session: Session, line: Line, now: datetime) -> int:
    """A recycled line loses its whole balance (DESIGN.md, Line lifecycle); return how much."""
    forfeited = line.balance_fils
    _take(session, line, forfeited, kind="recycle_forfeit", now=now)
    if forfeited:
        line.bonus_expires_at = None
    return forfeited


def _take(session: Session, line: Line, fils: int, *, kind: str, now: datetime) -> None:
    """Take `fils` off the balance through ledger rows: paid first, then bonus."""
    from_paid = min(line.paid_fils, fils)
    for bucket, amount in (("paid", from_paid), ("bonus", fils - from_paid)):
        if amount:
            post(session, line, bucket=bucket, kind=kind, amount_fils=-amount, now=now)


def _add_history(
    session: Session,
    msisdn: str,
    from_state: LineState | None,
    to_state: LineState,
    details: dict[str, object],
    now: datetime,
) -> None:
    session.add(
        LineHistory(
            id=new_id(),
            msisdn=msisdn,
            at=now,
            event="import",
            from_state=None if from_state is None else from_state.value,
            to_state=to_state.value,
            renewal_id=None,
            details=details,
        )
    )
