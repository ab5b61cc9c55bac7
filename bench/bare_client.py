"""The renewal's own SQL sent by a bare Python client: psycopg alone, no SQLAlchemy, no rules.

bench/renewal_core.py runs this beside the renewal core. Each client process sends exactly what
`renewal_replay.sql` sends (the locking read, then every write in one statement, one commit),
with psycopg's prepared statements and no business logic at all: no pricing, no rules, no
receipts or SMS to build. It is what any Python client of this database can reach on this
machine, however lean its code: the distance from it to pgbench's replay of the same SQL is the
cost of Python and psycopg themselves, and the distance from the renewal core to it is ours.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from processes import run_together

# pgbench's `:name` variables (not `::type` casts) become psycopg's %(name)s.
_VARIABLE = re.compile(r"(?<![:\w]):([a-z_]\w*)")
# Its client ids are 0..N-1: these clients' keys never meet theirs under the same scope.
CLIENT_ID_OFFSET = 100


@dataclass(frozen=True)
class BareResult:
    """What the bare clients did together in their timed window."""

    clients: int
    ok: int
    elapsed: float
    cpu: float  # CPU seconds of the client processes (Python + psycopg), summed

    @property
    def tps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else float("nan")

    @property
    def cpu_ms_per_renewal(self) -> float:
        return 1000 * self.cpu / max(1, self.ok)


def replay_statements(script: Path) -> tuple[str, str]:
    """The replay's locking read and its one writing statement, with psycopg placeholders."""
    lines = [
        line
        for line in script.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith(("--", "\\set"))
    ]
    # pgbench ends a query with `;` or with a `\gset` meta-command.
    text = "\n".join(lines).replace("\\gset l_\n", "\\gset l_;\n")
    statements = [s.strip().rstrip(";") for s in text.split(";\n") if s.strip()]
    if [s.split()[0].upper() for s in statements] != ["BEGIN", "SELECT", "WITH", "END"]:
        raise RuntimeError(f"{script.name}: expected BEGIN, SELECT ... \\gset, WITH ..., END")
    read, write = statements[1], statements[2]
    read = read.removesuffix("\\gset l_").strip()
    return _VARIABLE.sub(r"%(\1)s", read), _VARIABLE.sub(r"%(\1)s", write)


def _client(
    dsn: str,
    script: Path,
    lines: int,
    client_id: int,
    seconds: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One bare client process: what it did, or why it failed, goes on `results`."""
    try:
        results.put(_renew_for(dsn, script, lines, client_id, seconds, ready, go))
    except BaseException as error:
        results.put(f"{type(error).__name__}: {error}")
        raise


def _renew_for(
    dsn: str, script: Path, lines: int, client_id: int, seconds: float, ready: Any, go: Any
) -> tuple[int, float, float]:
    """Warm up, wait for the start, then send renewals' SQL for `seconds`."""
    read, write = replay_statements(script)
    rng = random.Random()  # not seeded: each run, and each client, needs keys of its own
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn, conn.cursor() as cursor:
        names: list[str] = []

        def renew() -> None:
            nonlocal names
            params: dict[str, Any] = {
                "n": rng.randrange(lines),
                "r": rng.randrange(1, 10**12),
                "client_id": client_id,
            }
            cursor.execute(read, params, prepare=True)
            row = cursor.fetchone()
            if not names:
                names = [f"l_{column.name}" for column in cursor.description or ()]
            params.update(zip(names, row or (), strict=True))
            cursor.execute(write, params, prepare=True)
            conn.commit()

        for _ in range(20):  # prepared statements, caches: as the renewal core's warm-up
            renew()
        ready.put(client_id)
        if not go.wait(timeout=300):
            raise TimeoutError("the bare clients never started")
        ok, cpu0, start = 0, time.thread_time(), time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            renew()
            ok += 1
        return ok, time.perf_counter() - start, time.thread_time() - cpu0


def run_bare_clients(
    dsn: str,
    script: Path,
    clients: int,
    seconds: float,
    *,
    lines: int,
    before_go: Callable[[], None] = lambda: None,
) -> BareResult:
    """`clients` bare client processes sending the replay's SQL for `seconds`, together."""
    replay_statements(script)  # refuse a script it cannot follow before starting anything
    args = [(dsn, script, lines, CLIENT_ID_OFFSET + n, seconds) for n in range(clients)]
    got = run_together(_client, args, seconds=seconds, before_go=before_go)
    return BareResult(
        clients=clients,
        ok=sum(ok for ok, _, _ in got),
        elapsed=max(elapsed for _, elapsed, _ in got),
        cpu=sum(cpu for _, _, cpu in got),
    )
