"""`simrenew outbox` (counts, oldest wait, dead letters) and `simrenew outbox retry-dead`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simrenew.bootstrap import build_platform
from simrenew.errors import ValidationFailed
from simrenew.notify.reports import OutboxReport, outbox_report
from simrenew.notify.service import LANES, retry_dead
from simrenew.notify.templates import kuwait_minute

app = typer.Typer(help="The SMS outbox: what waits, what was sent, what died.")
out = Console(highlight=False, soft_wrap=True)

STATES = ("pending", "sending", "sent", "dead")


@app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    dead_limit: Annotated[
        int, typer.Option("--dead", min=0, help="How many dead letters to list.")
    ] = 20,
) -> None:
    """Counts by state and lane, the oldest due message's wait, and the dead letters."""
    if ctx.invoked_subcommand is not None:
        return
    platform = build_platform()
    try:
        report = outbox_report(platform.uow(), clock=platform.clock, dead_limit=dead_limit)
    finally:
        platform.close()
    print_report(report)


def print_report(report: OutboxReport) -> None:
    """The report as a table, then the oldest wait, then the dead letters with their errors."""
    table = Table(title="SMS outbox")
    table.add_column("state")
    for lane in LANES:
        table.add_column(lane, justify="right")
    table.add_column("total", justify="right")
    states = [*STATES, *sorted({s for s, _ in report.counts} - set(STATES))]
    for state in states:
        counts = [report.counts.get((state, lane), 0) for lane in LANES]
        table.add_row(state, *(str(c) for c in counts), str(sum(counts)))
    out.print(table)
    if report.oldest_due_seconds is None:
        out.print("Nothing due waits to be sent.")
    else:
        out.print(f"The oldest due message has waited {_age(report.oldest_due_seconds)}.")
    if report.held:
        out.print(f"{report.held} pending message(s) held for later (quiet hours, retry backoff).")
    dead_total = sum(c for (state, _), c in report.counts.items() if state == "dead")
    if not dead_total:
        return
    out.print(f"\nDead letters ({dead_total}; `simrenew outbox retry-dead` sends them again):")
    for letter in report.dead:
        queued = kuwait_minute(letter["created_at"])
        out.print(
            f"  {letter['id']}  {letter['recipient']}  {letter['template']} ({letter['lane']})  "
            f"queued {queued}, {letter['attempts']} attempts: {letter['last_error']}",
            markup=False,
        )
    if dead_total > len(report.dead):
        out.print(f"  ... and {dead_total - len(report.dead)} more (--dead N lists more).")


def _age(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


@app.command("retry-dead")
def retry_dead_letters(
    ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Dead letters to send again.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Put dead letters back in line (their attempts start over); prints how many."""
    if bool(ids) == all_:
        raise ValidationFailed("give the ids of dead letters, or --all (not both)")
    platform = build_platform()
    try:
        count = retry_dead(platform.uow(), None if all_ else ids, clock=platform.clock)
    finally:
        platform.close()
    out.print(f"{count} dead letter(s) queued again.")
