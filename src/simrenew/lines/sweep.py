"""The lifecycle sweep: records every due expiry transition, queues reminders and notices.

Set-based and batched for millions of lines. Each batch is one transaction that locks, in
MSISDN order after the previous batch, only lines with something due at `now` (lines.due). On
PostgreSQL the batch is locked `FOR UPDATE SKIP LOCKED`: two sweepers share the work and never
handle one line twice; on SQLite the transaction holds the database's write lock. The batch's
rows go out as one statement per table (db.bulk).

Every transition writes one history row (event "expiry", at the instant it happened) and queues
one SMS (lines.notices); recycling forfeits the balance through the ledger and pools the number.
Lifecycle SMS go in the bulk lane, held until the quiet hours end, never dropped. Each message
carries a dedupe key, and the outbox keeps it unique: a re-run or a second sweeper cannot
queue it twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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
from simrenew.renewals.ledger import expire_bonus_if_due, post
from simrenew.settings import Settings

_LINES: Table = Line.__table__  # type: ignore[assignment]  # a mapped class has one table
_HISTORY: Table = LineHistory.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]

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


def sweep_lifecycle(
    platform_or_uow_factory: Platform | UowFactory,
    *,
    now: datetime,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    quiet_hours: str | None = None,
) -> SweepSummary:
    """Record every transition due at `now` and queue due reminders and notices, in batches."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    uow_factory, spec = _resolve(platform_or_uow_factory, quiet_hours)
    sweep = _prepare(uow_factory, utc(now), spec, batch_size)
    summary = SweepSummary()
    if not sweep.plans:
        return summary  # no catalog, so no lines either (every line names its plan)
    after = ""
    while True:
        batch, last = retrying(partial(_sweep_batch, uow_factory, sweep, after))
        summary.add(batch)
        if progress is not None:
            progress(summary.lines_examined)
        # Fewer rows than asked for: nothing due is left past `last` (rows another sweeper
        # holds were skipped: they are its to handle).
        if last is None or batch.lines_examined < batch_size:
            if summary.sms_queued and sweep.send_at > sweep.now:
                summary.sms_held_until = sweep.send_at
            return summary
        after = last


def count_due_lines(platform_or_uow_factory: Platform | UowFactory, *, now: datetime) -> int:
    """How many lines have something due at `now` (the total of the sweep's progress bar)."""
    uow_factory, _ = _resolve(platform_or_uow_factory, "")
    with uow_factory() as uow:
        return due.count_due(uow.session, current_catalog(uow.session).plans, now=utc(now))


def _resolve(target: Platform | UowFactory, quiet_hours: str | None) -> tuple[UowFactory, str]:
    if isinstance(target, Platform):
        spec = target.settings.quiet_hours if quiet_hours is None else quiet_hours
        return target.uow, spec
    if quiet_hours is None:
        quiet_hours = str(Settings.model_fields["quiet_hours"].default)
    return target, quiet_hours


def _prepare(uow_factory: UowFactory, now: datetime, spec: str, batch_size: int) -> _Sweep:
    """Check the quiet hours, then read the plans and operators once per sweep."""
    try:
        parse_quiet_hours(spec)
    except ValueError as error:
        raise ValidationFailed(f"SIMRENEW_QUIET_HOURS: {error}.") from None
    with uow_factory() as uow:
        catalog = current_catalog(uow.session)
    return _Sweep(now, quiet_hours_end(now, spec), catalog.plans, catalog.operators, batch_size)


@dataclass
class _Writes:
    """The rows one batch writes, sent as one statement per table."""

    history: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pooled: list[dict[str, Any]] = field(default_factory=list)
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
    uow_factory: UowFactory, sweep: _Sweep, after: str
) -> tuple[SweepSummary, str | None]:
    """Handle the next batch of due lines after `after`; return its counts and last MSISDN."""
    summary = SweepSummary(batches=1)
    with uow_factory() as uow:
        session = uow.session
        lines = due.lock_due_lines(
            session, sweep.plans, now=sweep.now, after=after, limit=sweep.batch_size
        )
        if not lines:
            return summary, None
        writes = _Writes()
        for line in lines:
            _sweep_line(session, sweep, line, writes, summary)
        _flush(session, writes, summary)
        uow.commit()
    summary.lines_examined = len(lines)
    return summary, lines[-1].msisdn


def _sweep_line(
    session: Session, sweep: _Sweep, line: DueLine, writes: _Writes, summary: SweepSummary
) -> None:
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
            summary.forfeited_fils += _forfeit(session, line, now)
            writes.pooled.append(pool.pool_row(msisdn, line.operator_code, since, plan.periods))
            summary.numbers_pooled += 1
        writes.lines.append(
            {
                "msisdn": msisdn,
                "state": line.state,
                "state_since": since,
                "paid_fils": line.paid_fils,
                "bonus_fils": line.bonus_fils,
                "balance_fils": line.paid_fils + line.bonus_fils,
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


def _forfeit(session: Session, due_line: DueLine, now: datetime) -> int:
    """Take a recycled line's whole balance through the ledger; return how much was forfeited."""
    # The ledger works on a Line; one is built only here, for the few lines with money.
    line = Line(
        msisdn=due_line.msisdn,
        paid_fils=due_line.paid_fils,
        bonus_fils=due_line.bonus_fils,
        balance_fils=due_line.paid_fils + due_line.bonus_fils,
        bonus_expires_at=due_line.bonus_expires_at,
    )
    expire_bonus_if_due(session, line, now)  # an expired bonus is written off as such first
    forfeited = line.balance_fils
    for bucket, amount in (("paid", line.paid_fils), ("bonus", line.bonus_fils)):
        if amount:
            post(session, line, bucket=bucket, kind="recycle_forfeit", amount_fils=-amount, now=now)
    due_line.paid_fils, due_line.bonus_fils, due_line.bonus_expires_at = 0, 0, None
    return forfeited


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
    if writes.pooled:
        pool.add_to_pool(connection, connection.dialect.name, writes.pooled)
    # Lines last: a version bump and the state in one UPDATE for the whole batch.
    update_rows(connection, _LINES, writes.lines, key="msisdn", increment="version")
