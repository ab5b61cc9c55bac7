"""SMS through a real Kannel: bearerbox + smsbox + Kannel's fake SMSC, delivery reports back.

Kannel comes from Debian (`scripts/install-system-packages.sh`, run by `make test`). When it
cannot be installed these tests FAIL: an SMS gateway test that silently skips proves nothing.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from integration.sms.conftest import AddMessage
from integration.sms.kannel_stack import (
    INSTALL_SCRIPT,
    KannelStack,
    free_port,
    kannel_missing,
    received_texts,
)
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.notify.models import OutboxMessage
from simrenew.notify.reports import outbox_counts
from simrenew.notify.service import drain_outbox
from simrenew.notify.sms.base import DeliveryReceipt, SmsTransport
from simrenew.web.app import build_app
from simrenew.workers.outbox import send_due_sms, sms_transport

WAIT_SECONDS = 30.0

# (lane, recipient, text): reminders in the bulk lane, confirmations in the priority lane, in
# English (GSM 7-bit) and Arabic (UCS-2), single and concatenated.
MESSAGES = [
    (
        "bulk",
        "+96550000101",
        "Zahra: your line 50000101 expires in 3 days, on 28/11/2026 09:00. Renew: dial *100# "
        "or visit zahra.example/renew",
    ),
    (
        "bulk",
        "+96550000102",
        "Zahra: your line 50000102 expires tomorrow, 26/11/2026 at 09:00 Kuwait time. To keep "
        "your number and balance, renew now: dial *100# from your phone, visit "
        "zahra.example/renew, or any Zahra store.",
    ),
    (
        "bulk",
        "+96550000103",
        "زين: ينتهي خطك 50000103 بعد 3 أيام في 28/11/2026 09:00. للتجديد اطلب *100# أو "
        "زر zahra.example/renew",
    ),
    ("bulk", "+96550000104", "زين: ينتهي خطك غداً. جدّد الآن"),
    (
        "priority",
        "+96550000105",
        "Zahra: 5.000 KWD credited to +96550000105. Balance 12.500 KWD, valid until "
        "2026-12-25 09:00. Receipt R01JDX4K3V2Q7T9M8N.",
    ),
    (
        "priority",
        "+96550000106",
        "زين: تمت إضافة 5.000 د.ك إلى الرقم +96550000106. الرصيد 12.500 د.ك، صالح حتى "
        "2026-12-25 09:00. رقم الإيصال R01JDX4K3V2Q7T9M8N.",
    ),
]


@pytest.fixture(scope="session")
def kannel_installed() -> None:
    """Kannel's programs, installed by the project's script when missing; fails otherwise."""
    if kannel_missing():
        done = subprocess.run(  # noqa: S603 - the project's own script
            [str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
        )
        if kannel_missing():
            pytest.fail(
                f"Kannel is not installed ({', '.join(kannel_missing())}) and "
                f"{INSTALL_SCRIPT.name} could not install it:\n{done.stdout}{done.stderr}"
            )


@pytest.fixture
def kannel(kannel_installed: None, tmp_path: Path) -> Iterator[KannelStack]:
    """A running Kannel with the fake SMSC, stopped (by pid) after the test."""
    directory = tmp_path / "kannel"
    directory.mkdir()
    stack = KannelStack(directory)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def simrenew_url(platform: Platform) -> Iterator[str]:
    """simrenew's web app (delivery reports arrive here) served by uvicorn on a free port."""
    port = free_port()
    config = uvicorn.Config(
        build_app(platform.settings, platform=platform),
        host="127.0.0.1",
        port=port,
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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=WAIT_SECONDS)


@pytest.fixture
def kannel_platform(platform: Platform, kannel: KannelStack, simrenew_url: str) -> Platform:
    """The test platform configured for the kannel transport, reports back to simrenew_url."""
    platform.settings = platform.settings.model_copy(
        update={
            "sms_transport": "kannel",
            "kannel_sendsms_url": kannel.sendsms_url,
            "kannel_username": kannel.username,
            "kannel_password": kannel.password,
            "public_url": simrenew_url,
            "sms_rate_per_second": 200.0,
        }
    )
    return platform


def queue_all(add_message: AddMessage) -> dict[str, tuple[str, str]]:
    """Every message of MESSAGES in the outbox: id -> (to, text)."""
    queued = {}
    for lane, to, text in MESSAGES:
        language = "en" if text.isascii() else "ar"
        message_id = add_message(text, lane=lane, recipient=to, language=language)
        queued[message_id] = (to, text)
    return queued


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def delivery_states(platform: Platform) -> dict[str, str | None]:
    with platform.uow() as uow:
        rows = uow.session.execute(select(OutboxMessage.id, OutboxMessage.delivery_state))
        return {row.id: row.delivery_state for row in rows}


def assert_received_exactly_once(kannel: KannelStack, expected: set[tuple[str, str]]) -> None:
    """The fake SMSC got each expected (to, text) once, and nothing else."""
    wait_until(lambda: len(kannel.received()) >= len(expected), "the fake SMSC to get them all")
    time.sleep(1.0)  # a duplicate would arrive right behind: give it the time to show
    counts = received_texts(kannel.received(), expected)
    assert counts == dict.fromkeys(expected, 1)


def test_reminders_and_confirmations_reach_the_smsc_once_and_reports_come_back(
    kannel_platform: Platform, kannel: KannelStack, add_message: AddMessage
) -> None:
    platform = kannel_platform
    queued = queue_all(add_message)

    with closing(sms_transport(platform.settings)) as transport:
        sent = send_due_sms(platform, transport)

    assert sent == len(MESSAGES)
    assert outbox_counts(platform.uow()) == {"sent": len(MESSAGES)}
    assert_received_exactly_once(kannel, set(queued.values()))
    wait_until(
        lambda: set(delivery_states(platform).values()) == {"delivered"},
        "a delivery report for every message",
    )
    with platform.uow() as uow:
        rows = uow.session.scalars(select(OutboxMessage)).all()
        assert {(r.transport, r.external_id == r.id) for r in rows} == {("kannel", True)}
        assert all(r.delivered_at is not None for r in rows)


class StopsKannelMidBatch:
    """Sends through the kannel transport; Kannel is stopped after the first `after` sends.

    Before stopping, it waits for the reports of what Kannel took: bearerbox then has nothing
    in flight and stops at once (else it spends 10 s trying to hand reports to the gone smsbox).
    """

    def __init__(
        self, transport: SmsTransport, kannel: KannelStack, platform: Platform, *, after: int
    ) -> None:
        self.transport, self.kannel, self.platform, self.after = transport, kannel, platform, after
        self.name = transport.name
        self.accepted: list[str] = []
        self.calls = 0

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Stop Kannel before send number after+1, then send (which then fails)."""
        self.calls += 1
        if self.calls == self.after + 1:
            wait_until(
                lambda: all(
                    delivery_states(self.platform)[i] == "delivered" for i in self.accepted
                ),
                "the reports of the messages Kannel took before the stop",
            )
            self.kannel.stop()
        result = self.transport.send(recipient, text, language=language, message_id=message_id)
        self.accepted.append(message_id)
        return result

    def take_receipts(self) -> list[DeliveryReceipt]:
        """None: Kannel's reports come over HTTP."""
        return []

    def close(self) -> None:
        """Close the kannel transport."""
        self.transport.close()


def test_kannel_stopped_mid_batch_loses_nothing_and_sends_nothing_twice(
    kannel_platform: Platform,
    kannel: KannelStack,
    add_message: AddMessage,
    clock: FixedClock,
    request: pytest.FixtureRequest,
) -> None:
    platform = kannel_platform
    queued = {**queue_all(add_message), **queue_all_again(add_message)}
    stopping = StopsKannelMidBatch(sms_transport(platform.settings), kannel, platform, after=4)
    request.addfinalizer(stopping.close)

    first = drain_outbox(platform.uow(), stopping, clock=clock, batch=50)

    # Four went through, then five failed (the gateway is down) and the rest waited unsent.
    assert (first.claimed, first.sent, first.retrying, first.released) == (12, 4, 5, 3)
    with platform.uow() as uow:
        marked_sent = set(
            uow.session.scalars(select(OutboxMessage.id).where(OutboxMessage.state == "sent"))
        )
    assert marked_sent == set(stopping.accepted)  # nothing marked sent that Kannel did not take

    clock.advance(hours=2)  # due again, but Kannel is still down
    assert drain_outbox(platform.uow(), stopping, clock=clock).sent == 0
    assert outbox_counts(platform.uow()) == {"sent": 4, "pending": 8}

    kannel.start()
    clock.advance(hours=2)
    assert send_due_sms(platform, stopping) == 8

    assert outbox_counts(platform.uow()) == {"sent": 12}
    assert_received_exactly_once(kannel, set(queued.values()))
    wait_until(
        lambda: set(delivery_states(platform).values()) == {"delivered"},
        "a delivery report for every message",
    )


def queue_all_again(add_message: AddMessage) -> dict[str, tuple[str, str]]:
    """The same messages to other numbers (12 in all: a batch Kannel can stop in the middle of)."""
    queued = {}
    for lane, to, text in MESSAGES:
        other = to.replace("+965500001", "+965500002")
        body = text.replace(to, other).replace(to[-8:], other[-8:])
        language = "en" if body.isascii() else "ar"
        queued[add_message(body, lane=lane, recipient=other, language=language)] = (other, body)
    return queued
