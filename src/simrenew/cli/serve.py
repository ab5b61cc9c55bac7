"""`simrenew serve`, `simrenew worker` and `simrenew run` (what `make run` starts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from simrenew.bootstrap import Platform, build_platform
from simrenew.cli.demo import install_demo, print_demo_lines
from simrenew.db import migrate as migrations
from simrenew.errors import Unauthenticated
from simrenew.lines.demo import demo_specs
from simrenew.lines.rules import national_number
from simrenew.settings import Settings
from simrenew.staff.service import authenticate, create_credential
from simrenew.workers.runner import Runner, default_jobs, stop_on_signals

out = Console(highlight=False, soft_wrap=True)

DEMO_CHANNELS = ("store", "partner", "network")
CREDENTIALS_FILE = "demo-credentials.json"
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.2


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (SIMRENEW_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (SIMRENEW_PORT).")] = None,
) -> None:
    """Run the web pages and the API (uvicorn) until SIGINT/SIGTERM."""
    import uvicorn  # imported here: the other commands need not load the web stack

    from simrenew.web.app import build_app

    settings = Settings()
    uvicorn.run(
        build_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass of every due job, then exit.")
    ] = False,
) -> None:
    """Run the background jobs (outbox SMS...) every SIMRENEW_WORKER_INTERVAL_SECONDS."""
    platform = build_platform()
    try:
        runner = Runner(
            default_jobs(platform), interval_seconds=platform.settings.worker_interval_seconds
        )
        if once:
            results = runner.run_pass()
            for result in results:
                outcome = f"failed: {result.error}" if result.error else f"{result.done} done"
                out.print(f"{result.name}: {outcome}", markup=False)
            if any(result.error for result in results):
                raise typer.Exit(1)
            return
        out.print(f"Worker running every {runner.interval_seconds:g} s; SIGINT/SIGTERM stops it.")
        with stop_on_signals(runner):
            runner.run_forever()
        out.print("Worker stopped.")
    finally:
        platform.close()


def run() -> None:
    """Migrate, load the demo when empty, print URLs and demo tokens, then run web + worker."""
    platform = build_platform()
    try:
        settings = platform.settings
        migrations.upgrade(settings.resolved_database_url)
        tokens: dict[str, str] = {}
        if settings.env == "production":
            out.print("SIMRENEW_ENV=production: no demo data and no demo credentials.")
        else:
            loaded = install_demo(platform, if_empty=True)
            if loaded is not None:
                print_demo_lines(loaded)
            tokens = demo_credentials(platform)
    finally:
        platform.close()
    _print_welcome(settings, tokens)
    # The sandbox gateway is the payment gateway of development: card, KNET and wallet payments
    # of the demo complete on its pages. Production talks to the real gateways instead.
    sandbox = [] if settings.env == "production" else ["sandbox-gateway"]
    raise typer.Exit(_supervise(["serve", "worker", *sandbox]))


def demo_credentials(platform: Platform) -> dict[str, str]:
    """Tokens for the demo channels: the saved ones while valid, else new (saved in development)."""
    path = platform.settings.data_dir / CREDENTIALS_FILE
    saved = _read_saved(path) if platform.settings.env == "development" else {}
    if set(saved) == set(DEMO_CHANNELS) and all(
        _authenticates(platform, token) for token in saved.values()
    ):
        return saved
    tokens = {
        channel: create_credential(
            platform.uow(), channel, f"demo {channel}", clock=platform.clock
        )[1]
        for channel in DEMO_CHANNELS
    }
    if platform.settings.env == "development":
        _save(path, tokens)
    return tokens


def _read_saved(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def _authenticates(platform: Platform, token: str) -> bool:
    try:
        authenticate(platform.uow(), token)
    except Unauthenticated:
        return False  # the database was reset since the tokens were saved
    return True


def _save(path: Path, tokens: dict[str, str]) -> None:
    """Write the tokens readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an older file may have had wider rights
        json.dump(tokens, handle, indent=2)


def _print_welcome(settings: Settings, tokens: dict[str, str]) -> None:
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    base = f"http://{shown_host}:{settings.port}"
    out.print(f"\nsimrenew ({settings.env}) at {base}/")
    for path, what in (("/signin", "subscriber website (register, bind a line, recharge)"),
                       ("/docs", "API docs"), ("/dev/sms", "SMS sent (development)"),
                       ("/healthz", "health")):  # fmt: skip
        out.print(f"  {base}{path}  {what}")
    if tokens:
        out.print("\nDemo credentials (bearer tokens):")
        for channel, token in tokens.items():
            out.print(f"  {channel:<8} {token}")
        line = next(spec for spec in demo_specs() if spec.renew_with is not None)
        number = national_number(line.msisdn)
        store = tokens["store"]
        body = json.dumps(
            {"msisdn": number, "package_code": line.renew_with, "payment": {"method": "cash"}}
        )
        out.print("\nTry it:")
        out.print(f'  curl -H "Authorization: Bearer {store}" {base}/api/v1/lines/{number}')
        out.print(
            f'  curl -X POST -H "Authorization: Bearer {store}" '
            '-H "Idempotency-Key: demo-$(date +%s)" -H "Content-Type: application/json" '
            f"-d '{body}' {base}/api/v1/renewals"
        )
        partner = tokens["partner"]
        card = json.dumps(
            {"msisdn": number, "package_code": line.renew_with, "payment": {"method": "card"}}
        )
        out.print("  # by card on the sandbox gateway's page: open payment.redirect_url")
        out.print(
            f'  curl -X POST -H "Authorization: Bearer {partner}" '
            '-H "Idempotency-Key: card-$(date +%s)" -H "Content-Type: application/json" '
            f"-d '{card}' {base}/api/v1/renewals"
        )
    if settings.env != "production":
        out.print(f"  http://{shown_host}:{settings.sandbox_port}/  sandbox payment gateway")
    out.print("\nCtrl-C stops the web server, the worker and the sandbox gateway.\n")


def _supervise(commands: list[str]) -> int:
    """Run `simrenew COMMAND` children until a signal or one of them ends; return the exit code."""
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # The children stay in our process group: Ctrl-C in a terminal reaches them too.
    children: dict[str, subprocess.Popen[bytes]] = {}
    died: subprocess.Popen[bytes] | None = None
    try:
        for command in commands:
            sys.stdout.flush()  # our lines first: the children write to the same stream
            children[command] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "simrenew.cli.main", command]
            )
        pids = ", ".join(f"{name} pid {child.pid}" for name, child in children.items())
        out.print(f"Started {pids}.")
        sys.stdout.flush()
        while not received and died is None:
            died = next((c for c in children.values() if c.poll() is not None), None)
            time.sleep(POLL_SECONDS)
    finally:
        _stop(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if died is not None:
        name = next(name for name, child in children.items() if child is died)
        out.print(f"[red]{name} exited with code {died.returncode}: everything was stopped.[/red]")
        return died.returncode if died.returncode > 0 else 1
    out.print("Stopped.")
    return 0


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child still running, wait for them, SIGKILL any that will not go."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
