"""The outbox job: send every due SMS through the transport the settings name."""

from __future__ import annotations

from simrenew.bootstrap import Platform
from simrenew.errors import ValidationFailed
from simrenew.notify.service import drain_outbox
from simrenew.notify.sms.base import SmsTransport
from simrenew.notify.sms.log import LogTransport
from simrenew.settings import Settings

BATCH = 200
# A pass stops after this many batches so other jobs and a stop request get their turn even
# while a flood of messages keeps arriving; the next pass carries on.
MAX_BATCHES_PER_PASS = 50


def sms_transport(settings: Settings) -> SmsTransport:
    """The SMS transport SIMRENEW_SMS_TRANSPORT names; refuses one that is not built yet."""
    if settings.sms_transport == "log":
        return LogTransport()
    raise ValidationFailed(
        f"SIMRENEW_SMS_TRANSPORT={settings.sms_transport} is not available yet: only 'log' "
        "(development, messages shown at /dev/sms) can be used. The worker was not started."
    )


def send_due_sms(platform: Platform, transport: SmsTransport) -> int:
    """Send due messages in batches until none is left (or the pass limit); return how many."""
    sent = 0
    for _ in range(MAX_BATCHES_PER_PASS):
        batch = drain_outbox(platform.uow(), transport, clock=platform.clock, batch=BATCH)
        sent += batch
        # Zero sent means nothing due, or every due message failed and waits for its retry.
        if batch == 0:
            break
    return sent
