"""SMS over a direct SMPP bind, against a real SMPP server (smpp34) acting as the SMSC."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing

import pytest
from sqlalchemy import select

from integration.sms.conftest import AddMessage, Row
from integration.sms.smsc import TestSmsc, received_texts
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.notify.models import OutboxMessage
from simrenew.notify.reports import outbox_counts
from simrenew.notify.service import drain_outbox
from simrenew.notify.sms.base import SmsTransport
from simrenew.workers.outbox import send_due_sms, sms_transport

LONG_EN = (
    "Zahra: your line 50000102 expires tomorrow, 26/11/2026 at 09:00 Kuwait time. To keep your "
    "number and balance renew now: dial *100#, visit zahra.example/renew or any store. [€5 §2]"
)
MESSAGES = [
    ("+96550000101", "Zahra: 5.000 KWD credited. Balance 12.500 KWD. Receipt R01JDX4K3V."),
    ("+96550000102", LONG_EN),
    ("+96550000103", "زين: تم تجديد خطك. الرصيد 12.500 د.ك"),
    (
        "+96550000104",
        "زين: ينتهي خطك 50000104 بعد 3 أيام في 28/11/2026 09:00. للتجديد اطلب *100# أو "
        "زر zahra.example/renew",
    ),
]


@pytest.fixture
def smsc() -> Iterator[TestSmsc]:
    """A running SMSC on a free loopback port."""
    server = TestSmsc()
    server.start()
    yield server
    server.close()


@pytest.fixture
def smpp_platform(platform: Platform, smsc: TestSmsc) -> Platform:
    """The test platform configured for the smpp transport, bound to the test SMSC."""
    platform.settings = platform.settings.model_copy(
        update={
            "sms_transport": "smpp",
            "smpp_port": smsc.port,
            "smpp_password": "test-password",
            "sms_sender": "Zahra",
            "sms_rate_per_second": 500.0,
        }
    )
    return platform


def wait_for_receipts(platform: Platform, transport: SmsTransport) -> None:
    """Run the outbox job until every message has its delivery receipt recorded."""
    deadline = time.monotonic() + 20
    while True:
        send_due_sms(platform, transport)
        with platform.uow() as uow:
            states = set(uow.session.scalars(select(OutboxMessage.delivery_state)))
        if states == {"delivered"}:
            return
        assert time.monotonic() < deadline, f"receipts missing: {states}"
        time.sleep(0.1)


def test_english_and_arabic_long_and_short_go_out_once_with_receipts(
    smpp_platform: Platform, smsc: TestSmsc, add_message: AddMessage, outbox_row: Row
) -> None:
    platform = smpp_platform
    ids = [add_message(text, recipient=to) for to, text in MESSAGES]

    with closing(sms_transport(platform.settings)) as transport:
        assert send_due_sms(platform, transport) == len(MESSAGES)
        wait_for_receipts(platform, transport)

    # English (with € and § from the GSM extension and basic tables) as GSM 7-bit, Arabic as
    # UCS-2; each message once, the long ones joined from their concatenated parts.
    codings = {"+96550000101": 0, "+96550000102": 0, "+96550000103": 8, "+96550000104": 8}
    assert sorted(received_texts(smsc.submitted)) == sorted(
        (to.lstrip("+"), text, codings[to]) for to, text in MESSAGES
    )
    assert len(smsc.submitted) == 6  # the two long ones went in two parts each
    assert smsc.binds == 1
    # The external id is the SMSC's id of the first part; its receipt found the row.
    first_parts = {
        s.message_id for s in smsc.submitted if not s.esm_class & 0x40 or s.short_message[5] == 1
    }
    assert {outbox_row(i).external_id for i in ids} == first_parts
    assert outbox_counts(platform.uow()) == {"sent": 4}


def test_the_transport_binds_again_after_the_smsc_drops_it(
    smpp_platform: Platform, smsc: TestSmsc, add_message: AddMessage, clock: FixedClock
) -> None:
    platform = smpp_platform
    add_message("first", recipient="+96550000101")
    with closing(sms_transport(platform.settings)) as transport:
        assert send_due_sms(platform, transport) == 1

        smsc.stop()  # the SMSC goes away: every bind is dropped
        add_message("second", recipient="+96550000102")
        failed = drain_outbox(platform.uow(), transport, clock=clock)
        assert (failed.sent, failed.retrying) == (0, 1)

        smsc.start()
        clock.advance(hours=1)
        assert send_due_sms(platform, transport) == 1
        wait_for_receipts(platform, transport)

    assert [(to, text) for to, text, _ in received_texts(smsc.submitted)] == [
        ("96550000101", "first"),
        ("96550000102", "second"),
    ]
    assert smsc.binds == 2
    assert outbox_counts(platform.uow()) == {"sent": 2}
