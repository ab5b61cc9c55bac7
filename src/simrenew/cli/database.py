"""`simrenew migrate` and `simrenew downgrade`: move the database schema."""

from __future__ import annotations

from typing import Annotated

import typer
from alembic.runtime.migration import MigrationContext
from rich.console import Console
from sqlalchemy import make_url

from simrenew.bootstrap import Platform, build_platform
from simrenew.db import migrate as migrations

out = Console(highlight=False)


def migrate(
    revision: Annotated[
        str, typer.Option("--revision", help="The schema revision to reach (default: newest).")
    ] = "head",
) -> None:
    """Bring the database to the newest schema (or to --revision); safe to run again."""
    platform = build_platform()
    try:
        url = platform.settings.resolved_database_url
        before = current_revision(platform)
        migrations.upgrade(url, revision)
        after = current_revision(platform)
    finally:
        platform.close()
    where = _shown_url(url)
    if before == after:
        out.print(f"{where}: already at revision {after or '(empty)'}, nothing to do.")
    else:
        out.print(f"{where}: migrated from {before or '(empty)'} to {after}.")


def downgrade(
    revision: Annotated[str, typer.Argument(help="The revision to go back to, e.g. -1 or base.")],
) -> None:
    """Step the database schema back to REVISION (data in dropped tables is lost)."""
    platform = build_platform()
    try:
        url = platform.settings.resolved_database_url
        before = current_revision(platform)
        migrations.downgrade(url, revision)
        after = current_revision(platform)
    finally:
        platform.close()
    out.print(f"{_shown_url(url)}: from {before or '(empty)'} to {after or '(empty)'}.")


def current_revision(platform: Platform) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    with platform.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _shown_url(url: str) -> str:
    """The database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)
