"""`simrenew outbox` and `simrenew outbox retry-dead`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from integration.sms.conftest import AddMessage, FakeTransport, Row
from simrenew.bootstrap import Platform
from simrenew.cli.main import app
from simrenew.clock import FixedClock
from simrenew.notify.reports import outbox_counts
from simrenew.notify.service import drain_outbox


def run(platform: Platform, tmp_path: Path, *args: str) -> Result:
    env = {
        "SIMRENEW_DATABASE_URL": platform.settings.resolved_database_url,
        "SIMRENEW_DATA_DIR": str(tmp_path / "var"),
        "SIMRENEW_ENV": "test",
        "SIMRENEW_SECRET_KEY": "test-secret",
    }
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def two_dead(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport, clock: FixedClock
) -> list[str]:
    """Two dead letters, one sent message, one pending confirmation."""
    clock.set(datetime.now(UTC))  # the CLI runs on the real clock
    dead = [add_message("a", recipient="+96550000001"), add_message("b")]
    fake_transport.reject = {"a", "b"}
    drain_outbox(platform.uow(), fake_transport, clock=clock)
    add_message("c")
    drain_outbox(platform.uow(), fake_transport, clock=clock)
    add_message("d", lane="priority")
    return dead


def test_outbox_shows_counts_by_state_and_lane_and_the_dead_letters(
    platform: Platform, tmp_path: Path, two_dead: list[str], clock: FixedClock
) -> None:
    result = run(platform, tmp_path, "outbox")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = {line.split()[1]: line.split()[2:] for line in lines if line.startswith("│ ")}
    assert row["pending"] == ["│", "1", "│", "0", "│", "1", "│"]
    assert row["sent"] == ["│", "0", "│", "1", "│", "1", "│"]
    assert row["dead"] == ["│", "0", "│", "2", "│", "2", "│"]
    assert "The oldest due message has waited" in result.stdout
    assert "Dead letters (2;" in result.stdout
    for message_id in two_dead:
        assert message_id in result.stdout
    assert "SmsRejected: invalid receiver" in result.stdout


def test_retry_dead_by_id_and_all(
    platform: Platform, tmp_path: Path, two_dead: list[str], outbox_row: Row
) -> None:
    first = run(platform, tmp_path, "outbox", "retry-dead", two_dead[0])
    assert first.exit_code == 0, first.output
    assert "1 dead letter(s) queued again." in first.stdout
    assert (outbox_row(two_dead[0]).state, outbox_row(two_dead[0]).attempts) == ("pending", 0)

    rest = run(platform, tmp_path, "outbox", "retry-dead", "--all")
    assert "1 dead letter(s) queued again." in rest.stdout
    assert "dead" not in outbox_counts(platform.uow())


@pytest.mark.parametrize("args", [(), ("--all", "some-id")])
def test_retry_dead_needs_ids_or_all_but_not_both(
    platform: Platform, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run(platform, tmp_path, "outbox", "retry-dead", *args)

    assert result.exit_code == 2
    assert "give the ids of dead letters, or --all" in result.stderr
