"""`simrenew credentials create|revoke`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from simrenew.bootstrap import Platform, build_platform
from simrenew.cli.serve import demo_credentials
from simrenew.errors import Unauthenticated
from simrenew.settings import Settings
from simrenew.staff.service import authenticate, revoke_credential


def test_create_prints_the_token_alone_on_the_last_line_and_it_authenticates(
    simrenew: Callable[..., Result], platform: Platform
) -> None:
    result = simrenew("credentials", "create", "--channel", "store", "--name", "Salmiya 3")

    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert token == token.strip()
    assert " " not in token
    caller = authenticate(platform.uow(), token)
    assert (caller.channel, caller.name) == ("store", "Salmiya 3")


def test_revoke_stops_the_token(simrenew: Callable[..., Result], platform: Platform) -> None:
    created = simrenew("credentials", "create", "--channel", "partner")
    token = created.stdout.splitlines()[-1]
    credential_id = authenticate(platform.uow(), token).id

    revoked = simrenew("credentials", "revoke", credential_id)
    again = simrenew("credentials", "revoke", credential_id)

    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(Unauthenticated):
        authenticate(platform.uow(), token)
    assert again.exit_code == 2
    assert again.stderr.startswith("error [not_found]:")


def test_an_unknown_channel_is_one_red_line_and_exit_2(simrenew: Callable[..., Result]) -> None:
    result = simrenew("credentials", "create", "--channel", "bogus")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error [validation_error]: Unknown channel 'bogus': use one of store, partner, network, "
        "care, admin."
    ]


def test_demo_credentials_are_saved_0600_and_reused_while_they_work(
    platform: Platform, db_url: str, tmp_path: Path
) -> None:
    settings = Settings(env="development", database_url=db_url, data_dir=tmp_path / "dev")
    dev = build_platform(settings, clock=platform.clock)
    try:
        first = demo_credentials(dev)
        second = demo_credentials(dev)
        revoke_credential(dev.uow(), authenticate(dev.uow(), first["store"]).id, clock=dev.clock)
        third = demo_credentials(dev)
    finally:
        dev.close()
    saved = tmp_path / "dev" / "demo-credentials.json"

    assert set(first) == {"store", "partner", "network"}
    assert second == first
    assert third["store"] != first["store"]
    assert saved.stat().st_mode & 0o777 == 0o600
    assert json.loads(saved.read_text()) == third
    assert authenticate(platform.uow(), first["network"]).channel == "network"


def test_demo_credentials_are_not_saved_outside_development(
    platform: Platform, tmp_path: Path
) -> None:
    tokens = demo_credentials(platform)  # the fixture's settings say env=test

    assert set(tokens) == {"store", "partner", "network"}
    assert not (platform.settings.data_dir / "demo-credentials.json").exists()
