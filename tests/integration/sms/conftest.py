"""SMS test fixtures: outbox rows put in place directly, and a scriptable fake transport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import select

from simrenew.bootstrap import Platform
from simrenew.db.base import insert_row
from simrenew.ids import new_id
from simrenew.notify.models import OutboxMessage
from simrenew.notify.sms.base import DeliveryReceipt, SmsRejected

AddMessage = Callable[..., str]
Row = Callable[[str], OutboxMessage]


@pytest.fixture
def add_message(platform: Platform) -> AddMessage:
    """Queue one outbox row with a given body (no template), return its id."""

    def add(
        body: str = "Your line expires in 3 days.",
        *,
        lane: str = "bulk",
        recipient: str = "+96550001234",
        language: str = "en",
        at: datetime | None = None,
    ) -> str:
        now = at or platform.clock.now()
        message = OutboxMessage(
            id=new_id(),
            msisdn=recipient,
            recipient=recipient,
            lane=lane,
            template="test",
            language=language,
            params={},
            body=body,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        with platform.uow() as uow:
            insert_row(uow.session, message)
            uow.commit()
        return message.id

    return add


@pytest.fixture
def outbox_row(platform: Platform) -> Row:
    """Read one outbox row as it is now."""

    def read(message_id: str) -> OutboxMessage:
        with platform.uow() as uow:
            return uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.id == message_id)
            ).one()

    return read


@dataclass
class FakeTransport:
    """Records every send; fails while `down`, rejects bodies in `reject`."""

    name: str = "fake"
    down: bool = False
    reject: set[str] = field(default_factory=set)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (message_id, body)
    calls: int = 0
    on_send: Callable[[str], None] | None = None

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Accept the message unless told to fail; the gateway id is derived from ours."""
        self.calls += 1
        if self.on_send is not None:
            self.on_send(message_id)
        if self.down:
            raise ConnectionError("gateway down")
        if text in self.reject:
            raise SmsRejected("invalid receiver")
        self.sent.append((message_id, text))
        return f"gw-{message_id}"

    def take_receipts(self) -> list[DeliveryReceipt]:
        """None."""
        return []

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
def fake_transport() -> FakeTransport:
    """A fresh fake transport."""
    return FakeTransport()
