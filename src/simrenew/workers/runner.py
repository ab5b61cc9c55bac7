"""The worker loop: every interval, run each due job; SIGTERM/SIGINT finish the pass, then stop."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import structlog

from simrenew.bootstrap import Platform
from simrenew.workers.accounts import EVERY_SECONDS as ACCOUNTS_EVERY_SECONDS
from simrenew.workers.accounts import purge_ended_credentials
from simrenew.workers.outbox import send_due_sms, sms_transport
from simrenew.workers.reconcile import reconcile_due_payments
from simrenew.workers.sweep import EVERY_SECONDS, sweep_due_lines

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    """A unit of background work: returns how many things it did."""

    name: str
    run: Callable[[], int]
    every_seconds: float | None = None  # None: on every pass


@dataclass(frozen=True)
class JobResult:
    """What one job did in one pass; `error` is set when it failed."""

    name: str
    done: int
    error: str | None = None


def default_jobs(platform: Platform) -> list[Job]:
    """Every job the worker runs, built from settings (refuses a transport not yet built)."""
    transport = sms_transport(platform.settings)
    return [
        Job("sweep", lambda: sweep_due_lines(platform), every_seconds=EVERY_SECONDS),
        Job("outbox", lambda: send_due_sms(platform, transport)),
        Job(
            "accounts",
            lambda: purge_ended_credentials(platform),
            every_seconds=ACCOUNTS_EVERY_SECONDS,
        ),
        Job(
            "reconcile",
            lambda: reconcile_due_payments(platform),
            every_seconds=platform.settings.reconcile_interval_seconds,
        ),
    ]


class Runner:
    """Runs jobs in passes; `stop()` lets the current pass finish and ends the loop."""

    def __init__(
        self,
        jobs: list[Job],
        *,
        interval_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = jobs
        self.interval_seconds = interval_seconds
        self._monotonic = monotonic
        self._stopping = threading.Event()
        self._next_due: dict[str, float] = {}

    def stop(self) -> None:
        """Ask the loop to end after the pass in progress."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stopping.is_set()

    def run_pass(self) -> list[JobResult]:
        """Run every due job once; a failing job is logged and the others still run."""
        results = []
        for job in self.jobs:
            now = self._monotonic()
            if now < self._next_due.get(job.name, now):
                continue
            if job.every_seconds is not None:
                self._next_due[job.name] = now + job.every_seconds
            try:
                done = job.run()
            except Exception as error:  # a job's failure must not stop the other jobs
                log.exception("worker.job_failed", job=job.name)
                results.append(JobResult(job.name, 0, f"{type(error).__name__}: {error}"))
                continue
            if done:
                log.info("worker.job_done", job=job.name, done=done)
            results.append(JobResult(job.name, done))
        return results

    def run_forever(self) -> int:
        """Run passes every interval until stopped; return how many passes ran."""
        passes = 0
        while not self.stopping:
            self.run_pass()
            passes += 1
            self._stopping.wait(self.interval_seconds)
        return passes


@contextmanager
def stop_on_signals(runner: Runner) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT ask the runner to stop after its current pass."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker.stopping", signal=signal.Signals(signum).name)
        runner.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
