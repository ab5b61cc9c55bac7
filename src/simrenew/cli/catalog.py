"""`simrenew catalog load FILE`: make the stored catalog equal a catalog file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from simrenew.bootstrap import build_platform
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import CatalogLoadSummary, load_catalog
from simrenew.catalog.specs import CatalogSpec
from simrenew.errors import CatalogInvalid

app = typer.Typer(help="The catalog: operators, plans, packages, promotions.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="The catalog file (YAML, see docs/catalog.md).")],
) -> None:
    """Load a catalog file in one transaction; a bad file loads nothing and names file:line."""
    try:
        spec = read_catalog_file(file)
    except CatalogInvalid as error:
        err.print(Text(error.detail or error.title(), style="bold red"))
        err.print("Nothing was loaded.")
        raise typer.Exit(2) from None
    platform = build_platform()
    try:
        summary = load_catalog(platform.uow(), spec, clock=platform.clock)
    finally:
        platform.close()
    print_catalog(spec, summary)


def print_catalog(spec: CatalogSpec, summary: CatalogLoadSummary) -> None:
    """A table of what the catalog now holds, one row per operator."""
    table = Table(title="Catalog loaded")
    for column in ("operator", "name", "prefixes", "plans", "packages", "promotions"):
        table.add_column(column)
    for op in spec.operators:
        table.add_row(
            op.code,
            op.name,
            " ".join(op.number_prefixes),
            str(len(op.plans)),
            str(sum(len(plan.packages) for plan in op.plans)),
            str(len(op.promotions)),
        )
    out.print(table)
    out.print(
        f"{summary.operators} operators, {summary.plans} plans, {summary.packages} packages, "
        f"{summary.promotions} promotions, {summary.payment_methods} payment methods "
        f"({', '.join(pm.method for pm in spec.payment_methods)})."
    )
    if summary.retired:
        out.print(f"Retired (no longer sold): {', '.join(summary.retired)}.")
