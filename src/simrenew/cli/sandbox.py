"""`simrenew sandbox-gateway`: the sandbox payment gateway, alone (development and tests)."""

from __future__ import annotations

from typing import Annotated

import typer

from simrenew.errors import ValidationFailed
from simrenew.settings import Settings


def sandbox_gateway(
    port: Annotated[
        int | None, typer.Option(help="Listen port (SIMRENEW_SANDBOX_PORT, default 8001).")
    ] = None,
) -> None:
    """Run the sandbox payment gateway (hosted pages, KNET, Tap and wallet protocols)."""
    import uvicorn  # imported here: the other commands need not load the web stack

    from simrenew.payments.sandbox.app import build_sandbox_app

    settings = Settings()
    if settings.env == "production":
        raise ValidationFailed("The sandbox gateway takes no real money: not in production.")
    listen = port or settings.sandbox_port
    app = build_sandbox_app(settings, base_url=f"http://{settings.host}:{listen}")
    uvicorn.run(app, host=settings.host, port=listen, log_level=settings.log_level.lower())
