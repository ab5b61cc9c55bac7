"""Bulk import of lines from the old system's CSV export (`simrenew lines import FILE.csv`).

Every row is checked on its own; a bad row is reported with its line number and never stops the
import. Rows are written in batches, one transaction each, so files of millions of lines work.

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
- an empty optional value (`iccid`, `nationality`) means "not given": what is stored is kept.
- a registration (civil ID or passport) named by several rows takes its name, language and
  nationality from the first of them; later rows only link their line to it. Otherwise rows that
  disagree would rewrite each other on every import and re-importing would never be a no-op.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from babel.core import get_global
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simrenew.catalog import repository as catalog_repository
from simrenew.clock import Clock, parse_instant, to_kuwait, utc
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import SimrenewError, ValidationFailed
from simrenew.ids import new_id
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.lines.rules import (
    LifecyclePeriods,
    LineState,
    mask_identity,
    next_transition_at,
    normalize_msisdn,
    state_at,
    validate_identity,
)
from simrenew.lines.service import Registration, periods_of
from simrenew.money import MAX_FILS
from simrenew.renewals.ledger import post

if TYPE_CHECKING:
    from _csv import Reader as CsvReader  # what csv.reader() returns (typeshed's name)

REQUIRED_COLUMNS = ("msisdn", "operator", "plan", "state", "balance_fils", "valid_until",
                    "id_type", "id_number", "name", "language")  # fmt: skip
OPTIONAL_COLUMNS = ("iccid", "nationality")
LANGUAGES = ("en", "ar", "zh")
BATCH_SIZE = 1000
# The report keeps the first rejections only: a broken export of millions of rows must not
# exhaust memory; the count is always complete.
MAX_KEPT_REJECTIONS = 1000

_DIGITS = re.compile(r"[0-9]+")
_ICCID = re.compile(r"[0-9]{18,22}")
_ALPHA3 = re.compile(r"[A-Z]{3}")
_MAX_NAME = 200
_PROBLEM = "\x00problem"  # a key no header can hold: the reader's objection to a row
# ISO 3166 alpha-3 codes as CLDR knows them (each maps to its alpha-2 territory).
_ALPHA3_CODES = frozenset(
    code for code in get_global("territory_aliases") if _ALPHA3.fullmatch(code)
)


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


@dataclass(frozen=True)
class _Row:
    """One valid row, normalised."""

    line_no: int
    msisdn: str
    operator: str
    plan: str
    state: LineState  # as the file recorded it
    balance_fils: int
    valid_until: datetime
    registration: Registration
    iccid: str | None
    governs_customer: bool  # the first row naming this identity in the file


class _RowError(Exception):
    """A row is not valid; the message is safe to show (no identity numbers)."""


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
    rows = _read_csv(Path(source)) if isinstance(source, str | Path) else _number(source)
    reported = 0
    with closing(rows):
        for batch in _checked_batches(rows, plans, to_kuwait(now).date(), summary, batch_size):
            _write(uow_factory, batch, plans, now, summary)
            if progress is not None:
                progress(reported := summary.rows)
    if progress is not None and summary.rows != reported:
        progress(summary.rows)  # rejected rows after the last batch
    return summary


def _checked_batches(
    rows: Iterable[tuple[int, dict[str, str | None]]],
    plans: Mapping[tuple[str, str], tuple[LifecyclePeriods, bool]],
    today: date,
    summary: ImportSummary,
    batch_size: int,
) -> Iterator[list[_Row]]:
    """Valid rows in batches; invalid ones are counted as rejected in `summary` on the way."""
    seen_msisdns: dict[str, int] = {}
    seen_iccids: dict[str, int] = {}
    seen_identities: set[tuple[str, str]] = set()
    batch: list[_Row] = []
    for line_no, raw in rows:
        summary.rows += 1
        try:
            row = _parse(raw, line_no, plans, today, seen_identities)
            if (first := seen_msisdns.get(row.msisdn)) is not None:
                raise _RowError(f"msisdn: {row.msisdn} already appears on line {first}")
            if row.iccid is not None and (first := seen_iccids.get(row.iccid)) is not None:
                raise _RowError(f"iccid: the same ICCID already appears on line {first}")
        except _RowError as error:
            summary.reject(line_no, _shown_msisdn(raw.get("msisdn")), str(error))
            continue
        seen_msisdns[row.msisdn] = line_no
        if row.iccid is not None:
            seen_iccids[row.iccid] = line_no
        seen_identities.add((row.registration.id_type, row.registration.id_number))
        batch.append(row)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# Reading


def _read_csv(path: Path) -> Generator[tuple[int, dict[str, str | None]], None, None]:
    """Rows of a CSV file with their line numbers; an unreadable file or header fails first."""
    try:
        # Bad bytes become U+FFFD and reject their row instead of stopping the whole import;
        # utf-8-sig drops the byte order mark spreadsheets write.
        handle = path.open(newline="", encoding="utf-8-sig", errors="replace")
    except OSError as error:
        raise ValidationFailed(f"{path}: cannot read the file: {error.strerror or error}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as error:
            raise ValidationFailed(f"{path}:1: the header cannot be read: {error}") from None
        columns = _check_header(path, header)
        yield from _rows(path, reader, columns)


def _check_header(path: Path, header: list[str] | None) -> list[str]:
    if not header:
        raise ValidationFailed(f"{path}:1: the file is empty: a header row is needed")
    columns = [name.strip().lower() for name in header]
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise ValidationFailed(f"{path}:1: the header repeats columns: {', '.join(duplicates)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValidationFailed(
            f"{path}:1: the header lacks required columns: {', '.join(missing)} "
            f"(needed: {','.join(REQUIRED_COLUMNS)})"
        )
    return columns


def _rows(
    path: Path, reader: CsvReader, columns: list[str]
) -> Iterator[tuple[int, dict[str, str | None]]]:
    msisdn_at = columns.index("msisdn")
    while True:
        # A row is reported at its first line (a quoted value may span several).
        line_no = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The csv module cannot resynchronise after a malformed record: stop here. The
            # batches before it are committed, and importing the fixed file again is safe.
            raise ValidationFailed(
                f"{path}:{line_no}: the file cannot be read further: {error}"
            ) from None
        if not any(value.strip() for value in values):
            continue  # blank lines are not rows
        if len(values) != len(columns):
            problem = f"the row has {len(values)} values but the header has {len(columns)}"
            msisdn = values[msisdn_at] if msisdn_at < len(values) else None
            yield line_no, {"msisdn": msisdn, _PROBLEM: problem}
            continue
        yield line_no, dict(zip(columns, values, strict=True))


def _number(
    rows: Iterable[Mapping[str, str | None]],
) -> Generator[tuple[int, dict[str, str | None]], None, None]:
    """Rows given as dicts are numbered as in a file with a header: the first is line 2."""
    for index, row in enumerate(rows):
        yield index + 2, dict(row)


def _load_plans(uow: UnitOfWork) -> dict[tuple[str, str], tuple[LifecyclePeriods, bool]]:
    with uow:
        return {
            (plan.operator_code, plan.code): (periods_of(plan), plan.active)
            for plan in catalog_repository.list_plans(uow.session, active_only=False)
        }


# ---------------------------------------------------------------------------------------------
# Checking one row


def _shown_msisdn(text: str | None) -> str:
    """The MSISDN as the report shows it: normalised, or masked when it is not a number at all."""
    if not text:
        return ""
    try:
        return normalize_msisdn(text)
    except SimrenewError:
        # Whatever sits in a broken msisdn column (a civil ID pasted in the wrong place, say)
        # must not leak into the report.
        return mask_identity(text.strip()[:40])


def _field(raw: Mapping[str, str | None], name: str) -> str:
    value = raw.get(name)
    if value is None:
        raise _RowError(f"{name}: the value is missing")
    if "\ufffd" in value:
        raise _RowError(f"{name}: the value is not valid UTF-8 text")
    return value.strip()


def _optional(raw: Mapping[str, str | None], name: str) -> str | None:
    value = raw.get(name)
    if value is None or not value.strip():
        return None
    return _field(raw, name)


def _reason(error: SimrenewError) -> str:
    return error.detail or error.title()


def _parse(
    raw: Mapping[str, str | None],
    line_no: int,
    plans: Mapping[tuple[str, str], tuple[LifecyclePeriods, bool]],
    today: date,
    seen_identities: set[tuple[str, str]],
) -> _Row:
    if (problem := raw.get(_PROBLEM)) is not None:
        raise _RowError(problem)
    try:
        msisdn = normalize_msisdn(_field(raw, "msisdn"))
    except SimrenewError as error:
        raise _RowError(f"msisdn: {_reason(error)}") from None
    operator = _field(raw, "operator").lower()
    plan = _field(raw, "plan").lower()
    if not any(op == operator for op, _ in plans):
        raise _RowError(f"operator: {operator!r} is not in the catalog")
    found = plans.get((operator, plan))
    if found is None:
        raise _RowError(f"plan: {plan!r} is not a plan of {operator} in the catalog")
    if not found[1]:
        raise _RowError(f"plan: {operator}/{plan} is retired from the catalog")
    state_text = _field(raw, "state").lower()
    if state_text not in {state.value for state in LineState}:
        raise _RowError(f"state: {state_text!r} is not one of active, grace, suspended, recycled")
    balance_text = _field(raw, "balance_fils")
    if not (balance_text.isascii() and _DIGITS.fullmatch(balance_text)):
        raise _RowError("balance_fils: the balance is a whole non-negative number of fils")
    balance = int(balance_text)
    if balance > MAX_FILS:
        raise _RowError(f"balance_fils: {balance} is more than {MAX_FILS}")
    try:
        valid_until = parse_instant(_field(raw, "valid_until"))
    except SimrenewError as error:
        raise _RowError(f"valid_until: {_reason(error)}") from None
    id_number_text = _field(raw, "id_number")
    try:
        id_type, id_number = validate_identity(_field(raw, "id_type"), id_number_text, today=today)
    except SimrenewError as error:
        masked = mask_identity(id_number_text[:40])
        raise _RowError(f"id_number: {_reason(error)} ({masked})") from None
    name = _field(raw, "name")
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise _RowError(f"name: give 1 to {_MAX_NAME} printable characters")
    language = _field(raw, "language").lower()
    if language not in LANGUAGES:
        raise _RowError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    iccid = _optional(raw, "iccid")
    if iccid is not None and not (iccid.isascii() and _ICCID.fullmatch(iccid)):
        raise _RowError("iccid: an ICCID has 18 to 22 digits")
    nationality = _optional(raw, "nationality")
    if nationality is not None:
        nationality = nationality.upper()
        if not (nationality.isascii() and nationality in _ALPHA3_CODES):
            raise _RowError(f"nationality: {nationality!r} is not an ISO 3166 alpha-3 code")
    return _Row(
        line_no=line_no,
        msisdn=msisdn,
        operator=operator,
        plan=plan,
        state=LineState(state_text),
        balance_fils=balance,
        valid_until=valid_until,
        registration=Registration(
            id_type=id_type,
            id_number=id_number,
            name=name,
            nationality=nationality,
            language=language,
        ),
        iccid=iccid,
        governs_customer=(id_type, id_number) not in seen_identities,
    )


# ---------------------------------------------------------------------------------------------
# Writing a batch


def _write(
    uow_factory: Callable[[], UnitOfWork],
    batch: list[_Row],
    plans: Mapping[tuple[str, str], tuple[LifecyclePeriods, bool]],
    now: datetime,
    summary: ImportSummary,
) -> None:
    """Write one batch in one transaction; on a conflict, row by row to isolate the culprit."""
    try:
        summary.add(retrying(partial(_write_batch, uow_factory, batch, plans, now)))
    except IntegrityError:
        # A constraint the checks did not foresee (a concurrent writer, say): one transaction
        # per row, so only the conflicting rows are rejected.
        for row in batch:
            try:
                summary.add(retrying(partial(_write_batch, uow_factory, [row], plans, now)))
            except IntegrityError:
                summary.reject(row.line_no, row.msisdn, "it conflicts with data already stored")


def _write_batch(
    uow_factory: Callable[[], UnitOfWork],
    batch: list[_Row],
    plans: Mapping[tuple[str, str], tuple[LifecyclePeriods, bool]],
    now: datetime,
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
            periods = plans[(row.operator, row.plan)][0]
            line = existing.get(row.msisdn)
            if line is None:
                stored = _add_line(session, row, periods, customers, now)
                tally.imported += 1
            else:
                stored, changed = _update_line(session, line, row, periods, customers, now)
                if changed:
                    tally.updated += 1
                else:
                    tally.unchanged += 1
            if stored is not row.state:
                tally.corrected += 1
        uow.commit()
    return tally


def _customers(
    session: Session, batch: list[_Row], lines: Iterable[Line]
) -> dict[tuple[str, str], Customer]:
    """The stored registrations the batch names or its lines hold, by (id_type, id_number)."""
    numbers = {row.registration.id_number for row in batch}
    holder_ids = {line.customer_id for line in lines if line.customer_id is not None}
    query = select(Customer).where(Customer.id_number.in_(numbers) | Customer.id.in_(holder_ids))
    return {(c.id_type, c.id_number): c for c in session.scalars(query)}


def _customer_for(
    session: Session, row: _Row, customers: dict[tuple[str, str], Customer], now: datetime
) -> tuple[Customer, bool]:
    """The row's registration, registered if new; True when its stored details changed."""
    reg = row.registration
    customer = customers.get((reg.id_type, reg.id_number))
    if customer is None:
        # The batch's registrations were all fetched up front, so this one is new. It is built
        # here rather than by find_or_register_customer, whose lookup and flush per row would
        # cost several round trips per line; a concurrent writer's duplicate still fails the
        # unique index and lands in _write's row-by-row retry.
        customer = Customer(
            id=new_id(),
            id_type=reg.id_type,
            id_number=reg.id_number,
            name=reg.name,
            nationality=reg.nationality,
            language=reg.language,
            created_at=now,
        )
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


def _stored_state(
    row: _Row, periods: LifecyclePeriods, now: datetime, *, keep_recycled: bool = False
) -> LineState:
    recycled = row.state is LineState.RECYCLED or keep_recycled
    return state_at(
        row.valid_until, periods, now, recorded=LineState.RECYCLED if recycled else None
    )


def _state_since(
    state: LineState, valid_until: datetime, periods: LifecyclePeriods, now: datetime
) -> datetime:
    """When the state began, as far as the dates tell (the import instant otherwise)."""
    previous = {
        LineState.GRACE: LineState.ACTIVE,
        LineState.SUSPENDED: LineState.GRACE,
        LineState.RECYCLED: LineState.SUSPENDED,
    }.get(state)
    if previous is None:
        return now
    began = next_transition_at(valid_until, periods, previous)
    return began if began is not None and began <= now else now


def _add_line(
    session: Session,
    row: _Row,
    periods: LifecyclePeriods,
    customers: dict[tuple[str, str], Customer],
    now: datetime,
) -> LineState:
    customer, _ = _customer_for(session, row, customers, now)
    state = _stored_state(row, periods, now)
    line = Line(
        msisdn=row.msisdn,
        iccid=row.iccid,
        operator_code=row.operator,
        plan_code=row.plan,
        customer_id=customer.id,
        state=state.value,
        state_since=_state_since(state, row.valid_until, periods, now),
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
    return state


def _update_line(
    session: Session,
    line: Line,
    row: _Row,
    periods: LifecyclePeriods,
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
    state = _stored_state(row, periods, now, keep_recycled=before is LineState.RECYCLED)
    if state is not before:
        line.state = state.value
        line.state_since = _state_since(state, row.valid_until, periods, now)
        changes.append("state")
    if (delta := row.balance_fils - line.balance_fils) != 0:
        _adjust_balance(session, line, delta, now)
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


def _adjust_balance(session: Session, line: Line, delta: int, now: datetime) -> None:
    """Bring the balance to the file's figure through ledger rows: paid first, then bonus."""
    if delta > 0:
        post(session, line, bucket="paid", kind="import_adjustment", amount_fils=delta, now=now)
        return
    from_paid = min(line.paid_fils, -delta)
    if from_paid:
        post(
            session, line, bucket="paid", kind="import_adjustment", amount_fils=-from_paid, now=now
        )
    if (from_bonus := -delta - from_paid) > 0:
        post(
            session,
            line,
            bucket="bonus",
            kind="import_adjustment",
            amount_fils=-from_bonus,
            now=now,
        )


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
