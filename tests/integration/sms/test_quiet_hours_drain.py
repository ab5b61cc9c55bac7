"""No reminder goes out at night, even one a retry made due; OTPs and confirmations still do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.lines.sweep import sweep_lifecycle
from simrenew.notify.reports import list_sent_sms
from simrenew.notify.service import queue_sms
from simrenew.notify.sms.log import LogTransport
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.workers.outbox import send_due_sms

NIGHT = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 23:00 in Kuwait
MORNING = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)  # 09:30 in Kuwait


def _states(platform: Platform) -> dict[str, str]:
    return {m["template"]: m["state"] for m in list_sent_sms(platform.uow(), to="+96550001234")}


def test_bulk_waits_for_the_morning_while_priority_goes_at_once(
    platform: Platform, clock: FixedClock
) -> None:
    clock.set(NIGHT)
    with platform.uow() as uow:
        for template, lane in (("reminder", "bulk"), ("otp", "priority")):
            params = {
                "operator": "Zahra",
                "msisdn": "+96550001234",
                "days_left": 3,
                "valid_until": "2026-11-28",
                "ussd_code": "*135#",
                "web_url": "zahra.example",
                "code": "123456",
                "minutes": 5,
            }
            queue_sms(
                uow.session,
                msisdn="+96550001234",
                template=template,
                language="en",
                params=params,
                now=NIGHT,
                lane=lane,
            )
        uow.commit()

    send_due_sms(platform, LogTransport())
    assert _states(platform) == {"otp": "sent", "reminder": "pending"}

    clock.set(MORNING)
    send_due_sms(platform, LogTransport())
    assert _states(platform) == {"otp": "sent", "reminder": "sent"}


def test_a_renewal_withdraws_the_reminder_held_overnight(
    platform: Platform, clock: FixedClock
) -> None:
    """Renewing at 08:00 must not be followed at 09:00 by "your line ends in 3 days"."""
    load_demo_catalog(platform)
    store, _ = make_caller(platform, "store")
    make_line(platform, "+96550001234", valid_for=timedelta(days=2, hours=12))
    clock.set(NIGHT)
    sweep_lifecycle(platform, now=NIGHT, batch_size=100)
    assert _states(platform) == {"reminder": "pending"}  # held for the morning

    clock.set(MORNING - timedelta(hours=1))
    credit_renewal(
        platform.uow(),
        store,
        RenewalRequest("+96550001234", "kd10", "cash", "k1", body={"k": 1}),
        clock=clock,
    )
    clock.set(MORNING)
    send_due_sms(platform, LogTransport())
    assert _states(platform) == {"reminder": "cancelled", "renewal_confirmation": "sent"}
