"""`simrenew worker [--once]` and the runner's graceful stop."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from typer.testing import Result

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.notify.reports import outbox_counts
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.workers.runner import Job, Runner, stop_on_signals


def _queue_confirmation(platform: Platform, clock: FixedClock) -> None:
    """A cash renewal at a store: its confirmation SMS waits in the outbox."""
    clock.set(datetime.now(UTC))  # the command below runs on the real clock
    load_demo_catalog(platform)
    make_line(platform, paid_fils=500)
    caller, _ = make_caller(platform, "store")
    body = {"msisdn": "+96550001234", "package_code": "kd5", "payment": {"method": "cash"}}
    request = RenewalRequest("+96550001234", "kd5", "cash", "key-1", body=body)
    credit_renewal(platform.uow(), caller, request, clock=clock)


def test_worker_once_sends_the_queued_sms(
    simrenew: Callable[..., Result], platform: Platform, clock: FixedClock
) -> None:
    _queue_confirmation(platform, clock)
    assert outbox_counts(platform.uow()) == {"pending": 1}

    result = simrenew("worker", "--once")

    assert result.exit_code == 0, result.output
    assert "outbox: 1 done" in result.stdout
    assert outbox_counts(platform.uow()) == {"sent": 1}


def test_worker_refuses_a_transport_it_cannot_configure(
    simrenew: Callable[..., Result], platform: Platform, clock: FixedClock
) -> None:
    _queue_confirmation(platform, clock)

    result = simrenew("worker", "--once", env={"SIMRENEW_SMS_TRANSPORT": "kannel"})

    assert result.exit_code == 2
    assert "SIMRENEW_SMS_TRANSPORT=kannel needs SIMRENEW_KANNEL_PASSWORD" in result.stderr
    assert outbox_counts(platform.uow()) == {"pending": 1}


def test_a_signal_lets_the_current_pass_finish_then_stops() -> None:
    ran: list[str] = []

    def first() -> int:
        ran.append("first")
        os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of the pass
        return 1

    def second() -> int:
        ran.append("second")
        return 0

    runner = Runner([Job("first", first), Job("second", second)], interval_seconds=30)
    previous = signal.getsignal(signal.SIGTERM)

    with stop_on_signals(runner):
        passes = runner.run_forever()

    assert passes == 1
    assert ran == ["first", "second"]
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_failing_job_does_not_stop_the_others() -> None:
    def broken() -> int:
        raise RuntimeError("gateway down")

    runner = Runner([Job("broken", broken), Job("fine", lambda: 3)], interval_seconds=1)

    results = runner.run_pass()

    assert [(r.name, r.done, r.error) for r in results] == [
        ("broken", 0, "RuntimeError: gateway down"),
        ("fine", 3, None),
    ]


def test_a_job_with_its_own_interval_runs_only_when_due() -> None:
    now = [100.0]
    calls: list[float] = []
    job = Job("sweep", lambda: calls.append(now[0]) or 0, every_seconds=60)
    runner = Runner([job], interval_seconds=1, monotonic=lambda: now[0])

    for moment in (100.0, 130.0, 160.0, 170.0, 221.0):
        now[0] = moment
        runner.run_pass()

    assert calls == [100.0, 160.0, 221.0]
