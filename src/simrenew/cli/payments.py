"""`simrenew reconcile`, `simrenew settlement` and `simrenew payments refund|show`."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from simrenew.bootstrap import build_platform
from simrenew.clock import to_kuwait
from simrenew.errors import ValidationFailed
from simrenew.payments.reconciliation import (
    SettlementRow,
    finish_refund,
    reconcile_payments,
    request_refund,
    settlement_report,
)
from simrenew.payments.views import get_payment
from simrenew.staff.rules import Caller

out = Console(highlight=False)
app = typer.Typer(help="Look at a payment, refund a capture.", no_args_is_help=True)
# The person at the command line acts as the operator's care team.
_OPERATOR = Caller(kind="channel", channel="care", id="cli", name="command line")

SETTLEMENT_COLUMNS = (
    "day",
    "gateway",
    "method",
    "captures",
    "gross_fils",
    "fees_fils",
    "refunds",
    "refunded_fils",
    "net_fils",
)


def reconcile() -> None:
    """Settle payments left pending, credit uncredited captures, refund what cannot be credited."""
    platform = build_platform()
    try:
        summary = reconcile_payments(platform.uow(), platform.payments, clock=platform.clock)
    finally:
        platform.close()
    table = Table(title="Reconciliation")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in summary.as_rows():
        table.add_row(what, str(count))
    out.print(table)
    for ref in summary.flagged:
        out.print(f"flagged for refund: {ref}", markup=False)
    for ref in summary.credited_unpaid:
        out.print(f"credited without a capture: {ref}", markup=False)
    if summary.refunds_failed or summary.credited_unpaid:
        raise typer.Exit(1)  # money owed back that the gateway would not return: a person's job


def settlement(
    day: Annotated[
        str | None, typer.Option("--day", help="The Kuwait day, YYYY-MM-DD (default: today).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the CSV here (default: standard output).")
    ] = None,
) -> None:
    """The day's settlement per gateway and method as CSV: count, gross, fees, refunds."""
    platform = build_platform()
    try:
        try:
            wanted = date.fromisoformat(day) if day else to_kuwait(platform.clock.now()).date()
        except ValueError as error:
            raise ValidationFailed(f"--day: {day!r} is not a date like 2026-11-25.") from error
        rows = settlement_report(platform.uow(), wanted)
    finally:
        platform.close()
    if out_file is None:
        _write_csv(sys.stdout, rows)
        return
    with out_file.open("w", newline="", encoding="utf-8") as handle:
        _write_csv(handle, rows)
    out.print(f"{len(rows)} row(s) written to {out_file}", markup=False)


def _write_csv(handle: TextIO, rows: list[SettlementRow]) -> None:
    writer = csv.writer(handle)
    writer.writerow(SETTLEMENT_COLUMNS)
    for row in rows:
        writer.writerow(
            [row.day.isoformat(), row.gateway, row.method, row.captures, row.gross_fils,
             row.fees_fils, row.refunds, row.refunded_fils, row.net_fils]
        )  # fmt: skip


@app.command("show")
def show(payment_ref: Annotated[str, typer.Argument(help="The payment's reference.")]) -> None:
    """Print a payment and every event stored for it, as JSON."""
    platform = build_platform()
    try:
        payment = get_payment(platform.uow(), platform.payments, _OPERATOR, payment_ref)
    finally:
        platform.close()
    out.print_json(json.dumps(payment, ensure_ascii=False))


@app.command("refund")
def refund(
    payment_ref: Annotated[str, typer.Argument(help="The payment's reference.")],
    amount_fils: Annotated[int, typer.Option("--amount-fils", min=1, help="Fils to give back.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
) -> None:
    """Give back part or all of a capture that was not credited (asks the gateway now)."""
    platform = build_platform()
    try:
        asked = request_refund(
            platform.uow(), payment_ref, amount_fils=amount_fils, reason=reason,
            actor="cli", clock=platform.clock,
        )  # fmt: skip
        state = finish_refund(
            platform.uow(), platform.payments, asked.refund_ref, clock=platform.clock
        )
    finally:
        platform.close()
    out.print(f"refund {asked.refund_ref}: {state}", markup=False)
    if state != "done":
        raise typer.Exit(1)
