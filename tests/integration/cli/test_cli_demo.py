"""`simrenew demo [--if-empty]`: demo catalog and lines in every state, with a real history."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from typer.testing import Result

from builders import load_demo_catalog
from simrenew.bootstrap import Platform
from simrenew.lines.demo import demo_specs, load_demo_lines
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.service import line_status
from simrenew.renewals.audit import audit_ledger
from simrenew.renewals.models import LedgerEntry, Renewal


def _count(platform: Platform, model: type[object]) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_lines_cover_every_state_and_pass_the_audit(platform: Platform) -> None:
    load_demo_catalog(platform)

    lines = load_demo_lines(platform.uow, clock=platform.clock)

    assert {line.state for line in lines} == {"active", "grace", "suspended", "recycled"}
    assert {line.operator for line in lines} == {"zahra", "najm", "bahar"}
    now = platform.clock.now()
    statuses = {
        s.msisdn: line_status(platform.uow(), s.msisdn, clock=platform.clock) for s in demo_specs()
    }
    stories = {s.story: statuses[s.msisdn] for s in demo_specs()}
    assert stories["expiring"]["days_left"] == 2
    assert stories["bonus"]["bonus_fils"] > 0
    assert stories["suspended"]["reactivation_required"] is True
    assert audit_ledger(platform.uow()).ok
    with platform.uow() as uow:
        kinds = set(uow.session.scalars(select(LedgerEntry.kind)))
        events = set(uow.session.scalars(select(LineHistory.event)))
    assert {"opening_balance", "renewal_credit", "promotion_bonus", "usage_debit"} <= kinds
    assert {"import", "renewal"} <= events
    assert _count(platform, Renewal) == sum(1 for s in demo_specs() if s.renew_with)
    assert all(line.valid_until > now for line in lines if line.state == "active")


def test_demo_command_loads_once_and_audit_passes(
    simrenew: Callable[..., Result], platform: Platform
) -> None:
    first = simrenew("demo")
    counts = [_count(platform, model) for model in (Line, LedgerEntry, Renewal)]
    second = simrenew("demo")
    if_empty = simrenew("demo", "--if-empty")
    audit = simrenew("audit")

    assert first.exit_code == 0, first.output
    for spec in demo_specs():
        assert spec.msisdn in first.stdout
    for state in ("active", "grace", "suspended", "recycled"):
        assert state in first.stdout
    assert second.exit_code == 0, second.output
    assert [_count(platform, model) for model in (Line, LedgerEntry, Renewal)] == counts
    assert counts[0] == len(demo_specs())
    assert "not loaded" in if_empty.stdout
    assert audit.exit_code == 0, audit.output


def test_demo_is_refused_in_production(simrenew: Callable[..., Result], platform: Platform) -> None:
    result = simrenew("demo", env={"SIMRENEW_ENV": "production"})

    assert result.exit_code == 2
    assert "production" in result.stderr
    assert _count(platform, Line) == 0
