"""The outbox job: send every due SMS through the configured transport, within its rate.

The rate limit (SIMRENEW_SMS_RATE_PER_SECOND, what the SMSC allows) is a token bucket held
by the transport object the worker builds once, so it spans batches and passes. It is per
worker process: with several workers on one SMSC, divide the rate between them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from simrenew.bootstrap import Platform
from simrenew.errors import NotFound
from simrenew.notify.rules import in_quiet_hours, sms_segments
from simrenew.notify.service import LANES, DrainResult, drain_outbox, record_delivery_report
from simrenew.notify.sms.base import DeliveryReceipt, SmsTransport
from simrenew.notify.sms.factory import build_transport
from simrenew.settings import Settings

log = structlog.get_logger(__name__)

# A pass stops after this many batches so other jobs and a stop request get their turn even
# while a flood of messages keeps arriving; the next pass carries on.
MAX_BATCHES_PER_PASS = 50
# A claimed batch is sent within about this long at the allowed rate: well inside its lease.
SECONDS_OF_SENDING_PER_BATCH = 60


class TokenBucket:
    """At most `rate` takes per second on average, with bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        # No burst by default: messages evenly spaced, never more than `rate` in any second,
        # which is how SMSCs count.
        self.burst = burst if burst is not None else 1.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Wait until a token is available, then take it."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            # Wait for the token (inside the lock: the next caller queues behind), then start
            # from empty at the real wake-up time: oversleeping earns no credit, so two sends
            # are never closer than 1/rate apart.
            self._sleep((1 - self._tokens) / self.rate)
            self._tokens = 0.0
            self._updated = self._monotonic()


class RateLimitedTransport:
    """A transport that takes a token from its bucket before each message."""

    def __init__(self, transport: SmsTransport, bucket: TokenBucket) -> None:
        self.transport = transport
        self.bucket = bucket
        self.name = transport.name

    def send(self, recipient: str, text: str, *, language: str, message_id: str) -> str | None:
        """Wait for the rate limit (a token per SMS part), then send through the transport."""
        # SMSCs count parts: a long message is one submit per part.
        for _ in range(sms_segments(text)):
            self.bucket.take()
        return self.transport.send(recipient, text, language=language, message_id=message_id)

    def take_receipts(self) -> list[DeliveryReceipt]:
        """The wrapped transport's receipts."""
        return self.transport.take_receipts()

    def close(self) -> None:
        """Close the wrapped transport."""
        self.transport.close()


def sms_transport(settings: Settings) -> SmsTransport:
    """The transport SIMRENEW_SMS_TRANSPORT names, limited to SIMRENEW_SMS_RATE_PER_SECOND."""
    return RateLimitedTransport(
        build_transport(settings), TokenBucket(settings.sms_rate_per_second)
    )


def batch_size(settings: Settings) -> int:
    """Messages claimed at once: the configured batch, or fewer when the rate is low."""
    at_rate = math.ceil(settings.sms_rate_per_second * SECONDS_OF_SENDING_PER_BATCH)
    return max(1, min(settings.outbox_batch_size, at_rate))


def record_receipts(platform: Platform, transport: SmsTransport) -> int:
    """Record the delivery receipts the transport collected (SMPP); return how many."""
    receipts = transport.take_receipts()
    for receipt in receipts:
        try:
            record_delivery_report(platform.uow(), receipt.external_id, receipt.state, receipt.at)
        except NotFound:
            # A part of a long message whose mapping this process no longer remembers, or a
            # message sent by another system on the same account: nothing of ours to update.
            log.info("sms.receipt_unknown", transport=transport.name, id=receipt.external_id)
    return len(receipts)


def lanes_open_at(now: datetime, quiet_hours: str) -> tuple[str, ...]:
    """The lanes that may send now: in quiet hours only OTPs and confirmations (priority).

    Reminders are queued for the end of quiet hours, but a retry's backoff could still bring
    one due at night; this keeps it waiting instead.
    """
    return ("priority",) if in_quiet_hours(now, quiet_hours) else LANES


def send_due_sms(platform: Platform, transport: SmsTransport) -> int:
    """Send due messages in batches until none is left (or the pass limit); return how many."""
    settings = platform.settings
    sent = 0
    record_receipts(platform, transport)
    for _ in range(MAX_BATCHES_PER_PASS):
        result: DrainResult = drain_outbox(
            platform.uow(),
            transport,
            clock=platform.clock,
            batch=batch_size(settings),
            max_attempts=settings.outbox_max_attempts,
            lanes=lanes_open_at(platform.clock.now(), settings.quiet_hours),
            # The development SMS viewer (/dev/sms) shows codes; nowhere else keeps them.
            keep_codes=settings.env == "development",
        )
        sent += result.sent
        # Nothing claimed: nothing due. Nothing sent: the gateway is down; the rows wait for
        # their retry time instead of being claimed again at once.
        if result.claimed == 0 or result.sent == 0:
            break
    record_receipts(platform, transport)
    return sent
