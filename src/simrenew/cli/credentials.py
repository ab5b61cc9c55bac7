"""`simrenew credentials create|revoke`: bearer tokens for channels (store, partner, network...)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from simrenew.bootstrap import build_platform
from simrenew.errors import NotFound
from simrenew.staff.rules import CREDENTIAL_CHANNELS
from simrenew.staff.service import create_credential, revoke_credential

app = typer.Typer(help="Channel credentials (bearer tokens).", no_args_is_help=True)
out = Console(highlight=False)


@app.command("create")
def create(
    channel: Annotated[
        str, typer.Option("--channel", help=f"One of: {', '.join(CREDENTIAL_CHANNELS)}.")
    ],
    name: Annotated[str, typer.Option("--name", help="Who holds it, e.g. 'Salmiya store 3'.")] = "",
) -> None:
    """Create a credential; its token is printed once, alone on the last line."""
    platform = build_platform()
    try:
        credential_id, token = create_credential(
            platform.uow(), channel, name, clock=platform.clock
        )
    finally:
        platform.close()
    out.print(f"Created {channel} credential {credential_id}.")
    out.print("The token below is shown only this once: store it now.")
    # Scripts take the last line as the token (API.md): nothing may follow it.
    typer.echo(token)


@app.command("revoke")
def revoke(
    credential_id: Annotated[str, typer.Argument(metavar="ID", help="The credential's id.")],
) -> None:
    """Revoke a credential at once: its token stops working."""
    platform = build_platform()
    try:
        revoked = revoke_credential(platform.uow(), credential_id, clock=platform.clock)
    finally:
        platform.close()
    if not revoked:
        raise NotFound(f"No active credential has the id {credential_id!r}.")
    out.print(f"Revoked credential {credential_id}.")
