"""`simrenew sweep [--now ISO]` and `simrenew pool [--available]`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import Result

from builders import load_demo_catalog, make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.lines.models import Line
from simrenew.notify.models import OutboxMessage
from simrenew.renewals.audit import audit_ledger

Invoke = Callable[..., Result]
NOW = "2026-11-25T12:00"  # the clock fixture's instant, in Kuwait time


def _states(platform: Platform) -> dict[str, str]:
    with platform.uow() as uow:
        rows = uow.session.execute(select(Line.msisdn, Line.state)).all()
        return {msisdn: state for msisdn, state in rows}


def _lines(platform: Platform, clock: FixedClock) -> None:
    """Lines whose ends are fixed instants, so `--now` in the tests below reads them."""
    load_demo_catalog(platform)  # at 2026-11-25 12:00 Kuwait (the clock fixture)
    make_line(platform, "+96550001234", valid_for=timedelta(days=1), paid_fils=900)
    make_line(platform, "+96550001235", valid_for=timedelta(days=4))
    make_line(platform, "+96550001236", valid_for=timedelta(days=-45), paid_fils=1250)
    make_line(platform, "+96550001237", valid_for=timedelta(days=60))


def test_sweep_now_records_transitions_and_prints_a_summary(
    simrenew: Invoke, platform: Platform, clock: FixedClock
) -> None:
    _lines(platform, clock)

    # Kuwait time without an offset: 2026-11-27 10:00 is two days after the clock's now.
    result = simrenew("sweep", "--now", "2026-11-27T10:00")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Lifecycle sweep as of 2026-11-27 10:00 (Kuwait)" in out
    assert "lines examined" in out
    assert _row(out, "lines examined") == "3"
    assert _row(out, "active -> grace") == "2"  # +..234 now, and +..236 long ago
    assert _row(out, "grace -> suspended") == "1"
    assert _row(out, "suspended -> recycled") == "1"
    assert _row(out, "3-day reminders queued") == "1"  # +..235: 2 days left
    assert _row(out, "SMS queued in all") == "5"
    assert _row(out, "numbers put in the pool") == "1"
    assert _row(out, "balance forfeited") == "1.250 KWD"
    assert _states(platform) == {
        "+96550001234": "grace",
        "+96550001235": "active",
        "+96550001236": "recycled",
        "+96550001237": "active",
    }
    assert audit_ledger(platform.uow()).ok

    again = simrenew("sweep", "--now", "2026-11-27T10:00")

    assert again.exit_code == 0, again.output
    assert _row(again.stdout, "lines examined") == "0"
    assert _row(again.stdout, "SMS queued in all") == "0"


def test_sweep_in_quiet_hours_says_when_the_sms_go(
    simrenew: Invoke, platform: Platform, clock: FixedClock
) -> None:
    _lines(platform, clock)

    result = simrenew("sweep", "--now", "2026-11-26T23:30+03:00")

    assert result.exit_code == 0, result.output
    assert "the SMS wait until 2026-11-27 09:00 (Kuwait)" in result.stdout
    with platform.uow() as uow:
        states = set(uow.session.scalars(select(OutboxMessage.state)).all())
    assert states == {"pending"}


def test_sweep_without_now_uses_the_current_time(simrenew: Invoke, platform: Platform) -> None:
    load_demo_catalog(platform)

    result = simrenew("sweep")

    assert result.exit_code == 0, result.output
    assert _row(result.stdout, "lines examined") == "0"


def test_sweep_refuses_a_bad_instant(simrenew: Invoke, platform: Platform) -> None:
    result = simrenew("sweep", "--now", "yesterday")

    assert result.exit_code == 2
    assert "ISO 8601" in result.stderr


def test_sweep_refuses_bad_quiet_hours(simrenew: Invoke, platform: Platform) -> None:
    load_demo_catalog(platform)

    result = simrenew("sweep", env={"SIMRENEW_QUIET_HOURS": "nights"})

    assert result.exit_code == 2
    assert "SIMRENEW_QUIET_HOURS" in result.stderr
    assert "21:00-09:00" in result.stderr


def test_pool_lists_recycled_numbers_in_kuwait_time(
    simrenew: Invoke, platform: Platform, clock: FixedClock
) -> None:
    load_demo_catalog(platform)
    make_line(platform, "+96550001234", valid_for=timedelta(days=-40))  # recycled 3 days ago
    make_line(platform, "+96550001235", valid_for=timedelta(days=-200), operator="najm")
    assert simrenew("pool").stdout.strip() == "The pool is empty."
    assert simrenew("sweep", "--now", NOW).exit_code == 0

    result = simrenew("pool")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "+96550001234" in out
    assert "+96550001235" in out
    assert "zahra" in out
    assert "najm" in out
    # +..234 ended 2026-10-16 12:00 Kuwait; recycled 37 days later, pooled for 90 days.
    assert "2026-11-22 12:00" in out
    assert "2027-02-20 12:00" in out
    assert "2 numbers." in out

    only_najm = simrenew("pool", "--operator", "najm")
    assert "+96550001235" in only_najm.stdout
    assert "+96550001234" not in only_najm.stdout

    limited = simrenew("pool", "--limit", "1")
    assert "Showing 1 of 2 numbers" in limited.stdout


def test_pool_available_lists_only_numbers_past_quarantine(
    simrenew: Invoke, platform: Platform, clock: FixedClock
) -> None:
    load_demo_catalog(platform)
    make_line(platform, "+96550001234", valid_for=timedelta(days=-40))
    make_line(platform, "+96550001235", valid_for=timedelta(days=-200), operator="najm")
    assert simrenew("sweep", "--now", NOW).exit_code == 0

    result = simrenew("pool", "--available")

    # `pool` asks the real clock, which is past the test clock: +..235's 60-day quarantine
    # ended in 2026-09; +..234's ends on 2027-02-20 (12:00 Kuwait).
    assert result.exit_code == 0, result.output
    assert "+96550001235" in result.stdout
    quarantined = datetime.now(UTC) < datetime(2027, 2, 20, 9, 0, tzinfo=UTC)
    assert ("+96550001234" not in result.stdout) is quarantined
    assert "quarantine" not in result.stdout


def _row(output: str, label: str) -> str:
    """The value in the summary table's row starting with `label`."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│|┃ ").split("│")]
        if cells and cells[0] == label:
            return cells[-1]
    raise AssertionError(f"no row {label!r} in:\n{output}")
