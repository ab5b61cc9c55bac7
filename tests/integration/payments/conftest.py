"""Payment tests run against the sandbox gateway as a separate process on loopback.

simrenew itself is served by uvicorn on a free port (the gateway's callbacks arrive over real
HTTP), on each test database, with the real clock: gateways sign with real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from builders import load_demo_catalog, make_caller, make_line
from integration.payments.sandbox_process import SandboxProcess, free_port, start_sandbox
from simrenew.bootstrap import Platform
from simrenew.clock import SystemClock
from simrenew.notify.models import OutboxMessage
from simrenew.payments.models import Payment
from simrenew.renewals.audit import audit_ledger
from simrenew.renewals.models import LedgerEntry, Receipt
from simrenew.settings import Settings
from simrenew.web.app import build_app

WAIT_SECONDS = 15.0
MSISDN = "+96550001234"


@pytest.fixture(scope="session")
def sandbox_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox gateway process for the whole run (payments are told apart by reference)."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("gateway"))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> SystemClock:
    """The real clock: the gateway signs its callbacks with the real time."""
    return SystemClock()


@pytest.fixture
def settings(db_url: str, sandbox_gateway: SandboxProcess, tmp_path: Path) -> Settings:
    """Settings reaching the sandbox gateway, with simrenew's own address on a free port."""
    port = free_port()
    return Settings(
        env="test",
        database_url=db_url,
        data_dir=sandbox_gateway.settings.data_dir,  # the gateway secrets both sides share
        secret_key="test-secret",
        sandbox_port=sandbox_gateway.settings.sandbox_port,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
    )


@dataclass
class Journey:
    """A partner's renewals paid on the sandbox gateway's pages, and what they left behind."""

    platform: Platform
    base_url: str
    sandbox: SandboxProcess
    token: str
    http: httpx.Client

    def renew(
        self,
        method: str = "card",
        *,
        msisdn: str = MSISDN,
        package: str = "kd10",
        key: str | None = None,
        expect: int = 201,
    ) -> dict[str, Any]:
        """POST /api/v1/renewals as the partner; the answer's body."""
        answer = self.http.post(
            f"{self.base_url}/api/v1/renewals",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": key or f"key-{time.monotonic_ns()}",
            },
            json={"msisdn": msisdn, "package_code": package, "payment": {"method": method}},
        )
        assert answer.status_code == expect, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def open_page(self, started: dict[str, Any]) -> httpx.Response:
        """The payer following the channel's link to the gateway's hosted page."""
        page = self.http.get(started["payment"]["redirect_url"], follow_redirects=True)
        assert page.status_code == 200, page.text
        assert str(page.url).startswith(self.sandbox.base_url)
        return page

    def complete(
        self, payment_ref: str, outcome: str = "approved", *, callback: str = "once"
    ) -> dict[str, Any]:
        """The payer's outcome on the gateway's page (the sandbox's test helper)."""
        answer = self.http.post(
            f"{self.sandbox.base_url}/api/payments/{payment_ref}/complete",
            json={"outcome": outcome, "callback": callback, "delay_seconds": 1.5},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def browse_back(self, completed: dict[str, Any]) -> httpx.Response:
        """The payer's browser going back to simrenew as the gateway sends it."""
        browser = completed["browser"]
        if browser["method"] == "POST":
            return self.http.post(browser["url"], data=browser["fields"], follow_redirects=True)
        return self.http.get(browser["url"], follow_redirects=True)

    def status(self, payment_ref: str) -> dict[str, Any]:
        """What the result page's poll sees."""
        answer = self.http.get(f"{self.base_url}/payments/{payment_ref}/status")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def wait_for(self, payment_ref: str, *states: str) -> dict[str, Any]:
        """Poll the result page's status until the payment reaches one of `states`."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            status = self.status(payment_ref)
            if status["state"] in states:
                return status
            assert time.monotonic() < deadline, f"payment still {status['state']}"
            time.sleep(0.2)

    def renewal(self, renewal_id: str) -> dict[str, Any]:
        """GET /api/v1/renewals/{id} as the partner."""
        answer = self.http.get(
            f"{self.base_url}/api/v1/renewals/{renewal_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def balance(self, msisdn: str = MSISDN) -> int:
        """The line's balance as the API shows it."""
        answer = self.http.get(
            f"{self.base_url}/api/v1/lines/{msisdn}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert answer.status_code == 200, answer.text
        balance: int = answer.json()["balance_fils"]
        return balance

    def callback(self, gateway: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST a callback to simrenew as a gateway (or a forger) would."""
        return self.http.post(
            f"{self.base_url}/api/v1/payments/callbacks/{gateway}", content=body, headers=headers
        )

    def gateway_payment(self, payment_ref: str) -> dict[str, Any]:
        """The payment as the sandbox gateway holds it."""
        answer = self.http.get(f"{self.sandbox.base_url}/api/payments/{payment_ref}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def credits_of(self, renewal_id: str) -> int:
        """Ledger credit rows written for a renewal (exactly 1 once credited, 0 before)."""
        with self.platform.uow() as uow:
            return (
                uow.session.scalar(
                    select(func.count())
                    .select_from(LedgerEntry)
                    .where(LedgerEntry.renewal_id == renewal_id, LedgerEntry.amount_fils > 0)
                )
                or 0
            )

    def receipts_of(self, renewal_id: str) -> int:
        """Receipts issued for a renewal."""
        with self.platform.uow() as uow:
            return (
                uow.session.scalar(
                    select(func.count())
                    .select_from(Receipt)
                    .where(Receipt.renewal_id == renewal_id)
                )
                or 0
            )

    def sms(self, template: str, msisdn: str = MSISDN) -> list[str]:
        """Texts of the SMS queued to a line with a template."""
        with self.platform.uow() as uow:
            return list(
                uow.session.scalars(
                    select(OutboxMessage.body).where(
                        OutboxMessage.msisdn == msisdn, OutboxMessage.template == template
                    )
                )
            )

    def payment_row(self, payment_ref: str) -> Payment:
        """The stored payment."""
        with self.platform.uow() as uow:
            payment = uow.session.scalars(
                select(Payment).where(Payment.payment_ref == payment_ref)
            ).one()
            return payment

    def assert_books_balance(self) -> None:
        """Every balance equals its ledger and every credited renewal its credit."""
        report = audit_ledger(self.platform.uow())
        assert report.ok, report.offenders


def serve(platform: Platform) -> Callable[[], None]:
    """Serve simrenew on the settings' port in a thread; the function that stops it."""
    config = uvicorn.Config(
        build_app(platform.settings, platform=platform),
        host="127.0.0.1",
        port=platform.settings.port,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=WAIT_SECONDS)

    return stop


@pytest.fixture
def journey(platform: Platform, sandbox_gateway: SandboxProcess) -> Iterator[Journey]:
    """The demo catalog, one zahra line, a partner credential and simrenew served over HTTP."""
    load_demo_catalog(platform)
    make_line(platform, MSISDN, paid_fils=1_000)
    _, token = make_caller(platform, "partner")
    stop = serve(platform)
    with httpx.Client(timeout=10) as http:
        yield Journey(platform, platform.settings.public_url, sandbox_gateway, token, http)
    stop()
