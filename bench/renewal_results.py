"""What bench/renewal_core.py measures: the shapes of its results, and the target."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bare_client import BareResult
from pg_tools import PgbenchResult
from simrenew.renewals.audit import AuditReport

TARGET_RATIO = 0.8


BUSY_LOAD = 0.75  # per core: a 1-minute load above this before the run means a busy machine


TPCB_ROUND_TRIPS = 7  # BEGIN, UPDATE accounts, SELECT, UPDATE tellers, UPDATE branches, INSERT, END


@dataclass
class ClientResult:
    """What one client (process or thread) did in its timed window."""

    ok: int
    errors: int
    elapsed: float
    cpu: float  # CPU seconds this client's thread used in the window (Python + driver)
    latencies_ms: list[float]
    error_samples: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """The renewal core at one client count."""

    clients: int
    mode: str
    clients_results: list[ClientResult]

    @property
    def ok(self) -> int:
        return sum(c.ok for c in self.clients_results)

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.clients_results)

    @property
    def tps(self) -> float:
        return sum(c.ok / c.elapsed for c in self.clients_results if c.elapsed > 0)

    @property
    def cpu_ms_per_renewal(self) -> float:
        """Client CPU per renewal: what decides throughput once the cores are busy."""
        return 1000 * sum(c.cpu for c in self.clients_results) / max(1, self.ok + self.errors)

    def percentile(self, q: float) -> float:
        latencies = sorted(x for c in self.clients_results for x in c.latencies_ms)
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))]


@dataclass
class Row:
    """One client count: the renewal core, its SQL replayed by pgbench, and tpcb-like."""

    clients: int
    renewal: RunResult
    pgbench: PgbenchResult
    replay: PgbenchResult | None = None
    floor: PgbenchResult | None = None  # every write in one statement, no client work
    bare: BareResult | None = None  # the replay's SQL from a bare Python client, no rules

    @property
    def ratio(self) -> float:
        return self.renewal.tps / self.pgbench.tps if self.pgbench.tps else float("nan")

    @property
    def cpus(self) -> int:
        """CPUs the clients can keep busy: one each, up to the machine's cores."""
        return min(self.clients, len(os.sched_getaffinity(0)))

    def client_cpu_budget_ms(self, sql_tps: float) -> float:
        """Client CPU per renewal the target leaves, if the SQL alone runs at `sql_tps`.

        Below the core count each client waits for its own renewals: a renewal takes the SQL's
        time plus the client's. Once the clients fill the cores, the cores' time per renewal is
        the server's plus the client's. Both give: cpus x (1 / target TPS - 1 / SQL TPS).
        """
        return 1000 * self.cpus * (1 / (TARGET_RATIO * self.pgbench.tps) - 1 / sql_tps)

    def predicted_tps(self, sql_tps: float, client_cpu_ms: float) -> float:
        """The same model forwards: renewals/s for a client spending `client_cpu_ms` each."""
        return self.cpus / (self.cpus / sql_tps + client_cpu_ms / 1000)

    @property
    def replay_ratio(self) -> float:
        """The renewal core against its own SQL without Python (how much Python costs)."""
        return self.renewal.tps / self.replay.tps if self.replay else float("nan")


@dataclass
class StatementTrace:
    """What one renewal sends to the server, averaged over a few renewals on one connection."""

    renewals: int
    statements: Counter[str]  # SQLAlchemy-level statements by kind, summed over `renewals`
    frontend_messages: Counter[str]  # libpq protocol messages sent, summed over `renewals`

    @property
    def statements_per_renewal(self) -> float:
        return sum(self.statements.values()) / self.renewals

    @property
    def round_trips_per_renewal(self) -> float:
        # Simple-protocol Query and extended-protocol Sync each wait for the server's answer.
        trips = self.frontend_messages["Query"] + self.frontend_messages["Sync"]
        return trips / self.renewals


@dataclass
class Profile:
    """One client under cProfile: where its wall time went."""

    renewals: int
    seconds: float
    tps_profiled: float
    by_area: list[tuple[str, float]]  # (area, seconds of own time)
    top_own: list[tuple[str, int, float]]  # (function, calls, own seconds)
    top_cumulative: list[tuple[str, int, float]]  # (function, calls, cumulative seconds)


@dataclass
class Report:
    """Everything one run measured."""

    args: argparse.Namespace
    started: datetime
    wall: float
    machine: dict[str, str]
    rows: list[Row]
    threads: RunResult | None
    trace: StatementTrace | None
    profile: Profile | None
    audit: AuditReport
    load_before: tuple[float, float, float]
    replay_error: str | None = None

    @property
    def busy_warning(self) -> str | None:
        """A warning when other work kept the machine busy as the run began."""
        cores = os.cpu_count() or 1
        if self.load_before[0] < BUSY_LOAD * cores:
            return None
        return (
            f"the 1-minute load average was {self.load_before[0]:.2f} on {cores} cores when "
            "the run began: other work shared the CPUs, so these numbers are low and noisy; "
            "run again on a quiet machine."
        )
