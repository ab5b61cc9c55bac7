"""PostgreSQL for the benchmarks: throwaway databases, pgbench, checkpoints (127.0.0.1 only)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

# Only the local server: a benchmark never sends traffic anywhere else.
PG_HOST = "127.0.0.1"


PG_PORT = "5432"


PG_USER = "postgres"


ADMIN_URL = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"


@dataclass
class PgbenchResult:
    clients: int
    tps: float
    latency_avg_ms: float
    transactions: int


def _pg_env() -> dict[str, str]:
    """The environment for the PostgreSQL tools, pinned to the local server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST=PG_HOST, PGPORT=PG_PORT, PGUSER=PG_USER, PGCONNECT_TIMEOUT="5")
    return env


def pg_tool(*args: str, timeout: float) -> str:
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
    pg_tool("createdb", name, timeout=60)
    try:
        yield name
    finally:
        try:
            pg_tool("dropdb", "--if-exists", "--force", name, timeout=120)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"!! could not drop database {name}: {error}", file=sys.stderr)


def run_pgbench(
    database: str, clients: int, seconds: int, *, script: Sequence[str] = ("-b", "tpcb-like")
) -> PgbenchResult:
    """`pgbench -b tpcb-like -c N -j N -T seconds` (or another script) on a database."""
    checkpoint()
    out = pg_tool(
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
    database: str, clients: int, seconds: int, *, lines: int, sql: Path
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
