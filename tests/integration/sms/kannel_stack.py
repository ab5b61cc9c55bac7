"""A real Kannel for tests: bearerbox, smsbox and the fake SMSC as child processes.

Everything runs on free loopback ports chosen at start, in a private directory, with
passwords generated for the run. Processes are stopped by the ids we started, never by name.
"""

from __future__ import annotations

import secrets
import signal
import socket
import string
import subprocess
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
INSTALL_SCRIPT = Path(__file__).parents[3] / "scripts" / "install-system-packages.sh"
TEMPLATE = Path(__file__).parent / "kannel_config" / "kannel.conf"
READY_SECONDS = 30.0
STOP_SECONDS = 15.0


def kannel_missing() -> list[str]:
    """The Kannel programs that are not installed."""
    return [str(path) for path in (BEARERBOX, SMSBOX, FAKESMSC) if not path.exists()]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class KannelStack:
    """bearerbox + smsbox + fakesmsc; `start()` and `stop()` may be called again and again."""

    directory: Path
    username: str = "simrenew"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    fakesmsc_logs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ports = {
            name: free_port() for name in ("admin_port", "smsbox_port", "smsc_port", "sendsms_port")
        }
        config = string.Template(TEMPLATE.read_text()).substitute(
            **self.ports,
            directory=self.directory,
            username=self.username,
            password=self.password,
            admin_password=self.admin_password,
        )
        self.config = self.directory / "kannel.conf"
        self.config.write_text(config)

    @property
    def sendsms_url(self) -> str:
        """Where simrenew's kannel transport sends."""
        return f"http://127.0.0.1:{self.ports['sendsms_port']}/cgi-bin/sendsms"

    def start(self) -> None:
        """Start the three processes and wait until the fake SMSC is online behind smsbox."""
        self._spawn("bearerbox", [str(BEARERBOX), str(self.config)])
        self._wait_for(lambda: self._status() is not None, "bearerbox's admin port")
        self._spawn("smsbox", [str(SMSBOX), str(self.config)])
        self._wait_for(lambda: _listening(self.ports["sendsms_port"]), "smsbox's sendsms port")
        log = self.directory / f"fakesmsc-{len(self.fakesmsc_logs) + 1}.log"
        self.fakesmsc_logs.append(log)
        # With a message to send and -m 0 it sends nothing: it only receives, logging each one.
        command = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.ports["smsc_port"])]
        self._spawn("fakesmsc", [*command, "-i", "0.1", "-m", "0", "0 0 text unused"], log)
        self._wait_for(self._online, "the fake SMSC online and smsbox connected")

    def stop(self) -> None:
        """SIGTERM smsbox, bearerbox, then fakesmsc (by pid), waiting for each to exit."""
        for name in ("smsbox", "bearerbox", "fakesmsc"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def received(self) -> list[tuple[str, str, bytes, str]]:
        """Every message the fake SMSC got, parts joined: (from, to, payload, coding)."""
        return parse_fakesmsc_logs(self.fakesmsc_logs)

    def _spawn(self, name: str, command: list[str], log: Path | None = None) -> None:
        output = (log or self.directory / f"{name}.out").open("ab")
        with output:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - fixed programs, our config
                command,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def _status(self) -> str | None:
        url = f"http://127.0.0.1:{self.ports['admin_port']}/status.txt"
        try:
            answer = httpx.get(url, params={"password": self.admin_password}, timeout=2)
        except httpx.HTTPError:
            return None
        return answer.text if answer.status_code == 200 else None

    def _online(self) -> bool:
        status = self._status() or ""
        return "(online" in status and "smsbox:" in status

    def _wait_for(self, ready: object, what: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"kannel: {dead} exited while waiting for {what}")
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"kannel: no {what} after {READY_SECONDS:g} s (logs in {self.directory})"
        )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _unquote(text: str) -> bytes:
    # fakesmsc URL-encodes binary bodies: %XX for bytes, '+' for a space.
    return urllib.parse.unquote_to_bytes(text.replace("+", " "))


def parse_fakesmsc_logs(logs: list[Path]) -> list[tuple[str, str, bytes, str]]:
    """The messages in fakesmsc's logs (`Got message N: <FROM TO TYPE BODY>`), parts joined.

    `text` bodies are plain; `ucs-2` bodies are URL-encoded UTF-16BE; concatenated parts come as
    `udh <UDH> data <BODY>` (URL-encoded), joined here by their reference and sequence numbers.
    """
    messages: list[tuple[str, str, bytes, str]] = []
    parts: dict[tuple[str, str, int], dict[int, bytes]] = {}
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            if "Got message" not in line:
                continue
            inner = line.split(": <", 1)[1].removesuffix(">")
            sender, to, kind, body = inner.split(" ", 3)
            if kind == "text":
                messages.append((sender, to, body.encode(), "text"))
            elif kind == "ucs-2":
                messages.append((sender, to, _unquote(body), "ucs-2"))
            elif kind == "udh":
                udh_text, _data, data = body.split(" ", 2)
                udh = _unquote(udh_text)
                # 05 00 03 <reference> <total> <sequence>: the concatenation header.
                reference, total, sequence = udh[3], udh[4], udh[5]
                key = (sender, to, reference)
                parts.setdefault(key, {})[sequence] = _unquote(data)
                if len(parts[key]) == total:
                    pieces = parts.pop(key)
                    joined = b"".join(pieces[n] for n in range(1, total + 1))
                    messages.append((sender, to, joined, "parts"))
            else:
                raise AssertionError(f"fakesmsc logged a message of unknown type: {line}")
    return messages


def received_texts(
    received: list[tuple[str, str, bytes, str]], expected: set[tuple[str, str]]
) -> Counter[tuple[str, str]]:
    """How often each (to, text) arrived; a message matching nothing expected counts as itself.

    A `ucs-2` body is UTF-16BE; a `text` body is the text; joined parts do not say their coding
    in fakesmsc's log, so both readings are tried against what was sent.
    """
    texts: Counter[tuple[str, str]] = Counter()
    for _sender, to, payload, coding in received:
        readings = []
        if coding in ("ucs-2", "parts") and len(payload) % 2 == 0:
            readings.append(payload.decode("utf-16-be", errors="replace"))
        if coding in ("text", "parts"):
            readings.append(payload.decode("utf-8", errors="replace"))
        match = next(((to, t) for t in readings if (to, t) in expected), None)
        texts[match or (to, f"unexpected: {readings!r}")] += 1
    return texts
