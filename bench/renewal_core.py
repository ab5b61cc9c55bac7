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
import os
import random
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy.exc import DBAPIError

from bare_client import run_bare_clients
from machine import machine_details
from pg_tools import (
    PG_HOST,
    PG_PORT,
    checkpoint,
    database_url,
    pg_tool,
    raw_url,
    run_pgbench,
    run_replay,
    throwaway_database,
    vacuum_analyze,
)
from processes import run_together
from renewal_report import other_sections, print_table, render_results
from renewal_results import ClientResult, Profile, Report, Row, RunResult
from renewal_setup import (
    DEMO_CATALOG,
    WARMUP_RENEWALS,
    Target,
    bench_platform,
    renew_once,
    set_up,
)
from renewal_trace import profile_one_client, trace_statements
from simrenew.bootstrap import Platform
from simrenew.errors import SimrenewError
from simrenew.renewals.audit import audit_ledger
from simrenew.staff.rules import Caller

RESULTS = Path(__file__).with_name("RESULTS.md")
REPLAY = Path(__file__).with_name("renewal_replay.sql")
FLOOR = Path(__file__).with_name("renewal_floor.sql")


# --------------------------------------------------------------------------------------------
# The renewal core


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
        pg_tool("pgbench", "-i", "-q", "-s", str(args.scale), pgbench_db, timeout=600)
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
                    replay = run_replay(app_db, clients, args.seconds, lines=args.lines, sql=REPLAY)
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
