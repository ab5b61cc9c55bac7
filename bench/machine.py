"""The machine a benchmark ran on: CPU, cores, memory, load, PostgreSQL and Python versions."""

from __future__ import annotations

import os
import platform as pyplatform
import re
import subprocess
from pathlib import Path

import psycopg
import sqlalchemy
from sqlalchemy import text


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
