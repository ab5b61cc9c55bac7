"""Browser journeys: Debian's chromium driven by Playwright against simrenew and the sandbox
gateway, each its own process on loopback, as a subscriber would use them.

The browser is never downloaded: Playwright launches /usr/bin/chromium (installed by
scripts/install-system-packages.sh). Screenshots of the main pages go to test-artifacts/screenshots/
for review. The journeys run on the embedded SQLite database, as `make run` serves it; every
service they use is tested on PostgreSQL too by tests/integration.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from integration.payments.sandbox_process import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
WAIT_SECONDS = 30.0


@dataclass
class Site:
    """`simrenew run` serving the demo (development: /dev/sms shows every SMS) over HTTP."""

    base_url: str
    sandbox_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def otp_for(self, msisdn: str, *, after: str | None = None) -> str:
        """The newest one-time code texted to a line (read from the development SMS store);
        `after`: a code already used, to wait for the next one."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            for text in self.sms_texts(msisdn):  # newest first
                found = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
                if found and found.group(1) != after:
                    return found.group(1)
            assert time.monotonic() < deadline, f"no code texted to {msisdn}"
            time.sleep(0.2)

    def sms_texts(self, msisdn: str) -> list[str]:
        """Every SMS to a line, newest first."""
        messages = httpx.get(
            f"{self.base_url}/dev/sms",
            params={"to": msisdn},
            headers={"Accept": "application/json"},
            timeout=5,
        ).json()
        return [m["text"] for m in messages]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`simrenew run`, as `make run` starts it: the demo, web, worker and the sandbox gateway."""
    data_dir = tmp_path_factory.mktemp("e2e")
    port, sandbox_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIMRENEW_")},
        "SIMRENEW_ENV": "development",
        "SIMRENEW_DATA_DIR": str(data_dir),
        "SIMRENEW_PORT": str(port),
        "SIMRENEW_PUBLIC_URL": base_url,
        "SIMRENEW_SANDBOX_PORT": str(sandbox_port),
        "SIMRENEW_WORKER_INTERVAL_SECONDS": "0.5",
        "SIMRENEW_QUIET_HOURS": "",
        "SIMRENEW_LOG_LEVEL": "WARNING",
    }
    log_path = data_dir / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "simrenew.cli.main", "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,  # its own process group: stopped as one below
        )
    try:
        _wait_until_healthy(base_url, process, log_path)
        _wait_until_healthy(f"http://127.0.0.1:{sandbox_port}", process, log_path)
        yield Site(base_url, f"http://127.0.0.1:{sandbox_port}", data_dir, process, log_path)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh phone-sized browser context (360 px wide, its own cookies) and page."""
    context = browser.new_context(
        viewport={"width": 360, "height": 780}, accept_downloads=True, locale="en-US"
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        snapshot(opened, f"FAILED-{request.node.name}")
    context.close()


def snapshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot for review under test-artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the test item (to screenshot failures)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
