"""Benchmark: the renewal core on PostgreSQL against `pgbench -b tpcb-like`, same server, same run.

`make bench` runs this file. It creates two throwaway databases on 127.0.0.1:5432 (dropped at
the end, even on failure), loads the demo catalog and N lines into one, and for 1 and 4 clients
runs `credit_renewal` through the service layer (cash at a store, a fresh idempotency key per
call, random lines) for a fixed time; then pgbench replays the renewal's own SQL
(renewal_replay.sql) on that database, and runs its TPC-B-like script on the other, for the same
time. It prints the TPS of each, the ratio, renewal latency and client CPU, what a renewal sends
and where its time goes, checks that every balance still equals its ledger, and overwrites
bench/RESULTS.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform as pyplatform
import pstats
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import event, insert, text
from sqlalchemy.exc import DBAPIError

import simrenew.catalog
from bare_client import BareResult, run_bare_clients
from processes import run_together
from simrenew.bootstrap import Platform, build_platform
from simrenew.catalog import repository as catalog_repository
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.db.migrate import upgrade
from simrenew.errors import SimrenewError
from simrenew.ids import new_id
from simrenew.lines.models import Customer, Line, LineHistory
from simrenew.renewals.audit import AuditReport, audit_ledger
from simrenew.renewals.models import LedgerEntry
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.settings import Settings
from simrenew.staff.rules import Caller
from simrenew.staff.service import authenticate, create_credential

# Only the local server: a benchmark never sends traffic anywhere else.
PG_HOST = "127.0.0.1"
PG_PORT = "5432"
PG_USER = "postgres"
ADMIN_URL = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
DEMO_CATALOG = Path(simrenew.catalog.__file__).parent / "demo" / "demo.yaml"
RESULTS = Path(__file__).with_name("RESULTS.md")
REPLAY = Path(__file__).with_name("renewal_replay.sql")
FLOOR = Path(__file__).with_name("renewal_floor.sql")
TARGET_RATIO = 0.8
BUSY_LOAD = 0.75  # per core: a 1-minute load above this before the run means a busy machine
WARMUP_RENEWALS = 20  # per client, before the clock starts: connections, compiled-SQL caches
TPCB_ROUND_TRIPS = 7  # BEGIN, UPDATE accounts, SELECT, UPDATE tellers, UPDATE branches, INSERT, END


# --------------------------------------------------------------------------------------------
# Data shapes


@dataclass(frozen=True)
class Target:
    """A line the benchmark renews and the packages a store sells on its plan."""

    msisdn: str
    packages: tuple[str, ...]


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
class PgbenchResult:
    clients: int
    tps: float
    latency_avg_ms: float
    transactions: int


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


# --------------------------------------------------------------------------------------------
# Databases and pgbench


def _pg_env() -> dict[str, str]:
    """The environment for the PostgreSQL tools, pinned to the local server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST=PG_HOST, PGPORT=PG_PORT, PGUSER=PG_USER, PGCONNECT_TIMEOUT="5")
    return env


def _pg_tool(*args: str, timeout: float) -> str:
    """Run createdb/dropdb/pgbench against the local server; return its output."""
    done = subprocess.run(
        [args[0], "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, *args[1:]],
        env=_pg_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr.strip()}")
    return done.stdout + done.stderr


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """A database created now and dropped on the way out, whatever happened."""
    _pg_tool("createdb", name, timeout=60)
    try:
        yield name
    finally:
        try:
            _pg_tool("dropdb", "--if-exists", "--force", name, timeout=120)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"!! could not drop database {name}: {error}", file=sys.stderr)


def run_pgbench(
    database: str, clients: int, seconds: int, *, script: Sequence[str] = ("-b", "tpcb-like")
) -> PgbenchResult:
    """`pgbench -b tpcb-like -c N -j N -T seconds` (or another script) on a database."""
    checkpoint()
    out = _pg_tool(
        "pgbench",
        *script,
        "-c",
        str(clients),
        "-j",
        str(clients),
        "-T",
        str(seconds),
        database,
        timeout=seconds + 180,
    )
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    if tps is None or latency is None or processed is None:
        raise RuntimeError(f"could not read pgbench's output:\n{out}")
    return PgbenchResult(
        clients=clients,
        tps=float(tps.group(1)),
        latency_avg_ms=float(latency.group(1)),
        transactions=int(processed.group(1)),
    )


def run_replay(
    database: str, clients: int, seconds: int, *, lines: int, sql: Path = REPLAY
) -> PgbenchResult:
    """The renewal's own SQL (renewal_replay.sql, or the floor) run by pgbench, no Python."""
    script = ("-n", "-M", "prepared", "-f", str(sql), "-D", f"lines={lines}")
    vacuum_analyze(database)  # -n: pgbench does not vacuum tables that are not its own
    return run_pgbench(database, clients, seconds, script=script)


def checkpoint() -> None:
    """Flush dirty buffers now, so no measurement pays for the one before it."""
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CHECKPOINT")


def vacuum_analyze(database: str) -> None:
    """Fresh statistics on the bench database before a measurement, as pgbench gives its own.

    The outbox and renewals grow from empty during the run: with the statistics of an empty
    table the planner may read a renewal's pending SMS through the outbox's state index (every
    pending message) instead of its recipient's, and the numbers would measure that instead.
    """
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("VACUUM ANALYZE")


def database_url(name: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def raw_url(name: str) -> str:
    """The database's URL for psycopg itself."""
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def bench_platform(url: str, *, pool_size: int) -> Platform:
    """The platform exactly as bootstrap builds it for production, on the bench database."""
    settings = Settings(
        env="production",
        database_url=url,
        secret_key="bench-not-a-secret",  # noqa: S106 - nothing is signed in this benchmark
        db_pool_size=pool_size,
        data_dir=Path(tempfile.gettempdir()) / "simrenew-bench",
    )
    return build_platform(settings)


# --------------------------------------------------------------------------------------------
# Setting up the bench database


def line_msisdn(n: int) -> str:
    """The bench's n-th line: +96550000000, +96550000001, ... (as renewal_replay.sql builds it)."""
    return f"+9655{n:07d}"


def load_lines(platform: Platform, count: int, *, seed: int) -> list[Target]:
    """Bulk-insert `count` registered lines with opening balances whose ledger rows agree."""
    rng = random.Random(seed)
    now = platform.clock.now()
    with platform.uow() as uow:
        session = uow.session
        store_packages: dict[tuple[str, str], tuple[str, ...]] = {}
        for package in catalog_repository.list_packages(session):
            if "store" in package.channels:
                key = (package.operator_code, package.plan_code)
                store_packages[key] = (*store_packages.get(key, ()), package.code)
    plans = sorted(store_packages)
    if not plans:
        raise RuntimeError("the demo catalog sells no package at the store")

    customers: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    targets: list[Target] = []
    for i in range(count):
        operator_code, plan_code = plans[i % len(plans)]
        # Numbered, so that pgbench's replay can pick a random line (numbers are portable: the
        # registry, not the prefix, says which operator a line belongs to).
        msisdn = line_msisdn(i)
        customer_id = new_id()
        customers.append(
            {
                "id": customer_id,
                "id_type": "civil_id",
                "id_number": f"2{i:011d}",
                "name": f"Bench Subscriber {i}",
                "nationality": None,
                "language": rng.choice(("en", "en", "ar", "zh")),
                "created_at": now,
            }
        )
        paid = rng.randrange(0, 5_000)
        bonus = rng.randrange(500, 2_000) if rng.random() < 0.25 else 0
        # Some validities ended a day or two ago (inside every plan's grace period), so renewals
        # also record late transitions; some bonuses have expired and are written off.
        valid_until = now + timedelta(hours=rng.uniform(-48, 30 * 24))
        bonus_expires_at = now + timedelta(days=rng.uniform(-5, 30)) if bonus else None
        lines.append(
            {
                "msisdn": msisdn,
                "iccid": None,
                "operator_code": operator_code,
                "plan_code": plan_code,
                "customer_id": customer_id,
                "state": "active",
                "state_since": now - timedelta(days=30),
                "valid_until": valid_until,
                "balance_fils": paid + bonus,
                "paid_fils": paid,
                "bonus_fils": bonus,
                "bonus_expires_at": bonus_expires_at,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        history.append(
            {
                "id": new_id(),
                "msisdn": msisdn,
                "at": now,
                "event": "import",
                "from_state": None,
                "to_state": "active",
                "renewal_id": None,
                "details": {},
            }
        )
        for bucket, amount, after in (("paid", paid, paid), ("bonus", bonus, paid + bonus)):
            if amount:
                ledger.append(
                    {
                        "id": new_id(),
                        "msisdn": msisdn,
                        "at": now,
                        "bucket": bucket,
                        "kind": "opening_balance",
                        "amount_fils": amount,
                        "balance_after_fils": after,
                        "renewal_id": None,
                        "charge_id": None,
                        "charge_kind": None,
                    }
                )
        targets.append(Target(msisdn, store_packages[(operator_code, plan_code)]))

    with platform.uow() as uow:
        session = uow.session
        for model, rows in (
            (Customer, customers),
            (Line, lines),
            (LineHistory, history),
            (LedgerEntry, ledger),
        ):
            for start in range(0, len(rows), 5_000):
                session.execute(insert(model), rows[start : start + 5_000])
        uow.commit()
    return targets


def set_up(url: str, lines: int, *, seed: int) -> tuple[Caller, list[Target]]:
    """Migrate, load the demo catalog and the lines, make a store credential."""
    upgrade(url)
    platform = bench_platform(url, pool_size=1)
    try:
        load_catalog(platform.uow(), read_catalog_file(DEMO_CATALOG), clock=platform.clock)
        targets = load_lines(platform, lines, seed=seed)
        _, token = create_credential(
            platform.uow(), "store", "bench store", clock=platform.clock, actor="bench"
        )
        caller = authenticate(platform.uow(), token)
        # Fresh statistics, as pgbench vacuums its tables before each run.
        with platform.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    finally:
        platform.close()
    return caller, targets


# --------------------------------------------------------------------------------------------
# The renewal core


def renew_once(platform: Platform, caller: Caller, target: Target, package: str) -> None:
    """One renewal at a store, paid in cash, under a key never used before."""
    body = {"msisdn": target.msisdn, "package_code": package, "payment_method": "cash"}
    request = RenewalRequest(
        msisdn=target.msisdn,
        package_code=package,
        payment_method="cash",
        idempotency_key=str(uuid.uuid4()),
        body=body,
    )
    outcome = credit_renewal(platform.uow(), caller, request, clock=platform.clock)
    if outcome.replayed:  # a fresh key can never replay
        raise AssertionError(f"fresh key replayed: {request.idempotency_key}")


def renew_for(
    platform: Platform,
    caller: Caller,
    targets: Sequence[Target],
    *,
    seconds: float,
    seed: int,
    before_start: Callable[[], None] = lambda: None,
) -> ClientResult:
    """Renew random lines back to back for `seconds` (after a short warm-up)."""
    rng = random.Random(seed)
    for _ in range(WARMUP_RENEWALS):
        target = rng.choice(targets)
        renew_once(platform, caller, target, rng.choice(target.packages))
    before_start()
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    clock = time.perf_counter
    cpu_start = time.thread_time()
    start = clock()
    deadline = start + seconds
    while (began := clock()) < deadline:
        target = rng.choice(targets)
        try:
            renew_once(platform, caller, target, rng.choice(target.packages))
        except (SimrenewError, DBAPIError) as error:
            errors += 1
            if len(samples) < 5:
                samples.append(f"{type(error).__name__}: {error}"[:300])
            continue
        latencies.append((clock() - began) * 1000)
    elapsed, cpu = clock() - start, time.thread_time() - cpu_start
    return ClientResult(len(latencies), errors, elapsed, cpu, latencies, samples)


def _client_process(
    url: str,
    caller: Caller,
    targets: list[Target],
    seconds: float,
    seed: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One benchmark client in its own process, with its own connection, like a pgbench client."""
    platform = bench_platform(url, pool_size=1)
    try:

        def wait_for_go() -> None:
            ready.put(os.getpid())
            if not go.wait(timeout=300):
                raise TimeoutError("the benchmark never started")

        results.put(
            renew_for(
                platform, caller, targets, seconds=seconds, seed=seed, before_start=wait_for_go
            )
        )
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches every client; the parent reports it and drops the databases
    except BaseException as error:
        results.put(f"{type(error).__name__}: {error}")
        raise
    finally:
        platform.close()


def run_processes(
    url: str, caller: Caller, targets: list[Target], clients: int, seconds: float, *, seed: int
) -> RunResult:
    """`clients` processes renewing at once, their clocks started together."""
    args = [(url, caller, targets, seconds, seed + n) for n in range(clients)]
    got = run_together(_client_process, args, seconds=seconds, before_go=checkpoint)
    return RunResult(clients, "processes", got)


def run_threads(
    url: str, caller: Caller, targets: list[Target], clients: int, seconds: float, *, seed: int
) -> RunResult:
    """`clients` threads of one process renewing at once (they share one GIL)."""
    platform = bench_platform(url, pool_size=clients)
    barrier = threading.Barrier(clients, action=checkpoint)
    got: list[ClientResult | BaseException] = []

    def start_together() -> None:
        barrier.wait(timeout=300)

    def client(n: int) -> None:
        try:
            got.append(
                renew_for(
                    platform,
                    caller,
                    targets,
                    seconds=seconds,
                    seed=seed + n,
                    before_start=start_together,
                )
            )
        except BaseException as error:
            barrier.abort()
            got.append(error)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 300)
    finally:
        platform.close()
    failures = [g for g in got if isinstance(g, BaseException)]
    if failures or len(got) != clients:
        raise RuntimeError(f"a client thread failed: {failures[:1] or 'timed out'}")
    return RunResult(clients, "threads", [g for g in got if isinstance(g, ClientResult)])


# --------------------------------------------------------------------------------------------
# Where the time goes


_STATEMENT_KIND = re.compile(
    r"^\s*(?:(SELECT)\b.*?\bFROM\s+(\w+)|(INSERT)\s+INTO\s+(\w+)|(UPDATE)\s+(\w+)|(\w+))",
    re.IGNORECASE | re.DOTALL,
)


def statement_kind(sql: str) -> str:
    """'SELECT lines FOR UPDATE', 'INSERT ledger_entries', ... for one SQL statement.

    A data-modifying WITH is named by its writes: 'WITH (INSERT ledger_entries, ..., UPDATE
    lines)'.
    """
    if sql.lstrip().upper().startswith("WITH "):
        writes = re.findall(r"(?:\bAS \(|\) )(INSERT INTO \w+|UPDATE \w+)", sql)
        return f"WITH ({', '.join(w.replace(' INTO', '') for w in writes)})"
    # Subqueries out, so a SELECT is named by its own FROM, not by a scalar subquery's.
    while (flat := re.sub(r"\([^()]*\)", "", sql)) != sql:
        sql = flat
    match = _STATEMENT_KIND.match(sql)
    if match is None:
        return sql[:40]
    verb, table = next(
        ((match.group(i), match.group(i + 1)) for i in (1, 3, 5) if match.group(i)),
        (match.group(7) or sql[:20], ""),
    )
    kind = f"{verb.upper()} {table}".strip()
    if re.search(r"\bFOR UPDATE\b", sql, re.IGNORECASE):
        kind += " FOR UPDATE"
    return kind


def trace_statements(
    url: str, caller: Caller, targets: Sequence[Target], *, renewals: int
) -> StatementTrace:
    """Count the statements and protocol round trips of `renewals` renewals on one connection."""
    platform = bench_platform(url, pool_size=1)
    statements: Counter[str] = Counter()
    rng = random.Random(7)
    fd, trace_path = tempfile.mkstemp(prefix="simrenew-bench-pqtrace-")
    os.close(fd)
    trace_file = open(trace_path, "w")  # noqa: SIM115 - handed to libpq, closed below
    try:
        # Warm the pool and the compiled-SQL cache first, untraced.
        for _ in range(3):
            target = rng.choice(targets)
            renew_once(platform, caller, target, rng.choice(target.packages))

        def count(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
            statements[statement_kind(statement)] += 1

        with platform.engine.connect() as conn:
            pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
        pgconn.trace(trace_file.fileno())
        event.listen(platform.engine, "before_cursor_execute", count)
        for _ in range(renewals):
            target = rng.choice(targets)
            renew_once(platform, caller, target, rng.choice(target.packages))
        event.remove(platform.engine, "before_cursor_execute", count)
        pgconn.untrace()
    finally:
        platform.close()
        trace_file.close()
    messages: Counter[str] = Counter()
    for line in Path(trace_path).read_text(errors="replace").splitlines():
        # "<timestamp>\tF\t<length>\t<message>\t<fields>": F lines are what the client sent.
        parts = line.split("\t")
        if "F" in parts[:2]:
            at = parts.index("F")
            if len(parts) > at + 2:
                messages[parts[at + 2].strip()] += 1
    os.unlink(trace_path)
    return StatementTrace(renewals, statements, messages)


def _area(filename: str, name: str) -> str:
    """Which part of the stack a profiled function's own time belongs to."""
    if filename.endswith("psycopg/connection.py") and name == "wait":
        # Blocks in libpq's socket wait (C, so counted here): the round trip and the server's work.
        return "waiting for PostgreSQL (psycopg wait: round trip + server work)"
    if "/psycopg" in filename:
        return "psycopg: sending queries, reading results"
    if "/sqlalchemy/orm/" in filename:
        return "SQLAlchemy ORM (session, unit of work, loading)"
    if "/sqlalchemy/" in filename:
        return "SQLAlchemy Core (statements, cache keys, engine, pool)"
    if "/simrenew/" in filename:
        return "simrenew (services, rules, repositories)"
    if filename == "~":
        return "C builtins called from Python"
    return "standard library and others"


def _func_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    short = re.sub(r"^.*/site-packages/", "", filename)
    short = re.sub(r"^.*/src/", "", short)
    short = re.sub(r"^.*/lib/python3\.\d+/", "", short)
    return f"{short}:{line}({name})"


def profile_one_client(
    url: str, caller: Caller, targets: Sequence[Target], *, seconds: float
) -> Profile:
    """One client under cProfile for `seconds`: own time by area, and the top functions."""
    platform = bench_platform(url, pool_size=1)
    profiler = cProfile.Profile()
    try:
        rng = random.Random(11)
        for _ in range(WARMUP_RENEWALS):
            target = rng.choice(targets)
            renew_once(platform, caller, target, rng.choice(target.packages))
        done = 0
        start = time.perf_counter()
        profiler.enable()
        while time.perf_counter() - start < seconds:
            target = rng.choice(targets)
            renew_once(platform, caller, target, rng.choice(target.packages))
            done += 1
        profiler.disable()
        elapsed = time.perf_counter() - start
    finally:
        platform.close()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    areas: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in raw.items():
        area = _area(filename, name)
        areas[area] = areas.get(area, 0.0) + own
    own_top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    cum_top = sorted(
        (kv for kv in raw.items() if "/simrenew/" in kv[0][0] or "/sqlalchemy/orm/" in kv[0][0]),
        key=lambda kv: kv[1][3],
        reverse=True,
    )[:20]
    return Profile(
        renewals=done,
        seconds=elapsed,
        tps_profiled=done / elapsed,
        by_area=sorted(areas.items(), key=lambda kv: kv[1], reverse=True),
        top_own=[(_func_name(k), v[1], v[2]) for k, v in own_top],
        top_cumulative=[(_func_name(k), v[1], v[3]) for k, v in cum_top],
    )


# --------------------------------------------------------------------------------------------
# Reporting


def machine_details(url: str, *, load_before: tuple[float, float, float]) -> dict[str, str]:
    """CPU, cores, memory, load, PostgreSQL and Python versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            version = str(conn.scalar(text("SELECT version()")))
            settings = {
                name: str(conn.scalar(text(f"SHOW {name}")))
                for name in ("shared_buffers", "synchronous_commit", "fsync", "max_connections")
            }
    finally:
        engine.dispose()
    pgbench_version = subprocess.run(
        ["pgbench", "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    load_after = os.getloadavg()
    return {
        "CPU": model.group(1).strip() if model else pyplatform.processor() or "unknown",
        "cores (logical; usable by this process)": f"{os.cpu_count()} "
        f"({len(os.sched_getaffinity(0))})",
        "memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "load average (1/5/15 min) before / after the run": " / ".join(
            ", ".join(f"{x:.2f}" for x in load) for load in (load_before, load_after)
        )
        + " (other work on the machine skews every number here)",
        "kernel": f"{pyplatform.system()} {pyplatform.release()}",
        "PostgreSQL": version,
        "PostgreSQL settings": ", ".join(f"{k}={v}" for k, v in settings.items()),
        "pgbench": pgbench_version,
        "Python": f"{pyplatform.python_implementation()} {pyplatform.python_version()}",
        "SQLAlchemy / psycopg": f"{sqlalchemy.__version__} / {psycopg.__version__} "
        f"({psycopg.pq.__impl__}, libpq {psycopg.pq.version()})",
    }


def _fmt(value: float, spec: str) -> str:
    return "n/a" if value != value else format(value, spec)  # NaN when not measured


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The results table in Markdown."""
    out = [
        "| clients | simrenew renewals/s | same SQL by pgbench, no Python (TPS) "
        "| same SQL by a bare Python client, no rules (TPS) "
        "| every write in one statement, no client (TPS) "
        "| pgbench tpcb-like TPS | **ratio** simrenew / tpcb-like | simrenew / same SQL "
        "| bare Python client / tpcb-like | one statement / tpcb-like "
        "| renewal p50 ms | renewal p95 ms | client CPU ms per renewal "
        "| bare client CPU ms per renewal "
        "| tpcb-like latency avg ms | renewals (errors) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.renewal
        replay = f"{row.replay.tps:,.0f}" if row.replay else "not run"
        floor = f"{row.floor.tps:,.0f}" if row.floor else "not run"
        floor_ratio = row.floor.tps / row.pgbench.tps if row.floor else float("nan")
        bare = f"{row.bare.tps:,.0f}" if row.bare else "not run"
        bare_ratio = row.bare.tps / row.pgbench.tps if row.bare else float("nan")
        bare_cpu = row.bare.cpu_ms_per_renewal if row.bare else float("nan")
        out.append(
            f"| {row.clients} | {r.tps:,.0f} | {replay} | {bare} | {floor} "
            f"| {row.pgbench.tps:,.0f} "
            f"| **{row.ratio:.2f}** | {_fmt(row.replay_ratio, '.2f')} "
            f"| {_fmt(bare_ratio, '.2f')} | {_fmt(floor_ratio, '.2f')} "
            f"| {r.percentile(0.5):.1f} | {r.percentile(0.95):.1f} "
            f"| {r.cpu_ms_per_renewal:.2f} | {_fmt(bare_cpu, '.2f')} "
            f"| {row.pgbench.latency_avg_ms:.2f} | {r.ok:,} ({r.errors}) |"
        )
    return out


def print_table(rows: Sequence[Row]) -> None:
    """The results table on the terminal."""
    print()
    print(
        f"{'clients':>7} {'simrenew TPS':>13} {'same-SQL TPS':>13} {'tpcb-like TPS':>14} "
        f"{'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} {'CPU ms':>7} {'errors':>6}"
    )
    for row in rows:
        r = row.renewal
        replay = f"{row.replay.tps:,.0f}" if row.replay else "-"
        print(
            f"{row.clients:>7} {r.tps:>13,.0f} {replay:>13} {row.pgbench.tps:>14,.0f} "
            f"{row.ratio:>6.2f} {r.percentile(0.5):>7.1f} {r.percentile(0.95):>7.1f} "
            f"{r.cpu_ms_per_renewal:>7.2f} {r.errors:>6}"
        )
    print()


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


def other_sections(path: Path) -> str:
    """The sections other benchmarks keep in RESULTS.md (between their begin/end markers)."""
    if not path.exists():
        return ""
    blocks = re.finditer(
        r"<!-- (bench/[\w.]+): begin -->.*?<!-- \1: end -->", path.read_text(), flags=re.S
    )
    return "".join("\n" + block.group(0) + "\n" for block in blocks)


def render_results(report: Report) -> str:
    """RESULTS.md for this run."""
    args, rows = report.args, report.rows
    lowest = min(row.ratio for row in rows)
    verdict = "met" if lowest >= TARGET_RATIO else "NOT met"
    md: list[str] = [
        "# Benchmark results: the renewal core vs pgbench tpcb-like",
        "",
        "Written by `make bench` (`bench/renewal_core.py`); every run overwrites this file "
        "(see bench/README.md). Numbers on this machine vary from run to run, pgbench's by up "
        "to 1.8x: compare only numbers from the same run, and the ratio rather than raw TPS.",
        "",
        f"- run: {report.started:%Y-%m-%d %H:%M} UTC, {report.wall:.0f} s in all",
        f"- options: `--seconds {args.seconds} --lines {args.lines} --clients "
        f"{','.join(map(str, args.clients))} --workers {args.workers} --scale {args.scale}`",
        "",
        *([f"> **Warning:** {report.busy_warning}", ""] if report.busy_warning else []),
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in report.machine.items()],
        "",
        "## Results",
        "",
        f"Each cell is one {args.seconds} s measurement. simrenew clients are separate "
        f"{args.workers}, each with its own connection, calling `credit_renewal` (cash at a "
        f"store, fresh idempotency key, random line among {args.lines:,}). Right after each, "
        "pgbench runs `bench/renewal_replay.sql` (the same SQL a renewal sends, no Python) and "
        "`bench/renewal_floor.sql` (every row a renewal writes, in one statement) on the same "
        f"database, then `-b tpcb-like -c N -j N` on a scale-{args.scale} database. "
        "A CHECKPOINT precedes every measurement.",
        "",
        *table_lines(rows),
        "",
        f"Target ratio {TARGET_RATIO}: **{verdict}** (lowest ratio {lowest:.2f}).",
        "",
    ]
    if report.replay_error:
        md += [
            f"The same-SQL replay failed (`{report.replay_error}`): bring "
            "`bench/renewal_replay.sql` in line with the statement list below.",
            "",
        ]
    if report.threads is not None:
        threads = report.threads
        procs = next((row.renewal for row in rows if row.clients == threads.clients), None)
        share = f" ({threads.tps / procs.tps:.0%} of processes' {procs.tps:,.0f})" if procs else ""
        md += [
            f"The same {threads.clients} clients as threads of one process: "
            f"{threads.tps:,.0f} renewals/s{share}, p50 {threads.percentile(0.5):.1f} ms, "
            f"p95 {threads.percentile(0.95):.1f} ms. Threads share one GIL, and a renewal is "
            "mostly Python, so the table uses processes: the fair match for pgbench's clients, "
            "which run in parallel on separate connections.",
            "",
        ]
    audit = report.audit
    md += [
        "## Money check",
        "",
        f"`audit_ledger` over all {audit.lines_checked:,} lines after every run above: "
        + (
            "**balance == ledger held** for every line and every credited renewal."
            if audit.ok
            else f"**FAILED**, {len(audit.offenders())} problems; first: "
            + "; ".join(audit.offenders()[:3])
        ),
        "",
    ]
    if report.trace is not None:
        trace = report.trace
        md += [
            "## What one renewal sends to PostgreSQL",
            "",
            f"Over {trace.renewals} renewals on one connection: "
            f"**{trace.statements_per_renewal:.1f} SQL statements** and "
            f"**{trace.round_trips_per_renewal:.1f} round trips** per renewal (libpq Query and "
            "Sync messages: BEGIN, COMMIT, the pool's pre-ping and first-time PREPAREs count), "
            f"against tpcb-like's 5 statements in {TPCB_ROUND_TRIPS} round trips.",
            "",
            "| statement | per renewal |",
            "|---|---:|",
            *[
                f"| `{kind}` | {n / trace.renewals:.2f} |"
                for kind, n in trace.statements.most_common()
            ],
            "",
        ]
    if report.profile is not None:
        profile = report.profile
        total = sum(s for _, s in profile.by_area) or 1.0
        md += [
            "## Where the time goes (one client under cProfile)",
            "",
            f"{profile.renewals:,} renewals in {profile.seconds:.1f} s under cProfile "
            f"({profile.tps_profiled:,.0f}/s: the profiler slows Python code, so Python's shares "
            "are overstated; the same-SQL column above is the unprofiled split).",
            "",
            "| area | share of own time | ms per renewal |",
            "|---|---:|---:|",
            *[
                f"| {area} | {s / total:.0%} | {s * 1000 / profile.renewals:.2f} |"
                for area, s in profile.by_area
            ],
            "",
            "Top functions by own time:",
            "",
            "| function | calls per renewal | own ms per renewal |",
            "|---|---:|---:|",
            *[
                f"| `{name}` | {calls / profile.renewals:.1f} | "
                f"{own * 1000 / profile.renewals:.3f} |"
                for name, calls, own in profile.top_own
            ],
            "",
            "simrenew and ORM functions by cumulative time:",
            "",
            "| function | calls per renewal | cumulative ms per renewal |",
            "|---|---:|---:|",
            *[
                f"| `{name}` | {calls / profile.renewals:.1f} | "
                f"{cum * 1000 / profile.renewals:.3f} |"
                for name, calls, cum in profile.top_cumulative
            ],
            "",
        ]
    md += ["## Interpretation", "", *interpretation(report), ""]
    return "\n".join(md)


def interpretation(report: Report) -> list[str]:
    """A few sentences drawn from this run's own numbers."""
    rows, trace, profile, threads = report.rows, report.trace, report.profile, report.threads
    one = next((r for r in rows if r.clients == 1), rows[0])
    out = [
        "- **Different work.** A tpcb-like transaction is 5 statements on 4 narrow tables "
        "(3 UPDATEs by key, 1 SELECT, 1 INSERT), driven by a C client. A renewal authorises the "
        "caller, then in one locking query reads the line, its subscriber's language, the "
        "catalog version and any renewal under the same idempotency key; it prices the package "
        "from the process's cached catalog, then writes the renewal, ledger row(s), line "
        "history, receipt and outbox SMS, withdraws the line's unsent notices and updates the "
        "line: about 6 inserts into wider rows with 2-4 indexes each, sent at commit as one "
        "data-modifying WITH (`simrenew.db.deferred`). Both commit once, so both pay one WAL "
        "flush per transaction."
    ]
    if trace is not None:
        out.append(
            f"- **Round trips.** {trace.statements_per_renewal:.1f} statements and "
            f"{trace.round_trips_per_renewal:.1f} round trips per renewal, "
            f"{trace.round_trips_per_renewal / TPCB_ROUND_TRIPS:.1f}x tpcb-like's "
            f"{TPCB_ROUND_TRIPS}; {_catalog_reads(trace):.0f} of the statements read the "
            "catalog, which changes only when a catalog file is loaded."
        )
    if one.replay is not None:
        sql_ms = 1000 / one.replay.tps
        total_ms = 1000 / one.renewal.tps
        out.append(
            f"- **Database vs Python, unprofiled.** At 1 client pgbench runs the renewal's own "
            f"SQL at {one.replay.tps:,.0f}/s ({sql_ms:.2f} ms each, "
            f"{one.replay.tps / one.pgbench.tps:.2f} of tpcb-like): that is the ceiling of the "
            f"ratio with the SQL as it is, however fast the Python. The service takes "
            f"{total_ms:.2f} ms per renewal, so about {max(0.0, 1 - sql_ms / total_ms):.0%} of "
            f"a renewal's time is Python (SQLAlchemy, psycopg's Python layer, simrenew) "
            f"around the SQL."
        )
    bares = [row for row in rows if row.bare is not None]
    if bares:
        figures = ", ".join(
            f"{row.bare.tps / row.pgbench.tps:.2f} of tpcb-like at {row.clients} client(s) "
            f"with {row.bare.cpu_ms_per_renewal:.2f} ms of client CPU per renewal"
            for row in bares
            if row.bare is not None
        )
        out.append(
            "- **A bare Python client.** The same SQL sent by processes running nothing but "
            "psycopg with prepared statements, no SQLAlchemy and no business logic (no pricing, "
            f"rules, receipt or SMS to build): {figures}. That is the most a Python client of "
            "this database reaches on this machine, whatever its code: the renewal core adds "
            "the rules, the rows to build and SQLAlchemy on top of it."
        )
    floors = [row for row in rows if row.floor is not None]
    if floors:
        ratios = ", ".join(
            f"{row.floor.tps / row.pgbench.tps:.2f} at {row.clients}"
            for row in floors
            if row.floor is not None
        )
        out.append(
            "- **The database's floor.** `renewal_floor.sql` writes every row of a renewal in "
            "one statement with no client work at all: tpcb-like's rate times "
            f"{ratios} client(s). The database alone would allow the target; what a renewal "
            "spends beyond that is the client's statements and Python."
        )
    if profile is not None:
        total = sum(s for _, s in profile.by_area) or 1.0
        sa = sum(s for a, s in profile.by_area if a.startswith("SQLAlchemy")) / total
        ours = sum(s for a, s in profile.by_area if a.startswith("simrenew")) / total
        out.append(
            f"- **Inside the Python.** Under cProfile SQLAlchemy takes {sa:.0%} of the "
            f"client's own time and simrenew's own code (rules, services) {ours:.0%}: "
            "the cost is per statement (building, compiling-cache lookups, ORM loading and "
            "flushing), not in the business rules."
        )
    if len(rows) > 1:
        many = rows[-1]
        cores = os.cpu_count() or 1
        out.append(
            f"- **{many.clients} clients on {cores} cores.** Client processes and PostgreSQL "
            f"backends share the CPUs: the renewal core scales "
            f"{many.renewal.tps / one.renewal.tps:.1f}x from 1 client, tpcb-like "
            f"{many.pgbench.tps / one.pgbench.tps:.1f}x. At "
            f"{many.renewal.cpu_ms_per_renewal:.2f} ms of client CPU per renewal the "
            f"{many.clients} clients alone kept "
            f"{many.renewal.tps * many.renewal.cpu_ms_per_renewal / 1000:.2f} of {cores} cores "
            "busy, leaving the rest to PostgreSQL: client CPU per renewal decides the ratio "
            "once the cores are full."
        )
    if threads is not None:
        procs = next((row.renewal for row in rows if row.clients == threads.clients), None)
        if procs is not None:
            out.append(
                f"- **Threads vs processes.** {threads.clients} threads reached "
                f"{threads.tps / procs.tps:.0%} of {threads.clients} processes' throughput "
                "(the GIL serialises the Python half of every renewal)."
            )
    out.append(
        "- Re-run `make bench` after each change to `src/` and compare the ratio and the "
        "simrenew / same-SQL column; update `renewal_replay.sql` when the statement list above "
        "changes."
    )
    return out


def _catalog_reads(trace: StatementTrace) -> float:
    catalog = ("operators", "plans", "packages", "promotions", "payment_methods")
    hits = sum(n for kind, n in trace.statements.items() if kind.split(" ")[-1] in catalog)
    return hits / trace.renewals


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The renewal core against pgbench tpcb-like (see bench/README.md)."
    )
    parser.add_argument("--seconds", type=int, default=15, help="per measurement (default 15)")
    parser.add_argument("--lines", type=int, default=10_000, help="lines to load (default 10000)")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1, 4],
        help="comma-separated client counts (default 1,4)",
    )
    parser.add_argument(
        "--workers",
        choices=("processes", "threads"),
        default="processes",
        help="how simrenew's clients run (default processes, like pgbench's parallel clients)",
    )
    parser.add_argument(
        "--no-threads-check",
        dest="threads_check",
        action="store_false",
        help="skip the extra run of the largest client count as threads",
    )
    parser.add_argument(
        "--no-replay",
        dest="replay",
        action="store_false",
        help="skip pgbench's replay of the renewal's SQL (renewal_replay.sql)",
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=5.0,
        help="profile one client with cProfile for this long (0 skips; default 5)",
    )
    parser.add_argument("--scale", type=int, default=10, help="pgbench scale (default 10)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="report to write (default bench/RESULTS.md)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 600 or args.lines < 10 or min(args.clients) < 1:
        parser.error("need 1 <= --seconds <= 600, --lines >= 10 and at least 1 client")
    if max(args.clients) > 32:
        parser.error("at most 32 clients (the server allows 100 connections)")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that drops the databases


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark; 0 when it ran and the money audit held."""
    args = parse_args(argv)
    for tool in ("createdb", "dropdb", "pgbench"):
        if shutil.which(tool) is None:
            print(f"{tool} is not on PATH (Debian: apt-get install postgresql-client)")
            return 2
    if not DEMO_CATALOG.exists():
        print(f"the demo catalog {DEMO_CATALOG} is missing")
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    tag = uuid.uuid4().hex[:8]

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {message}", flush=True)

    with (
        throwaway_database(f"simrenew_bench_{tag}") as app_db,
        throwaway_database(f"simrenew_bench_pgbench_{tag}") as pgbench_db,
    ):
        url = database_url(app_db)
        step(f"databases {app_db} and {pgbench_db} created on {PG_HOST}:{PG_PORT}")
        caller, targets = set_up(url, args.lines, seed=args.seed)
        step(f"migrated; demo catalog, {len(targets):,} lines and a store credential loaded")
        _pg_tool("pgbench", "-i", "-q", "-s", str(args.scale), pgbench_db, timeout=600)
        step(f"pgbench -i -s {args.scale} done")

        rows: list[Row] = []
        replay_error: str | None = None
        run = run_processes if args.workers == "processes" else run_threads
        for n, clients in enumerate(args.clients):
            vacuum_analyze(app_db)
            renewal = run(url, caller, targets, clients, args.seconds, seed=args.seed + 100 * n)
            step(
                f"renewal core, {clients} client(s) as {args.workers}: {renewal.tps:,.0f}/s "
                f"({renewal.ok:,} renewals, {renewal.errors} errors)"
            )
            for sample in (s for c in renewal.clients_results for s in c.error_samples[:2]):
                print(f"    error: {sample}")
            replay = None
            if args.replay and replay_error is None:
                try:
                    replay = run_replay(app_db, clients, args.seconds, lines=args.lines)
                except RuntimeError as error:
                    # The replay is hand-written: a schema change can break it, not the run.
                    output = str(error).splitlines()
                    replay_error = next((x for x in output if "ERROR" in x), output[-1])[:300]
                    step(f"same-SQL replay failed, skipped from now on: {replay_error}")
                else:
                    step(f"same SQL by pgbench, {clients} client(s): {replay.tps:,.0f} TPS")
            bare = None
            if replay is not None:  # it sends the replay's SQL: only once pgbench could
                bare = run_bare_clients(
                    raw_url(app_db),
                    REPLAY,
                    clients,
                    args.seconds,
                    lines=args.lines,
                    before_go=checkpoint,
                )
                step(f"same SQL by a bare Python client, {clients} client(s): {bare.tps:,.0f}/s")
            floor = None
            if replay is not None:  # the floor is hand-written too, against the same schema
                floor = run_replay(app_db, clients, args.seconds, lines=args.lines, sql=FLOOR)
                step(f"every write in one statement, {clients} client(s): {floor.tps:,.0f} TPS")
            pgbench = run_pgbench(pgbench_db, clients, args.seconds)
            step(f"pgbench tpcb-like, {clients} client(s): {pgbench.tps:,.0f} TPS")
            rows.append(Row(clients, renewal, pgbench, replay, floor, bare))

        threads: RunResult | None = None
        if args.threads_check and args.workers == "processes" and max(args.clients) > 1:
            vacuum_analyze(app_db)
            threads = run_threads(
                url, caller, targets, max(args.clients), args.seconds, seed=args.seed + 999
            )
            step(f"renewal core, {threads.clients} clients as threads: {threads.tps:,.0f}/s")

        trace = trace_statements(url, caller, targets, renewals=50)
        step(
            f"one renewal: {trace.statements_per_renewal:.1f} statements, "
            f"{trace.round_trips_per_renewal:.1f} round trips"
        )
        profile: Profile | None = None
        if args.profile_seconds > 0:
            profile = profile_one_client(url, caller, targets, seconds=args.profile_seconds)
            step(f"profiled one client: {profile.renewals:,} renewals")

        platform = bench_platform(url, pool_size=1)
        try:
            audit = audit_ledger(platform.uow())
        finally:
            platform.close()
        machine = machine_details(url, load_before=load_before)

    print_table(rows)
    if audit.ok:
        print(f"audit: balance == ledger held on all {audit.lines_checked:,} lines")
    else:
        print(f"audit FAILED ({len(audit.offenders())} problems):")
        for offender in audit.offenders()[:10]:
            print(f"  {offender}")
    report = Report(
        args=args,
        started=started,
        wall=time.perf_counter() - t0,
        machine=machine,
        rows=rows,
        threads=threads,
        trace=trace,
        profile=profile,
        audit=audit,
        load_before=load_before,
        replay_error=replay_error,
    )
    if report.busy_warning:
        print(f"warning: {report.busy_warning}")
    args.results.write_text(render_results(report) + other_sections(args.results))
    step(f"wrote {args.results}")
    return 0 if audit.ok else 1


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
