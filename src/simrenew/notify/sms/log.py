"""The development transport: the message is already stored; it shows at /dev/sms."""

from __future__ import annotations

import structlog

from simrenew.notify.sms.base import DeliveryReceipt

log = structlog.get_logger(__name__)


class LogTransport:
    """Accepts every message and logs that it did (the text stays in the outbox row)."""

    name = "log"

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Record the message as sent."""
        log.info("sms.sent", transport="log", recipient=recipient[:-4] + "****", language=language)
        return None

    def take_receipts(self) -> list[DeliveryReceipt]:
        """None: nothing is really sent."""
        return []

    def close(self) -> None:
        """Nothing to release."""
