"""What every SMS transport does: send one message, or raise to have it retried."""

from __future__ import annotations

from typing import Protocol


class SmsTransport(Protocol):
    name: str

    def send(self, recipient: str, text: str, *, language: str) -> str | None:
        """Hand one message to the SMS network; return its gateway id if any."""
        ...
