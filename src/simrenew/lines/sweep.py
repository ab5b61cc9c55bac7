"""The lifecycle sweep: records every due expiry transition, queues reminders and notices.

Set-based and batched for millions of lines. Each batch is one transaction that locks, in
MSISDN order after the previous batch, only lines with something due at `now` (lines.due). On
PostgreSQL the batch is locked `FOR UPDATE SKIP LOCKED`: two sweepers share the work and never
handle one line twice, and one sweep works on SIMRENEW_SWEEP_CONNECTIONS batches at once,
claimed one after another; on SQLite the transaction holds the database's write lock. The
batch's rows go out as one statement per table (db.bulk).

Every transition writes one history row (event "expiry", at the instant it happened) and queues
one SMS (lines.notices); recycling forfeits the balance through the ledger and pools the number.
Lifecycle SMS go in the bulk lane, held until the quiet hours end, never dropped. Each message
carries a dedupe key, and the outbox keeps it unique: a re-run or a second sweeper cannot
queue it twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from simrenew.bootstrap import Platform
from simrenew.catalog.snapshot import OperatorTerms, PlanTerms, current_catalog
from simrenew.clock import utc
from simrenew.db.bulk import insert_rows, update_rows
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import ValidationFailed
from simrenew.ids import new_id
from simrenew.lines import due, notices, pool
from simrenew.lines.due import DueLine
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.rules import LineState, transitions_between
from simrenew.notify.models import OutboxMessage
from simrenew.notify.rules import due_reminder, parse_quiet_hours, quiet_hours_end
from simrenew.renewals.ledger import forfeit_all
from simrenew.renewals.models import LedgerEntry
from simrenew.settings import Settings

_LINES: Table = Line.__table__  # type: ignore[assignment]  # a mapped class has one table
_HISTORY: Table = LineHistory.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
_LEDGER: Table = LedgerEntry.__table__  # type: ignore[assignment]

UowFactory = Callable[[], UnitOfWork]


@dataclass
class SweepSummary:
    """What a sweep did: transitions by (from, to), reminders by days, notices by template."""

    lines_examined: int = 0
    batches: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    reminders: Counter[int] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    numbers_pooled: int = 0
    forfeited_fils: int = 0
    sms_held_until: datetime | None = None  # set when quiet hours hold the SMS queued

    @property
    def sms_queued(self) -> int:
        """Every SMS queued: reminders and lifecycle notices."""
        return self.reminders.total() + self.notices.total()

    @property
    def changes(self) -> int:
        """Transitions recorded plus SMS queued (what the worker reports as done)."""
        return self.transitions.total() + self.sms_queued

    def add(self, other: SweepSummary) -> None:
        """Add one batch's counts."""
        self.lines_examined += other.lines_examined
        self.batches += other.batches
        self.transitions.update(other.transitions)
        self.reminders.update(other.reminders)
        self.notices.update(other.notices)
        self.numbers_pooled += other.numbers_pooled
        self.forfeited_fils += other.forfeited_fils


@dataclass(frozen=True)
class _Sweep:
    """What every batch of one sweep shares: the instant, the catalog, when bulk SMS may go."""

    now: datetime
    send_at: datetime
    plans: dict[tuple[str, str], PlanTerms]
    operators: dict[str, OperatorTerms]
    batch_size: int
    dialect: str


def sweep_lifecycle(
    platform_or_uow_factory: Platform | UowFactory,
    *,
    now: datetime,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    quiet_hours: str | None = None,
    connections: int | None = None,
) -> SweepSummary:
    """Record every transition due at `now` and queue due reminders and notices, in batches.

    On PostgreSQL `connections` batches are worked on at once, each in its own transaction
    (default: SIMRENEW_SWEEP_CONNECTIONS), so one batch's writes run in the database while the
    next batch's rules and messages are worked out in Python. SQLite has one writer: one.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    uow_factory, spec, wanted = _resolve(platform_or_uow_factory, quiet_hours, connections)
    sweep = _prepare(uow_factory, utc(now), spec, batch_size)
    summary = SweepSummary()
    if not sweep.plans:
        return summary  # no catalog, so no lines either (every line names its plan)
    claims = _Claims(progress=progress)
    workers = wanted if sweep.dialect == "postgresql" else 1
    if workers == 1:
        summary.add(_sweep_claims(uow_factory, sweep, claims))
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="sweep") as pool:
            runs = [pool.submit(_sweep_claims, uow_factory, sweep, claims) for _ in range(workers)]
            for run in runs:
                summary.add(run.result())
    if summary.sms_queued and sweep.send_at > sweep.now:
        summary.sms_held_until = sweep.send_at
    return summary


@dataclass
class _Claim:
    """Where one batch's claim started: a retried transaction claims from there again."""

    started: bool = False
    after: str = ""  # the MSISDN it started after


@dataclass
class _Claims:
    """Hands out batches in MSISDN order to the sweep's connections, one claim at a time."""

    progress: Callable[[int], None] | None
    after: str = ""  # the last MSISDN claimed so far
    done: bool = False  # a claim found fewer due lines than a batch: nothing is left
    examined: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, session: Session, sweep: _Sweep, claim: _Claim) -> list[DueLine]:
        """Lock the next batch of due lines (or, retrying a batch, those after its start)."""
        with self.lock:
            if not claim.started:
                if self.done:
                    return []
                claim.started, claim.after = True, self.after
            lines = due.lock_due_lines(
                session, sweep.plans, now=sweep.now, after=claim.after, limit=sweep.batch_size
            )
            # Fewer rows than asked for: nothing due is left past the last (rows another
            # sweeper holds were skipped: they are its to handle).
            if len(lines) < sweep.batch_size:
                self.done = True
            if lines and lines[-1].msisdn > self.after:
                self.after = lines[-1].msisdn
            return lines

    def handled(self, count: int) -> None:
        """Count a committed batch's lines and tell whoever watches the progress."""
        with self.lock:
            self.examined += count
            if self.progress is not None:
                self.progress(self.examined)


def _sweep_claims(uow_factory: UowFactory, sweep: _Sweep, claims: _Claims) -> SweepSummary:
    """Claim and handle batches on one connection until no due line is left."""
    summary = SweepSummary()
    while True:
        batch = retrying(partial(_sweep_batch, uow_factory, sweep, claims, _Claim()))
        if not batch.lines_examined:
            return summary
        summary.add(batch)
        claims.handled(batch.lines_examined)


def count_due_lines(platform_or_uow_factory: Platform | UowFactory, *, now: datetime) -> int:
    """How many lines have something due at `now` (the total of the sweep's progress bar)."""
    uow_factory, _, _ = _resolve(platform_or_uow_factory, "", 1)
    with uow_factory() as uow:
        return due.count_due(uow.session, current_catalog(uow.session).plans, now=utc(now))


def _resolve(
    target: Platform | UowFactory, quiet_hours: str | None, connections: int | None
) -> tuple[UowFactory, str, int]:
    """The unit-of-work factory, quiet hours and connections: given, else the settings'."""
    if isinstance(target, Platform):
        spec = target.settings.quiet_hours if quiet_hours is None else quiet_hours
        wanted = target.settings.sweep_connections if connections is None else connections
        return target.uow, spec, wanted
    if quiet_hours is None:
        quiet_hours = str(Settings.model_fields["quiet_hours"].default)
    return target, quiet_hours, 1 if connections is None else connections


def _prepare(uow_factory: UowFactory, now: datetime, spec: str, batch_size: int) -> _Sweep:
    """Check the quiet hours, then read the plans and operators once per sweep."""
    try:
        parse_quiet_hours(spec)
    except ValueError as error:
        raise ValidationFailed(f"SIMRENEW_QUIET_HOURS: {error}.") from None
    with uow_factory() as uow:
        catalog = current_catalog(uow.session)
        dialect = uow.session.get_bind().dialect.name
    send_at = quiet_hours_end(now, spec)
    return _Sweep(now, send_at, catalog.plans, catalog.operators, batch_size, dialect)


@dataclass
class _Writes:
    """The rows one batch writes, sent as one statement per table."""

    history: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pooled: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, tuple[str, int]] = field(default_factory=dict)  # by dedupe key

    def queue(self, sweep: _Sweep, line: DueLine, template: str, **kw: Any) -> None:
        """Add one bulk-lane SMS (`kw`: params, key, days) held until quiet hours end."""
        self.messages.append(
            notices.bulk_message(
                line.msisdn,
                template=template,
                language=line.language,
                params=kw["params"],
                key=kw["key"],
                now=sweep.now,
                send_at=sweep.send_at,
            )
        )
        self.kinds[kw["key"]] = (template, kw.get("days", 0))


def _sweep_batch(
    uow_factory: UowFactory, sweep: _Sweep, claims: _Claims, claim: _Claim
) -> SweepSummary:
    """Claim the next batch of due lines and handle it in one transaction; return its counts."""
    summary = SweepSummary(batches=1)
    with uow_factory() as uow:
        session = uow.session
        lines = claims.claim(session, sweep, claim)
        if not lines:
            return SweepSummary()
        writes = _Writes()
        for line in lines:
            _sweep_line(sweep, line, writes, summary)
        _flush(session, writes, summary)
        uow.commit()
    summary.lines_examined = len(lines)
    return summary


def _sweep_line(sweep: _Sweep, line: DueLine, writes: _Writes, summary: SweepSummary) -> None:
    """Work out everything due on one locked line and add it to the batch's writes."""
    now = sweep.now
    plan = sweep.plans[(line.operator_code, line.plan_code)]
    operator = sweep.operators[line.operator_code]
    msisdn, valid_until = line.msisdn, line.valid_until

    def params(template: str) -> dict[str, Any]:
        return notices.notice_params(
            template, msisdn, valid_until, plan.periods, operator, language=line.language, now=now
        )

    steps = transitions_between(valid_until, plan.periods, LineState(line.state), now)
    for from_state, to_state, at in steps:
        writes.history.append(
            {
                "id": new_id(),
                "msisdn": msisdn,
                "at": at,
                "event": "expiry",
                "from_state": from_state.value,
                "to_state": to_state.value,
                "details": {"recorded_by": "sweep"},
            }
        )
        summary.transitions[(from_state.value, to_state.value)] += 1
        template = notices.NOTICE_TEMPLATES[to_state]
        key = notices.lifecycle_key(msisdn, valid_until, to_state)
        writes.queue(sweep, line, template, params=params(template), key=key)
    if steps:
        _, state, since = steps[-1]
        line.state = state.value
        if state is LineState.RECYCLED:
            forfeits = forfeit_all(line, now)  # an expired bonus is written off as such first
            writes.ledger.extend(forfeits)
            summary.forfeited_fils -= sum(
                row["amount_fils"] for row in forfeits if row["kind"] == "recycle_forfeit"
            )
            writes.pooled.append(pool.pool_row(msisdn, line.operator_code, since, plan.periods))
            summary.numbers_pooled += 1
        writes.lines.append(
            {
                "msisdn": msisdn,
                "state": line.state,
                "state_since": since,
                "paid_fils": line.paid_fils,
                "bonus_fils": line.bonus_fils,
                "balance_fils": line.balance_fils,
                "bonus_expires_at": line.bonus_expires_at,
                "updated_at": now,
            }
        )
    state = LineState(line.state)
    days = due_reminder(valid_until, plan.reminder_days, now)
    if state is LineState.ACTIVE and days is not None:
        key = notices.reminder_key(msisdn, valid_until, days)
        writes.queue(sweep, line, "reminder", params=params("reminder"), key=key, days=days)
    if state is LineState.SUSPENDED and notices.warning_due(valid_until, plan.periods, now):
        key = notices.warning_key(msisdn, valid_until)
        writes.queue(sweep, line, "recycle_warning", params=params("recycle_warning"), key=key)


def _flush(session: Session, writes: _Writes, summary: SweepSummary) -> None:
    """Send the batch's rows: one statement per table."""
    connection = session.connection()
    insert_rows(connection, _HISTORY, writes.history)
    # The unique dedupe key has the last word: a message another sweeper queued after this
    # batch's snapshot is skipped, not an error that would undo the whole batch.
    queued = insert_rows(
        connection, _OUTBOX, writes.messages, skip_duplicate="dedupe_key", returning="dedupe_key"
    )
    for key in queued:
        template, days = writes.kinds[key]
        if template == "reminder":
            summary.reminders[days] += 1
        else:
            summary.notices[template] += 1
    insert_rows(connection, _LEDGER, writes.ledger)
    if writes.pooled:
        pool.add_to_pool(connection, writes.pooled)
    # Lines last: a version bump and the state in one UPDATE for the whole batch.
    update_rows(connection, _LINES, writes.lines, key="msisdn", increment="version")
