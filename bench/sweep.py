"""Benchmark: the lifecycle sweep over 1,000,000 lines against a bare set-based SQL UPDATE.

Creates a throwaway database on 127.0.0.1:5432 (dropped at the end, even on failure or SIGTERM),
loads the demo catalog and N lines with COPY, 10% of them due for a transition, a reminder or a
recycle warning, spread over the MSISDN range and every plan. The lines table is copied
(same indexes) and a single `UPDATE ... FROM plans` moves the same due rows of the copy; then
`sweep_lifecycle` runs on the real table as the worker runs it. Prints both times and their
ratio (the issue's target: 2.0 or less), the cost of a sweep with nothing left to do (what the
worker pays every minute), checks every balance against its ledger and replaces the sweep
section of bench/RESULTS.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import psycopg

from results_sections import markers, write_section
from simrenew.bootstrap import Platform, build_platform
from simrenew.catalog import repository as catalog_repository
from simrenew.catalog.rules import read_catalog_file
from simrenew.catalog.service import load_catalog
from simrenew.clock import FixedClock
from simrenew.db.migrate import upgrade
from simrenew.ids import new_id
from simrenew.lines.sweep import SweepSummary, sweep_lifecycle
from simrenew.renewals.audit import audit_ledger
from simrenew.settings import Settings

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_CATALOG = Path(__file__).parents[1] / "src" / "simrenew" / "catalog" / "demo" / "demo.yaml"
RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = markers("bench/sweep.py")
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 10:00 in Kuwait: outside quiet hours
CUSTOMERS = 1000
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# (kind, share of all lines): the due 10% first, then the 90% with nothing due.
DUE_MIX: tuple[tuple[str, float], ...] = (("to_grace", 3.5), ("to_suspended", 1.5))
DUE_MIX += (("to_recycled", 1.0), ("warning", 0.5), ("reminder", 3.5))
IDLE_MIX = (("active", 80.0), ("grace", 3.0), ("suspended", 3.0), ("recycled", 4.0))


@dataclass(frozen=True)
class Plan:
    operator_code: str
    code: str
    grace: timedelta
    suspension: timedelta
    last_reminder: timedelta


@dataclass
class Timings:
    lines: int
    due: Counter[str]
    load_s: float
    update_s: float
    update_rows: int
    sweep_s: float
    idle_s: float
    summary: SweepSummary
    audit_ok: bool
    batch_size: int
    connections: int

    @property
    def ratio(self) -> float:
        return self.sweep_s / self.update_s


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that drops the database


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A database created now and dropped on the way out, whatever happened."""
    name = f"simrenew_bench_sweep_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _checkpoint() -> None:
    """Flush dirty buffers, so no measurement pays for the writes before it."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _valid_until(kind: str, plan: Plan, rng: random.Random) -> tuple[str, datetime]:
    """The recorded state and an end date that make a line of `plan` of this kind."""
    gone = plan.grace + plan.suspension

    def between(start: timedelta, end: timedelta) -> datetime:
        return NOW + start + (end - start) * rng.random()

    if kind == "to_grace":
        return "active", between(-plan.grace + HOUR, timedelta(0))
    if kind == "to_suspended":
        return "grace", between(-gone + 4 * DAY, -plan.grace)
    if kind == "to_recycled":
        return "suspended", between(-gone - 30 * DAY, -gone)
    if kind == "warning":
        return "suspended", between(-gone + HOUR, -gone + 3 * DAY - HOUR)
    if kind == "reminder":
        return "active", between(HOUR, plan.last_reminder)
    if kind == "active":
        return "active", between(plan.last_reminder + HOUR, 365 * DAY)
    if kind == "grace":
        return "grace", between(-plan.grace + HOUR, -HOUR)
    if kind == "suspended":
        return "suspended", between(-gone + 3 * DAY + HOUR, -plan.grace - HOUR)
    return "recycled", between(-400 * DAY, -gone - DAY)


def load(url: str, plans: list[Plan], count: int, *, seed: int) -> Counter[str]:
    """COPY customers, `count` lines and the ledger rows of the balances that will be forfeited."""
    rng = random.Random(seed)
    kinds = [kind for kind, _ in DUE_MIX + IDLE_MIX]
    weights = [share for _, share in DUE_MIX + IDLE_MIX]
    drawn: Counter[str] = Counter()
    customer_ids = [new_id() for _ in range(CUSTOMERS)]
    with psycopg.connect(_plain(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY customers (id, id_type, id_number, name, language, created_at) FROM STDIN"
        ) as copy:
            for n, customer_id in enumerate(customer_ids):
                language = rng.choices(("en", "ar", "zh"), (6, 3, 1))[0]
                copy.write_row((customer_id, "passport", f"P{n:07d}", "Bench", language, NOW))
        ledger: list[tuple[object, ...]] = []
        columns = "msisdn, operator_code, plan_code, customer_id, state, state_since, valid_until"
        columns += ", balance_fils, paid_fils, bonus_fils, version, created_at, updated_at"
        with cur.copy(f"COPY lines ({columns}) FROM STDIN") as copy:
            for n in range(count):
                kind = rng.choices(kinds, weights)[0]
                drawn[kind] += 1
                plan = rng.choice(plans)
                state, valid_until = _valid_until(kind, plan, rng)
                msisdn = f"+9655{n:07d}"
                balance = 1000 if kind in ("to_recycled", "warning") else 0
                if balance:
                    ledger.append(
                        (new_id(), msisdn, NOW - 60 * DAY, "paid", "opening_balance", 1000, 1000)
                    )
                customer = customer_ids[n % CUSTOMERS]
                since = NOW - 400 * DAY
                row = [msisdn, plan.operator_code, plan.code, customer, state, since]
                row += [valid_until, balance, balance, 0, 1, NOW, NOW]
                copy.write_row(row)
        with cur.copy(
            "COPY ledger_entries (id, msisdn, at, bucket, kind, amount_fils, balance_after_fils)"
            " FROM STDIN"
        ) as copy:
            for entry in ledger:
                copy.write_row(entry)
        # The copy the bare UPDATE runs on: same columns, constraints and indexes.
        cur.execute("CREATE TABLE bench_lines (LIKE lines INCLUDING ALL)")
        cur.execute("INSERT INTO bench_lines SELECT * FROM lines")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return drawn


# The same rows the sweep handles, moved in one statement: transitions get their new state,
# rows due only for a reminder or a warning are touched (updated_at, version) as the closest
# a bare UPDATE comes to "this line was handled".
BARE_UPDATE = """
UPDATE bench_lines AS l SET
    state = CASE
        WHEN l.state = 'recycled' THEN l.state
        WHEN l.valid_until + make_interval(days => p.grace_days + p.suspension_days) <= %(now)s
            THEN 'recycled'
        WHEN l.valid_until + make_interval(days => p.grace_days) <= %(now)s THEN 'suspended'
        WHEN l.valid_until <= %(now)s THEN 'grace'
        ELSE l.state END,
    updated_at = %(now)s,
    version = l.version + 1
FROM plans AS p
WHERE p.operator_code = l.operator_code AND p.code = l.plan_code AND (
    (l.state = 'active' AND l.valid_until <= %(now)s + make_interval(days => (
        SELECT coalesce(max(d::int), 0) FROM json_array_elements_text(p.reminder_days) AS d)))
    OR (l.state = 'grace' AND l.valid_until + make_interval(days => p.grace_days) <= %(now)s)
    OR (l.state = 'suspended' AND l.valid_until
        + make_interval(days => p.grace_days + p.suspension_days - 3) <= %(now)s)
)
"""


def bare_update(url: str) -> tuple[float, int]:
    """Time the set-based UPDATE of the due rows of the copy (commit included)."""
    _checkpoint()
    with psycopg.connect(_plain(url)) as conn:
        started = time.perf_counter()
        rows = conn.execute(BARE_UPDATE, {"now": NOW}).rowcount
        conn.commit()
        return time.perf_counter() - started, rows


def timed_sweep(platform: Platform, batch_size: int) -> tuple[float, SweepSummary]:
    """Time one sweep at NOW, as the worker runs it."""
    _checkpoint()
    started = time.perf_counter()
    summary = sweep_lifecycle(platform, now=NOW, batch_size=batch_size)
    return time.perf_counter() - started, summary


def report(t: Timings) -> str:
    """The RESULTS.md section for this run."""
    s = t.summary
    transitions = ", ".join(f"{a} -> {b}: {n:,}" for (a, b), n in sorted(s.transitions.items()))
    reminders = ", ".join(f"{d}-day: {n:,}" for d, n in sorted(s.reminders.items()))
    due = sum(t.due[kind] for kind, _ in DUE_MIX)
    load = os.getloadavg()
    return "\n".join(
        [
            BEGIN,
            "## Lifecycle sweep (`bench/sweep.py`)",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, PostgreSQL "
            f"on 127.0.0.1; load average after the run {load[0]:.2f} / {load[1]:.2f}.",
            f"{t.lines:,} lines loaded with COPY in {t.load_s:.1f} s; {due:,} due "
            f"({due / t.lines:.1%}): "
            + ", ".join(f"{kind} {t.due[kind]:,}" for kind, _ in DUE_MIX)
            + f". Batch size {t.batch_size:,}, {t.connections} connections.",
            "",
            "| measurement | seconds | rows | rows/s |",
            "|---|---:|---:|---:|",
            f"| bare `UPDATE lines ... FROM plans` of the due rows (a copy) | {t.update_s:.2f} "
            f"| {t.update_rows:,} | {t.update_rows / t.update_s:,.0f} |",
            f"| `sweep_lifecycle` | {t.sweep_s:.2f} | {s.lines_examined:,} "
            f"| {s.lines_examined / t.sweep_s:,.0f} |",
            f"| `sweep_lifecycle` again, nothing left to do | {t.idle_s:.2f} | 0 | |",
            "",
            f"**Ratio sweep / bare UPDATE: {t.ratio:.2f}** (target 2.0 or less).",
            "",
            f"The sweep recorded {s.transitions.total():,} transitions ({transitions}), queued "
            f"{s.sms_queued:,} SMS (reminders {reminders}; recycle warnings "
            f"{s.notices['recycle_warning']:,}), pooled {s.numbers_pooled:,} numbers and "
            f"forfeited {s.forfeited_fils / 1000:,.3f} KWD through the ledger in "
            f"{s.batches} transactions. Audit after the run: "
            + ("every balance equals its ledger." if t.audit_ok else "**FAILED**."),
            "",
            "The bare UPDATE changes one row per due line and writes nothing else. The sweep "
            "reads each due line with its subscriber's language, runs the lifecycle rules and "
            "renders the SMS in Python, and writes the line, one history row per transition, "
            "one outbox row per SMS (five indexes) and, on recycling, ledger and pool rows. "
            "Each batch is one transaction sending one statement per table (PostgreSQL "
            "`unnest()` of binary arrays, a column with one value for the whole batch sent "
            "once); batches are claimed one after another in MSISDN order and worked on "
            f"{t.connections} at a time, so PostgreSQL writes some while Python prepares "
            "others. The idle re-run is the worker's cost every minute: one pass over the "
            "lines' primary key with a probe of the outbox's dedupe key for lines in a "
            "reminder window.",
            END,
        ]
    )


def write_results(section: str, path: Path) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it)."""
    write_section("bench/sweep.py", section, path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines to load")
    parser.add_argument("--batch-size", type=int, default=5000, help="lines per transaction")
    parser.add_argument(
        "--connections",
        type=int,
        default=Settings.model_fields["sweep_connections"].default,
        help="batches worked on at once (SIMRENEW_SWEEP_CONNECTIONS)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--results", type=Path, default=RESULTS, help="report to update")
    parser.add_argument("--no-results", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.lines < 100 or args.batch_size < 1 or not 1 <= args.connections <= 16:
        parser.error("need --lines >= 100, --batch-size >= 1 and --connections from 1 to 16")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran and the audit held, 1 otherwise."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    t0 = time.perf_counter()

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {message}", flush=True)

    with throwaway_database() as url:
        step(f"database {url.rsplit('/', 1)[1]} created")
        upgrade(url)
        settings = Settings(
            env="production",
            database_url=url,
            secret_key="bench-not-a-secret",  # noqa: S106 - nothing is signed here
            quiet_hours="",
            sweep_connections=args.connections,
            data_dir=Path(tempfile.gettempdir()) / "simrenew-bench",
        )
        platform = build_platform(settings, clock=FixedClock(NOW))
        try:
            load_catalog(platform.uow(), read_catalog_file(DEMO_CATALOG), clock=platform.clock)
            with platform.uow() as uow:
                plans = [
                    Plan(
                        p.operator_code,
                        p.code,
                        p.grace_days * DAY,
                        p.suspension_days * DAY,
                        max(p.reminder_days, default=0) * DAY,
                    )
                    for p in catalog_repository.list_plans(uow.session)
                ]
            started = time.perf_counter()
            due = load(url, plans, args.lines, seed=args.seed)
            load_s = time.perf_counter() - started
            step(f"{args.lines:,} lines loaded in {load_s:.1f} s; {len(plans)} plans")
            update_s, update_rows = bare_update(url)
            step(f"bare UPDATE: {update_rows:,} rows in {update_s:.2f} s")
            sweep_s, summary = timed_sweep(platform, args.batch_size)
            step(f"sweep: {summary.lines_examined:,} lines in {sweep_s:.2f} s")
            idle_s, idle = timed_sweep(platform, args.batch_size)
            step(f"sweep again: {idle.lines_examined} lines in {idle_s:.2f} s")
            audit = audit_ledger(platform.uow())
            step(f"audit: {'ok' if audit.ok else 'FAILED'} ({audit.lines_checked:,} lines)")
        finally:
            platform.close()
    timings = Timings(
        args.lines,
        due,
        load_s,
        update_s,
        update_rows,
        sweep_s,
        idle_s,
        summary,
        audit.ok,
        args.batch_size,
        args.connections,
    )
    if update_rows != summary.lines_examined:
        print(f"!! the UPDATE moved {update_rows:,} rows, the sweep examined a different number")
    section = report(timings)
    print(section)
    if not args.no_results:
        write_results(section, args.results)
        print(f"{args.results} updated")
    return 0 if audit.ok and idle.changes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
