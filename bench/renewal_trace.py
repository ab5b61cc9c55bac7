"""What one renewal sends to PostgreSQL, and where its time goes (under cProfile)."""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event

from renewal_results import Profile, StatementTrace
from renewal_setup import WARMUP_RENEWALS, Target, bench_platform, renew_once
from simrenew.staff.rules import Caller

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
