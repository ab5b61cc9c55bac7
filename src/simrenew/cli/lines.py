"""`simrenew lines import FILE.csv`: bring lines over from the old system."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simrenew.bootstrap import build_platform
from simrenew.cli.progress import progress_bar
from simrenew.lines.csv_import import BATCH_SIZE, REQUIRED_COLUMNS, ImportSummary, import_lines

app = typer.Typer(help="The line registry.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help=f"CSV with a header holding at least: {','.join(REQUIRED_COLUMNS)} "
            "(optional: iccid, nationality)."
        ),
    ],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows written per transaction.")
    ] = BATCH_SIZE,
) -> None:
    """Import lines; bad rows are reported with their line numbers and the rest is imported."""
    total = _count_rows(file)
    platform = build_platform()
    try:
        with progress_bar("importing", err) as bar:
            task = bar.add_task("import", total=total)
            summary = import_lines(
                platform.uow,
                file,
                clock=platform.clock,
                progress=lambda done: bar.update(task, completed=done),
                batch_size=batch_size,
            )
    finally:
        platform.close()
    print_summary(summary)


def _count_rows(file: Path) -> int | None:
    """Rows in the file for the progress bar (lines minus the header; None when unreadable)."""
    try:
        with file.open("rb") as handle:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None  # the import itself reports why the file cannot be read
    return max(count - 1, 0)


def print_summary(summary: ImportSummary) -> None:
    """The counts, then the rejected rows with their line numbers and reasons."""
    table = Table(title="Lines import", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("rows read", str(summary.rows))
    table.add_row("imported (new lines)", str(summary.imported))
    table.add_row("unchanged", str(summary.unchanged))
    table.add_row("updated", str(summary.updated))
    table.add_row("state corrected by the dates", str(summary.corrected))
    table.add_row("rejected", str(summary.rejected))
    out.print(table)
    if not summary.rejected:
        out.print("Every row was read without error.")
        return
    rejects = Table(title="Rejected rows")
    rejects.add_column("line", justify="right")
    rejects.add_column("msisdn")
    rejects.add_column("reason")
    for rejection in summary.rejections:
        rejects.add_row(str(rejection.line_no), rejection.msisdn, rejection.reason)
    out.print(rejects)
    if summary.rejected > len(summary.rejections):
        out.print(f"... and {summary.rejected - len(summary.rejections)} more rejected rows.")
    out.print(
        f"[yellow]{summary.rejected} rows were rejected and not imported; every other row was "
        "imported. Fix the rejected rows and import the file again: rows already imported "
        "stay unchanged.[/yellow]"
    )
