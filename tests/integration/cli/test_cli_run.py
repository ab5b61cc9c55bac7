"""`simrenew run` (what `make run` starts) as a real process: serves, answers, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 90
STOP_SECONDS = 10


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    base: str
    printed: str
    serve_pid: int
    worker_pid: int
    sandbox_pid: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_health(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"simrenew run exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"/healthz never answered:\n{log.read_text()}")


@contextmanager
def simrenew_run(tmp_path: Path) -> Iterator[Running]:
    """`simrenew run` in its own session on a free port, killed with its children at the end."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMRENEW_")}
    env.update(
        SIMRENEW_ENV="development",
        SIMRENEW_DATA_DIR=str(tmp_path / "var"),
        SIMRENEW_PORT=str(port),
        SIMRENEW_SANDBOX_PORT=str(_free_port()),
        SIMRENEW_WORKER_INTERVAL_SECONDS="0.5",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simrenew.cli.main", "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
            start_new_session=True,  # its own process group: the cleanup below ends exactly it
        )
    try:
        _wait_for_health(base, proc, log)
        printed = log.read_text()
        pids = re.search(
            r"Started serve pid (\d+), worker pid (\d+), sandbox-gateway pid (\d+)\.", printed
        )
        assert pids is not None, printed
        yield Running(proc, base, printed, *(int(pid) for pid in pids.groups()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_run_serves_the_demo_and_stops_both_children_on_sigint(tmp_path: Path) -> None:
    with simrenew_run(tmp_path) as run:
        token = re.search(r"^\s+store\s+(\S+)$", run.printed, re.MULTILINE)
        assert token is not None, run.printed
        assert f"{run.base}/docs" in run.printed
        assert f"{run.base}/dev/sms" in run.printed
        assert run.printed.count("curl ") == 3  # a line, a cash renewal, a card renewal

        answer = httpx.get(
            f"{run.base}/api/v1/lines/50000101",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            timeout=5,
        )
        saved = tmp_path / "var" / "demo-credentials.json"

        assert answer.status_code == 200, answer.text
        assert answer.json()["msisdn"] == "+96550000101"
        assert saved.stat().st_mode & 0o777 == 0o600
        assert token.group(1) in saved.read_text()

        started = time.monotonic()
        run.proc.send_signal(signal.SIGINT)
        code = run.proc.wait(timeout=STOP_SECONDS)

        assert code == 0
        assert time.monotonic() - started < STOP_SECONDS
        assert _gone(run.serve_pid)
        assert _gone(run.worker_pid)
        assert _gone(run.sandbox_pid)


def test_when_one_child_dies_the_other_is_stopped_and_run_fails(tmp_path: Path) -> None:
    with simrenew_run(tmp_path) as run:
        os.kill(run.worker_pid, signal.SIGKILL)
        code = run.proc.wait(timeout=STOP_SECONDS)

        assert code != 0
        assert _gone(run.serve_pid)
        assert _gone(run.sandbox_pid)
