"""Reconciliation: payments left open expire, captures nobody credited are credited exactly once
(even after simrenew was killed), captures that cannot be credited come back with an SMS, and
the day's settlement adds up."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from builders import load_demo_catalog, make_caller, make_line
from integration.payments.conftest import MSISDN, WAIT_SECONDS, Journey
from integration.payments.sandbox_process import SandboxProcess, free_port
from simrenew.bootstrap import Platform
from simrenew.cli.main import app
from simrenew.clock import FixedClock, to_kuwait
from simrenew.lines.models import Line
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.gateways.factory import build_gateways
from simrenew.payments.models import Payment
from simrenew.payments.reconciliation import (
    ReconcileSummary,
    reconcile_payments,
    settlement_report,
)

LONG_AGO = timedelta(days=400)  # past every plan's grace, suspension and recycle periods


def _reconcile_later(platform: Platform, *, minutes: int = 20) -> ReconcileSummary:
    """One reconciliation pass as if run `minutes` from now (past every payment's deadline)."""
    later = FixedClock(platform.clock.now() + timedelta(minutes=minutes))
    return reconcile_payments(platform.uow(), platform.payments, clock=later)


@pytest.mark.parametrize("method", ["card", "knet", "wallet:paypal"])
def test_a_payment_nobody_finished_expires_at_its_deadline(journey: Journey, method: str) -> None:
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)  # the payer looked at the page and went away
    soon = reconcile_payments(
        journey.platform.uow(), journey.platform.payments, clock=journey.platform.clock
    )
    assert soon.asked == 0  # not past its deadline yet
    summary = _reconcile_later(journey.platform)
    assert summary.asked == 1
    renewal = journey.renewal(started["renewal_id"])
    assert (renewal["state"], renewal["payment"]["state"]) == ("failed", "expired")
    link = journey.http.get(started["payment"]["redirect_url"])
    assert link.headers["location"].endswith(f"/payments/{ref}/return")
    again = _reconcile_later(journey.platform)
    assert again.asked == 0


def test_a_capture_the_callback_never_brought_is_credited_by_reconciliation(
    journey: Journey,
) -> None:
    started = journey.renew("card")
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    journey.complete(ref, "approved", callback="never")  # and the browser never came back
    assert journey.payment_row(ref).state == "pending"
    summary = _reconcile_later(journey.platform)
    assert summary.asked == 1
    assert journey.renewal(started["renewal_id"])["state"] == "credited"
    assert journey.credits_of(started["renewal_id"]) == 1
    assert len(journey.sms("renewal_confirmation")) == 1


@pytest.mark.parametrize("method", ["card", "knet"])
def test_a_capture_for_a_line_recycled_meanwhile_is_refunded_with_an_sms(
    journey: Journey, method: str
) -> None:
    started = journey.renew(method)
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    with journey.platform.uow() as uow:  # the number was recycled while the payer paid
        uow.session.execute(
            update(Line)
            .where(Line.msisdn == MSISDN)
            .values(
                state="recycled", valid_until=journey.platform.clock.now() - timedelta(days=400)
            )
        )
        uow.commit()
    journey.browse_back(journey.complete(ref, "approved"))
    payment = journey.payment_row(ref)
    assert (payment.state, payment.flag) == ("captured", "uncreditable")
    assert journey.credits_of(started["renewal_id"]) == 0
    assert journey.renewal(started["renewal_id"])["state"] == "failed"

    summary = reconcile_payments(
        journey.platform.uow(), journey.platform.payments, clock=journey.platform.clock
    )
    assert (summary.refunds_requested, summary.refunds_done) == (1, 1)
    payment = journey.payment_row(ref)
    assert (payment.state, payment.refunded_fils) == ("refunded", started["total_fils"])
    assert journey.renewal(started["renewal_id"])["state"] == "refunded"
    assert journey.gateway_payment(ref)["refunded_fils"] == started["total_fils"]
    [told] = journey.sms("payment_refunded")
    assert "10.000" in told
    again = reconcile_payments(
        journey.platform.uow(), journey.platform.payments, clock=journey.platform.clock
    )
    assert (again.refunds_requested, again.refunds_done) == (0, 0)
    assert journey.gateway_payment(ref)["refunded_fils"] == started["total_fils"]

    today = to_kuwait(journey.platform.clock.now()).date()
    [row] = settlement_report(journey.platform.uow(), today)
    assert (row.captures, row.gross_fils, row.refunds, row.refunded_fils, row.net_fils) == (
        1,
        started["total_fils"],
        1,
        started["total_fils"],
        0,
    )


def test_the_settlement_csv_sums_the_day_per_gateway_and_method(
    journey: Journey, tmp_path: Path
) -> None:
    for method in ("card", "card", "wallet:applepay", "knet"):
        started = journey.renew(method)
        journey.open_page(started)
        journey.complete(started["payment"]["payment_ref"], "approved")
    declined = journey.renew("card")
    journey.open_page(declined)
    journey.complete(declined["payment"]["payment_ref"], "declined")
    settings = journey.platform.settings
    out = tmp_path / "settlement.csv"
    result = CliRunner().invoke(
        app,
        ["settlement", "--day", to_kuwait(journey.platform.clock.now()).date().isoformat(),
         "--out", str(out)],
        env={"SIMRENEW_DATABASE_URL": settings.resolved_database_url, "SIMRENEW_ENV": "test",
             "SIMRENEW_DATA_DIR": str(settings.data_dir)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    by_method = {(r["gateway"], r["method"]): r for r in rows}
    assert set(by_method) == {("tap", "card"), ("tap", "wallet:applepay"), ("knet", "knet")}
    card = by_method[("tap", "card")]
    assert (card["captures"], card["gross_fils"], card["fees_fils"]) == ("2", "20000", "0")
    wallet = by_method[("tap", "wallet:applepay")]
    assert (wallet["gross_fils"], wallet["fees_fils"]) == ("10250", "250")
    bad_day = CliRunner().invoke(app, ["settlement", "--day", "25/11/2026"], env={})
    assert bad_day.exit_code == 2
    assert "not a date" in bad_day.output


def test_a_gateway_that_does_not_answer_charges_nothing_and_the_same_key_retries(
    journey: Journey,
) -> None:
    platform = journey.platform
    working = platform.payments
    down = platform.settings.model_copy(update={"tap_url": f"http://127.0.0.1:{free_port()}"})
    platform.__dict__["payments"] = PaymentDesk(
        gateways=build_gateways(down), links=working.links, timeout=working.timeout
    )
    answer = journey.http.post(
        f"{journey.base_url}/api/v1/renewals",
        headers={"Authorization": f"Bearer {journey.token}", "Idempotency-Key": "k-outage"},
        json={"msisdn": MSISDN, "package_code": "kd10", "payment": {"method": "card"}},
    )
    assert answer.status_code == 503
    assert answer.json()["code"] == "gateway_unavailable"
    platform.payments.gateways["tap"].close()
    platform.__dict__["payments"] = working
    retried = journey.renew("card", key="k-outage")
    assert retried["payment"]["state"] == "pending"
    journey.open_page(retried)


# -- simrenew killed between the capture and the credit ---------------------------------------


@contextmanager
def _simrenew_process(platform: Platform, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`simrenew serve` as its own process on the platform's settings."""
    settings = platform.settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIMRENEW_")},
        "SIMRENEW_ENV": "test",
        "SIMRENEW_DATABASE_URL": settings.resolved_database_url,
        "SIMRENEW_DATA_DIR": str(settings.data_dir),
        "SIMRENEW_PORT": str(settings.port),
        "SIMRENEW_PUBLIC_URL": settings.public_url,
        "SIMRENEW_SANDBOX_PORT": str(settings.sandbox_port),
        "SIMRENEW_SECRET_KEY": "test-secret",
        "SIMRENEW_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "simrenew.cli.main", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{settings.public_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_simrenew_killed_before_crediting_a_capture_credits_it_once_after(
    platform: Platform, sandbox_gateway: SandboxProcess, tmp_path: Path
) -> None:
    load_demo_catalog(platform)
    make_line(platform, MSISDN, paid_fils=1_000)
    _, token = make_caller(platform, "partner")
    base = platform.settings.public_url
    log = tmp_path / "serve.log"
    with httpx.Client(timeout=10) as http, _simrenew_process(platform, log) as server:
        started = http.post(
            f"{base}/api/v1/renewals",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-kill"},
            json={"msisdn": MSISDN, "package_code": "kd10", "payment": {"method": "card"}},
        ).json()
        ref = started["payment"]["payment_ref"]
        http.get(started["payment"]["redirect_url"], follow_redirects=True)
        server.send_signal(signal.SIGKILL)  # simrenew dies; the payer pays all the same
        server.wait(timeout=10)
        done = http.post(
            f"{sandbox_gateway.base_url}/api/payments/{ref}/complete",
            json={"outcome": "approved"},
        ).json()
        assert done["state"] == "captured"  # the gateway took the money; its callback failed

    journey = Journey(platform, base, sandbox_gateway, token, httpx.Client(timeout=10))
    try:
        assert journey.payment_row(ref).state == "pending"
        assert journey.credits_of(started["renewal_id"]) == 0
        _reconcile_later(platform)
        assert journey.credits_of(started["renewal_id"]) == 1
        with _simrenew_process(platform, log):
            # The gateway retries its callback once simrenew is back: applied already, so nothing.
            resent = journey.http.post(f"{sandbox_gateway.base_url}/api/payments/{ref}/callback")
            assert resent.status_code == 200
            assert resent.json()["reply"] is not None  # simrenew answered it
            assert journey.renewal(started["renewal_id"])["state"] == "credited"
        _reconcile_later(platform)
        assert journey.credits_of(started["renewal_id"]) == 1
        assert journey.receipts_of(started["renewal_id"]) == 1
        assert len(journey.sms("renewal_confirmation")) == 1
        journey.assert_books_balance()
    finally:
        journey.http.close()


def test_reconcile_reports_a_credit_with_no_capture_behind_it(journey: Journey) -> None:
    started = journey.renew("card")
    ref = started["payment"]["payment_ref"]
    journey.open_page(started)
    journey.complete(ref, "approved")
    settings = journey.platform.settings
    env = {
        "SIMRENEW_DATABASE_URL": settings.resolved_database_url,
        "SIMRENEW_ENV": "test",
        "SIMRENEW_DATA_DIR": str(settings.data_dir),
        "SIMRENEW_SANDBOX_PORT": str(settings.sandbox_port),
    }
    clean = CliRunner().invoke(app, ["reconcile"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "captures credited" in clean.output
    with journey.platform.uow() as uow:  # a hand edit: the payment no longer says captured
        uow.session.execute(
            update(Payment).where(Payment.payment_ref == ref).values(state="declined")
        )
        uow.commit()
    found = CliRunner().invoke(app, ["reconcile"], env=env)
    assert found.exit_code == 1
    assert f"credited without a capture: {ref}" in found.output
