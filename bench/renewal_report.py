"""bench/RESULTS.md from one run of bench/renewal_core.py: tables, machine, interpretation."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from renewal_results import TARGET_RATIO, TPCB_ROUND_TRIPS, Report, Row, StatementTrace


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
    md += budget_lines(rows)
    md += ["## Interpretation", "", *interpretation(report), ""]
    return "\n".join(md)


def budget_lines(rows: Sequence[Row]) -> list[str]:
    """What the target leaves for the client's CPU, from this run's own measurements."""
    measured = [row for row in rows if row.replay is not None]
    if not measured:
        return []
    out = [
        "## What the target leaves for the client",
        "",
        f"How much client CPU (Python, driver, rules) a renewal may use for the ratio to reach "
        f"{TARGET_RATIO}, given how fast this run's PostgreSQL ran the SQL alone (pgbench, no "
        "client work): with the renewal's SQL as it is, and with every write in one statement "
        "(the floor). The clients can keep min(clients, cores) CPUs busy; each renewal costs "
        "the SQL's time plus the client's, so the budget is "
        "`min(clients, cores) x (1 / (target x tpcb-like TPS) - 1 / SQL TPS)`. The same model, "
        "run forwards from each client's measured CPU, predicts the throughputs beside it.",
        "",
        "| clients | budget with the renewal's SQL (ms) | budget with the floor (ms) "
        "| bare Python client CPU (ms) | its TPS predicted / measured "
        "| simrenew client CPU (ms) | its TPS predicted / measured |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in measured:
        assert row.replay is not None
        replay_tps, r = row.replay.tps, row.renewal
        floor = row.client_cpu_budget_ms(row.floor.tps) if row.floor else float("nan")
        bare = "n/a | n/a"
        if row.bare is not None:
            cpu = row.bare.cpu_ms_per_renewal
            bare = f"{cpu:.2f} | {row.predicted_tps(replay_tps, cpu):,.0f} / {row.bare.tps:,.0f}"
        predicted = row.predicted_tps(replay_tps, r.cpu_ms_per_renewal)
        out.append(
            f"| {row.clients} | {row.client_cpu_budget_ms(replay_tps):.2f} | {_fmt(floor, '.2f')} "
            f"| {bare} | {r.cpu_ms_per_renewal:.2f} | {predicted:,.0f} / {r.tps:,.0f} |"
        )
    out += [
        "",
        "A budget at or below the bare client's CPU means no Python client doing any work "
        "beyond sending the SQL can reach the target on this machine.",
        "",
    ]
    return out


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
