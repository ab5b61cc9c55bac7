"""Benchmark: how fast the worker drains the SMS outbox on PostgreSQL with the `log` transport.

Creates a throwaway database on 127.0.0.1:5432 (dropped at the end, also on an error or
Ctrl-C), queues N messages (a tenth in the priority lane), then runs the worker's outbox job
(`send_due_sms`: claim a batch with SKIP LOCKED, send with no transaction open, record the
outcomes) until nothing is left, in one or more drainer processes. Prints messages/s and checks
that every message was sent exactly once. See bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import func, insert, select

from results_sections import markers, write_section
from simrenew.bootstrap import build_platform
from simrenew.db.migrate import upgrade
from simrenew.ids import new_id
from simrenew.logs import configure_logging
from simrenew.notify.models import OutboxMessage
from simrenew.notify.sms.log import LogTransport
from simrenew.settings import Settings
from simrenew.workers.outbox import send_due_sms

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # only the local server
INSERT_CHUNK = 10_000


class CountingLogTransport(LogTransport):
    """The log transport, also counting which message ids it was handed (to check once-only)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Send like `log`, and note the id."""
        self.ids.append(message_id)
        return super().send(recipient, text, language=language, message_id=message_id)


def queue(url: str, count: int) -> None:
    """Insert `count` due messages, one in ten in the priority lane."""
    platform = build_platform(Settings(env="test", database_url=url))
    now = datetime.now(UTC) - timedelta(minutes=1)
    try:
        with platform.engine.begin() as conn:
            for start in range(0, count, INSERT_CHUNK):
                rows: list[dict[str, object]] = [
                    {
                        "id": new_id(),
                        "msisdn": f"+9655{n:07d}",
                        "recipient": f"+9655{n:07d}",
                        "lane": "priority" if n % 10 == 0 else "bulk",
                        "template": "reminder",
                        "language": "en",
                        "params": {},
                        "body": f"Zahra: your line {n:07d} expires in 3 days. Dial *100# to renew.",
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for n in range(start, min(start + INSERT_CHUNK, count))
                ]
                conn.execute(insert(OutboxMessage), rows)
    finally:
        platform.close()


def drain(url: str, batch: int, results: mp.Queue[list[str]]) -> None:
    """One drainer process: the worker's outbox job until nothing is due."""
    configure_logging("WARNING")  # the log transport's per-message line is not what we time
    # No quiet hours: the bulk lane would otherwise wait for 09:00 Kuwait time whenever the
    # benchmark runs at night, and only the priority lane's tenth would be drained.
    settings = Settings(
        env="test",
        database_url=url,
        outbox_batch_size=batch,
        sms_rate_per_second=1e9,
        quiet_hours="",
    )
    platform = build_platform(settings)
    transport = CountingLogTransport()
    try:
        while send_due_sms(platform, transport):
            pass
    finally:
        platform.close()
    results.put(transport.ids)


def main() -> int:
    """Run the benchmark; exit 1 when a message was lost or sent twice."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="SIMRENEW_OUTBOX_BATCH_SIZE")
    parser.add_argument("--drainers", type=int, default=1, help="worker processes at once")
    args = parser.parse_args()

    name = f"simrenew_bench_outbox_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        started = time.perf_counter()
        queue(url, args.messages)
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE outbox")
        print(f"queued {args.messages:,} messages in {time.perf_counter() - started:.1f} s")

        results: mp.Queue[list[str]] = mp.get_context("spawn").Queue()
        context = mp.get_context("spawn")
        drainers = [
            context.Process(target=drain, args=(url, args.batch, results))
            for _ in range(args.drainers)
        ]
        started = time.perf_counter()
        for process in drainers:
            process.start()
        sent_ids = [message_id for _ in drainers for message_id in results.get()]
        elapsed = time.perf_counter() - started
        for process in drainers:
            process.join()

        platform = build_platform(Settings(env="test", database_url=url))
        with platform.engine.connect() as conn:
            by_state = dict(
                conn.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                ).all()
            )
        platform.close()
        twice = sum(1 for count in Counter(sent_ids).values() if count > 1)
        print(
            f"drained {len(sent_ids):,} messages in {elapsed:.1f} s with {args.drainers} "
            f"drainer(s), batch {args.batch}: {len(sent_ids) / elapsed:,.0f} messages/s "
            "(log transport, PostgreSQL, start-up of the drainer processes included)"
        )
        print(f"outbox by state afterwards: {by_state}; sent twice: {twice}")
        ok = by_state == {"sent": args.messages} and not twice
        begin, end = markers("bench/outbox_drain.py")
        write_section(
            "bench/outbox_drain.py",
            "\n".join(
                [
                    begin,
                    "## Outbox drain rate (`bench/outbox_drain.py`)",
                    "",
                    f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: "
                    f"{args.messages:,} queued SMS drained by {args.drainers} worker "
                    f"process(es), batch {args.batch}, `log` transport, PostgreSQL on "
                    f"127.0.0.1: **{len(sent_ids) / elapsed:,.0f} messages/s** "
                    f"({elapsed:.1f} s, process start-up included). Afterwards: {by_state}; "
                    f"sent twice: {twice}. {'Every message sent exactly once.' if ok else ''}",
                    end,
                ]
            ),
        )
        return 0 if ok else 1
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
