"""`simrenew demo [--if-empty]`: the demo catalog and demo lines, for development and trials."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simrenew.bootstrap import Platform, build_platform
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.errors import ValidationFailed
from simrenew.lines.demo import DemoLine, has_lines, load_demo_lines
from simrenew.money import format_fils
from simrenew.notify.templates import kuwait_minute

out = Console(highlight=False)


def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has lines.")
    ] = False,
) -> None:
    """Load the demo catalog and demo lines (every lifecycle state); refused in production."""
    platform = build_platform()
    try:
        lines = install_demo(platform, if_empty=if_empty)
    finally:
        platform.close()
    if lines is None:
        out.print("The database already holds lines: the demo was not loaded (--if-empty).")
        return
    print_demo_lines(lines)


def install_demo(platform: Platform, *, if_empty: bool) -> list[DemoLine] | None:
    """Load the demo catalog and lines; None when --if-empty found lines already there."""
    if platform.settings.env == "production":
        raise ValidationFailed(
            "SIMRENEW_ENV=production: the demo catalog and fictional lines are never loaded there."
        )
    if if_empty and has_lines(platform.uow()):
        return None
    demo_file = resources.files("simrenew.catalog") / "demo" / "demo.yaml"
    with resources.as_file(demo_file) as path:
        spec = read_catalog_file(path)
    load_catalog(platform.uow(), spec, clock=platform.clock)
    return load_demo_lines(platform.uow, clock=platform.clock)


def print_demo_lines(lines: list[DemoLine]) -> None:
    """A table of the demo lines as they stand now."""
    table = Table(title="Demo lines")
    for column in ("msisdn", "operator", "state", "balance", "valid until (Kuwait)"):
        table.add_column(column, justify="right" if column == "balance" else "left", no_wrap=True)
    for line in lines:
        table.add_row(
            line.msisdn,
            f"{line.operator}/{line.plan}",
            line.state,
            format_fils(line.balance_fils),
            kuwait_minute(line.valid_until),
        )
    out.print(table)
