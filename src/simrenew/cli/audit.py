"""`simrenew audit`: prove every balance equals its ledger."""

from __future__ import annotations

import typer
from rich.console import Console

from simrenew.bootstrap import build_platform
from simrenew.renewals.audit import audit_ledger

out = Console(highlight=False, soft_wrap=True)

FOUND_PROBLEMS = 1


def audit() -> None:
    """Check every line's balance and every credited renewal against the ledger (exit 1 if not)."""
    platform = build_platform()
    try:
        report = audit_ledger(platform.uow())
    finally:
        platform.close()
    out.print(f"Lines checked: {report.lines_checked}")
    if report.ok:
        out.print("[green]Every balance equals its ledger.[/green]")
        return
    offenders = report.offenders()
    out.print(f"[bold red]{len(offenders)} problems found:[/bold red]")
    for offender in offenders:
        out.print(f"  {offender}", markup=False)
    raise typer.Exit(FOUND_PROBLEMS)
