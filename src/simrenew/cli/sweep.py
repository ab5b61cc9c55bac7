"""`simrenew sweep`: lifecycle transitions and reminders as of an instant; `simrenew pool`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simrenew.bootstrap import build_platform
from simrenew.cli.progress import progress_bar
from simrenew.clock import parse_instant
from simrenew.lines.pool import list_pool
from simrenew.lines.rules import LineState
from simrenew.lines.sweep import SweepSummary, count_due_lines, sweep_lifecycle
from simrenew.money import format_fils
from simrenew.notify.templates import kuwait_minute

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

_TRANSITIONS = (
    (LineState.ACTIVE, LineState.GRACE),
    (LineState.GRACE, LineState.SUSPENDED),
    (LineState.SUSPENDED, LineState.RECYCLED),
)


def sweep(
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Sweep as of this instant (ISO 8601; without an offset, Kuwait time). "
            "Default: now.",
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size", min=1, help="Lines per transaction (SIMRENEW_SWEEP_BATCH_SIZE)."
        ),
    ] = None,
) -> None:
    """Record every due lifecycle transition and queue due reminders, then print a summary."""
    platform = build_platform()
    try:
        instant = parse_instant(now) if now is not None else platform.clock.now()
        size = batch_size or platform.settings.sweep_batch_size
        with progress_bar("sweeping", err) as bar:
            # Counting costs a query: only when someone watches the bar.
            total = count_due_lines(platform, now=instant) if err.is_terminal else None
            task = bar.add_task("sweep", total=total)
            summary = sweep_lifecycle(
                platform,
                now=instant,
                batch_size=size,
                progress=lambda done: bar.update(task, completed=done),
            )
    finally:
        platform.close()
    print_summary(summary, instant)


def print_summary(summary: SweepSummary, instant: datetime) -> None:
    """Transitions by kind, reminders and notices queued, lines examined."""
    out.print(f"Lifecycle sweep as of {kuwait_minute(instant)} (Kuwait)")
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("lines examined", str(summary.lines_examined))
    for from_state, to_state in _TRANSITIONS:
        done = summary.transitions[(from_state.value, to_state.value)]
        table.add_row(f"{from_state.value} -> {to_state.value}", str(done))
    for days in sorted(summary.reminders, reverse=True):
        table.add_row(f"{days}-day reminders queued", str(summary.reminders[days]))
    if not summary.reminders:
        table.add_row("reminders queued", "0")
    table.add_row("recycle warnings queued", str(summary.notices["recycle_warning"]))
    table.add_row("SMS queued in all", str(summary.sms_queued))
    table.add_row("numbers put in the pool", str(summary.numbers_pooled))
    table.add_row("balance forfeited", format_fils(summary.forfeited_fils))
    out.print(table)
    if summary.sms_held_until is not None:
        out.print(
            f"Quiet hours: the SMS wait until {kuwait_minute(summary.sms_held_until)} (Kuwait) "
            "before they are sent."
        )


def pool(
    available: Annotated[
        bool, typer.Option("--available", help="Only numbers whose quarantine is over.")
    ] = False,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only this operator's numbers (its code).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Numbers shown at most.")] = 1000,
) -> None:
    """List recycled numbers in the pool, with when they become available (Kuwait time)."""
    platform = build_platform()
    try:
        now = platform.clock.now()
        listing = list_pool(
            platform.uow(), now=now, available_only=available, operator=operator, limit=limit
        )
    finally:
        platform.close()
    if not listing.total:
        out.print("No numbers available in the pool." if available else "The pool is empty.")
        return
    table = Table(title="Number pool (Kuwait time)")
    table.add_column("msisdn", no_wrap=True)
    table.add_column("operator")
    table.add_column("recycled at", no_wrap=True)
    table.add_column("available from", no_wrap=True)
    table.add_column("status")
    for entry in listing.entries:
        table.add_row(
            entry.msisdn,
            entry.operator_code,
            kuwait_minute(entry.recycled_at),
            kuwait_minute(entry.available_at),
            "available" if entry.available else "quarantine",
        )
    out.print(table)
    shown = len(listing.entries)
    if shown < listing.total:
        out.print(f"Showing {shown} of {listing.total} numbers; --limit shows more.")
    else:
        out.print(f"{listing.total} numbers.")
