"""The `simrenew` command: registers every command group and turns errors into exit codes.

Exit codes: 0 done; 1 the command ran and found a problem (e.g. `simrenew audit`); 2 the
command could not do its work (bad input, bad settings, database not reachable or not migrated).
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from alembic.util import CommandError
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.core import TyperGroup

from simrenew.cli import (
    audit,
    catalog,
    credentials,
    database,
    demo,
    lines,
    outbox,
    payments,
    sandbox,
    serve,
    sweep,
)
from simrenew.errors import SimrenewError
from simrenew.logs import configure_logging
from simrenew.settings import Settings

USAGE_ERROR = 2


class _SimrenewGroup(TyperGroup):
    """The root group: every command runs inside it, so its errors are mapped in one place."""

    # Typer ships its own copy of click, whose Context is private: hence Any.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SimrenewError as error:
            _fail(f"error [{error.code}]: {error.detail or error.title('en')}")
        except ValidationError as error:
            # Settings read from SIMRENEW_* variables that do not validate.
            problems = "; ".join(
                f"SIMRENEW_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
                for e in error.errors()
            )
            _fail(f"error [settings]: {problems}")
        except CommandError as error:
            _fail(f"error [migrations]: {error}")  # an unknown revision, say
        except (OperationalError, ProgrammingError) as error:
            first_line = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            _fail(
                f"error [database]: {first_line} (is SIMRENEW_DATABASE_URL right, and the "
                "schema migrated with `simrenew migrate`?)"
            )


def _fail(message: str) -> NoReturn:
    """Print one red line on stderr and exit with code 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(message, style="bold red"))
    raise typer.Exit(USAGE_ERROR)


app = typer.Typer(
    cls=_SimrenewGroup,
    name="simrenew",
    help="Renew prepaid SIM lines of Kuwaiti operators. Settings come from SIMRENEW_* variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold tokens and personal data
)


@app.callback()
def main() -> None:
    """Renew prepaid SIM lines of Kuwaiti operators. Settings come from SIMRENEW_* variables."""
    configure_logging(Settings().log_level)


app.command("migrate")(database.migrate)
# "-1" (one step back) must read as the revision, not as an unknown option.
app.command("downgrade", context_settings={"ignore_unknown_options": True})(database.downgrade)
app.add_typer(catalog.app, name="catalog")
app.add_typer(lines.app, name="lines")
app.add_typer(credentials.app, name="credentials")
app.add_typer(outbox.app, name="outbox")
app.command("audit")(audit.audit)
app.command("sweep")(sweep.sweep)
app.command("pool")(sweep.pool)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("run")(serve.run)
app.command("sandbox-gateway")(sandbox.sandbox_gateway)
app.command("reconcile")(payments.reconcile)
app.command("settlement")(payments.settlement)
app.add_typer(payments.app, name="payments")


if __name__ == "__main__":  # `python -m simrenew.cli.main`: how `simrenew run` starts its children
    app()
