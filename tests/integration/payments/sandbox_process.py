"""Start `simrenew sandbox-gateway` as its own process on a free loopback port, for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from simrenew.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SandboxProcess:
    """A running sandbox gateway and the settings that reach it (shared secrets included)."""

    base_url: str
    settings: Settings  # data_dir holds the generated gateway secrets both sides read
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """What the gateway printed (for failure messages)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the gateway process."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_sandbox(data_dir: Path) -> SandboxProcess:
    """Start the gateway with its secrets in `data_dir` and wait until it answers."""
    port = free_port()
    settings = Settings(env="test", data_dir=data_dir, sandbox_port=port, secret_key="test-secret")
    for name in ("knet_tranportal_id", "knet_tranportal_password", "knet_resource_key"):
        settings.secret(name)  # generated here first, so both processes read the same values
    for name in ("tap_secret_key", "sandbox_gateway_secret"):
        settings.secret(name)
    env = {
        **os.environ,
        "SIMRENEW_ENV": "test",
        "SIMRENEW_DATA_DIR": str(data_dir),
        "SIMRENEW_SANDBOX_PORT": str(port),
        "SIMRENEW_HOST": "127.0.0.1",
        "SIMRENEW_LOG_LEVEL": "WARNING",
    }
    log_path = data_dir / "sandbox-gateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "simrenew.cli.main", "sandbox-gateway"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    sandbox = SandboxProcess(base_url, settings, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox gateway exited:\n{sandbox.log()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return sandbox
        except httpx.TransportError:
            time.sleep(0.1)
    sandbox.stop()
    raise RuntimeError(f"sandbox gateway did not answer in 30 s:\n{sandbox.log()}")
