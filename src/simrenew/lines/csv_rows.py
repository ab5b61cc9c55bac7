"""Reading an import CSV into validated rows; no database writes.

`read_csv` opens the file, checks its header and yields each row with the line of the file it
starts on (a blank line is not a row; a row the reader cannot split carries its objection).
`RowChecker` checks each row on its own against the catalog and against the rows before it (an
MSISDN or ICCID given twice), and normalises it into an `ImportRow`; a bad row raises `RowError`
with a reason safe to show (identity numbers masked), so the import reports it with its line
number and goes on. An `ImportRow` also knows the state it is stored in: the dates and its plan
decide, and a recorded `recycled` stays recycled. Writing the rows is `csv_import`'s work.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from babel.core import get_global

from simrenew.clock import parse_instant
from simrenew.errors import SimrenewError, ValidationFailed
from simrenew.lines.rules import (
    LifecyclePeriods,
    LineState,
    mask_identity,
    next_transition_at,
    normalize_msisdn,
    state_at,
    validate_identity,
)
from simrenew.lines.service import Registration
from simrenew.money import MAX_FILS

if TYPE_CHECKING:
    from _csv import Reader as CsvReader  # what csv.reader() returns (typeshed's name)

REQUIRED_COLUMNS = ("msisdn", "operator", "plan", "state", "balance_fils", "valid_until",
                    "id_type", "id_number", "name", "language")  # fmt: skip
OPTIONAL_COLUMNS = ("iccid", "nationality")
LANGUAGES = ("en", "ar", "zh")

# (operator, plan) -> (its lifecycle periods, whether it is still sold)
Plans: TypeAlias = Mapping[tuple[str, str], tuple[LifecyclePeriods, bool]]
# A row as read, with the line of the file it starts on.
NumberedRow: TypeAlias = tuple[int, dict[str, str | None]]

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
class ImportRow:
    """One valid row, normalised."""

    line_no: int
    msisdn: str
    operator: str
    plan: str
    periods: LifecyclePeriods  # of its plan
    state: LineState  # as the file recorded it
    balance_fils: int
    valid_until: datetime
    registration: Registration
    iccid: str | None
    governs_customer: bool  # the first row naming this identity in the file

    def stored_state(self, now: datetime, *, recycled_before: bool = False) -> LineState:
        """The state to store: what the dates give at `now`, but recycled stays recycled."""
        recycled = self.state is LineState.RECYCLED or recycled_before
        return state_at(
            self.valid_until, self.periods, now, recorded=LineState.RECYCLED if recycled else None
        )

    def state_since(self, state: LineState, now: datetime) -> datetime:
        """When `state` began, as far as the dates tell (`now` otherwise)."""
        previous = {
            LineState.GRACE: LineState.ACTIVE,
            LineState.SUSPENDED: LineState.GRACE,
            LineState.RECYCLED: LineState.SUSPENDED,
        }.get(state)
        if previous is None:
            return now
        began = next_transition_at(self.valid_until, self.periods, previous)
        return began if began is not None and began <= now else now


class RowError(Exception):
    """A row is not valid; the message is safe to show (no identity numbers)."""


# ---------------------------------------------------------------------------------------------
# Reading


def read_csv(path: Path) -> Generator[NumberedRow, None, None]:
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


def _rows(path: Path, reader: CsvReader, columns: list[str]) -> Iterator[NumberedRow]:
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


def number_rows(rows: Iterable[Mapping[str, str | None]]) -> Generator[NumberedRow, None, None]:
    """Rows given as dicts are numbered as in a file with a header: the first is line 2."""
    for index, row in enumerate(rows):
        yield index + 2, dict(row)


# ---------------------------------------------------------------------------------------------
# Checking rows


class RowChecker:
    """Checks the rows of one file in order: each on its own, then against the rows before it."""

    def __init__(self, plans: Plans, today: date) -> None:
        self._plans = plans
        self._today = today
        self._msisdns: dict[str, int] = {}  # -> the line it first appeared on
        self._iccids: dict[str, int] = {}
        self._identities: set[tuple[str, str]] = set()

    def check(self, line_no: int, raw: Mapping[str, str | None]) -> ImportRow:
        """The row, normalised; RowError (safe to show) when it is not valid."""
        row = _parse(raw, line_no, self._plans, self._today, self._identities)
        if (first := self._msisdns.get(row.msisdn)) is not None:
            raise RowError(f"msisdn: {row.msisdn} already appears on line {first}")
        if row.iccid is not None and (first := self._iccids.get(row.iccid)) is not None:
            raise RowError(f"iccid: the same ICCID already appears on line {first}")
        self._msisdns[row.msisdn] = line_no
        if row.iccid is not None:
            self._iccids[row.iccid] = line_no
        self._identities.add((row.registration.id_type, row.registration.id_number))
        return row


def shown_msisdn(text: str | None) -> str:
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
        raise RowError(f"{name}: the value is missing")
    if "\ufffd" in value:
        raise RowError(f"{name}: the value is not valid UTF-8 text")
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
    plans: Plans,
    today: date,
    seen_identities: set[tuple[str, str]],
) -> ImportRow:
    if (problem := raw.get(_PROBLEM)) is not None:
        raise RowError(problem)
    try:
        msisdn = normalize_msisdn(_field(raw, "msisdn"))
    except SimrenewError as error:
        raise RowError(f"msisdn: {_reason(error)}") from None
    operator = _field(raw, "operator").lower()
    plan = _field(raw, "plan").lower()
    if not any(op == operator for op, _ in plans):
        raise RowError(f"operator: {operator!r} is not in the catalog")
    found = plans.get((operator, plan))
    if found is None:
        raise RowError(f"plan: {plan!r} is not a plan of {operator} in the catalog")
    if not found[1]:
        raise RowError(f"plan: {operator}/{plan} is retired from the catalog")
    state_text = _field(raw, "state").lower()
    if state_text not in {state.value for state in LineState}:
        raise RowError(f"state: {state_text!r} is not one of active, grace, suspended, recycled")
    balance_text = _field(raw, "balance_fils")
    if not (balance_text.isascii() and _DIGITS.fullmatch(balance_text)):
        raise RowError("balance_fils: the balance is a whole non-negative number of fils")
    balance = int(balance_text)
    if balance > MAX_FILS:
        raise RowError(f"balance_fils: {balance} is more than {MAX_FILS}")
    try:
        valid_until = parse_instant(_field(raw, "valid_until"))
    except SimrenewError as error:
        raise RowError(f"valid_until: {_reason(error)}") from None
    id_number_text = _field(raw, "id_number")
    try:
        id_type, id_number = validate_identity(_field(raw, "id_type"), id_number_text, today=today)
    except SimrenewError as error:
        masked = mask_identity(id_number_text[:40])
        raise RowError(f"id_number: {_reason(error)} ({masked})") from None
    name = _field(raw, "name")
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise RowError(f"name: give 1 to {_MAX_NAME} printable characters")
    language = _field(raw, "language").lower()
    if language not in LANGUAGES:
        raise RowError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    iccid = _optional(raw, "iccid")
    if iccid is not None and not (iccid.isascii() and _ICCID.fullmatch(iccid)):
        raise RowError("iccid: an ICCID has 18 to 22 digits")
    nationality = _optional(raw, "nationality")
    if nationality is not None:
        nationality = nationality.upper()
        if not (nationality.isascii() and nationality in _ALPHA3_CODES):
            raise RowError(f"nationality: {nationality!r} is not an ISO 3166 alpha-3 code")
    return ImportRow(
        line_no=line_no,
        msisdn=msisdn,
        operator=operator,
        plan=plan,
        periods=found[0],
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
