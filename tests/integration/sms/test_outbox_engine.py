"""The outbox engine on SQLite and PostgreSQL: lanes, backoff, dead letters, leases, rate, DLRs."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from integration.sms.conftest import AddMessage, FakeTransport, Row
from simrenew.bootstrap import Platform
from simrenew.clock import FixedClock
from simrenew.errors import NotFound
from simrenew.notify.models import OutboxMessage
from simrenew.notify.reports import outbox_counts, outbox_report
from simrenew.notify.service import (
    GIVE_UP_AFTER_FAILURES,
    LEASE,
    DrainResult,
    claim_due,
    drain_outbox,
    queue_sms,
    record_delivery_report,
    retry_dead,
)
from simrenew.workers.outbox import RateLimitedTransport, TokenBucket, batch_size, send_due_sms


def drain(platform: Platform, transport: FakeTransport, **options: Any) -> DrainResult:
    return drain_outbox(
        platform.uow(), transport, clock=platform.clock, rng=random.Random(7), **options
    )


def test_priority_lane_goes_first_and_bulk_gets_what_is_left(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport, clock: FixedClock
) -> None:
    bulk = [add_message(f"reminder {n}", lane="bulk") for n in range(6)]
    clock.advance(minutes=1)  # the confirmations are younger than every reminder
    priority = [add_message(f"confirmation {n}", lane="priority") for n in range(3)]

    result = drain(platform, fake_transport, batch=5)

    assert [mid for mid, _ in fake_transport.sent] == priority + bulk[:2]
    assert (result.claimed, result.sent) == (5, 5)
    assert result.by_lane == {"priority": 3, "bulk": 2}
    assert outbox_counts(platform.uow()) == {"sent": 5, "pending": 4}


def test_an_otp_never_waits_behind_a_flood_of_reminders(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport, clock: FixedClock
) -> None:
    for n in range(300):
        add_message(f"reminder {n}")
    clock.advance(seconds=1)
    otp = add_message("Your code is 482913", lane="priority")

    drain(platform, fake_transport, batch=10)

    assert fake_transport.sent[0] == (otp, "Your code is 482913")


def test_a_failed_send_is_retried_with_growing_jittered_backoff(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    message_id = add_message()
    fake_transport.down = True
    waits = []
    for attempt in range(1, 5):
        result = drain(platform, fake_transport)
        assert (result.claimed, result.retrying) == (1, 1)
        row = outbox_row(message_id)
        assert (row.state, row.attempts) == ("pending", attempt)
        assert row.last_error == "ConnectionError: gateway down"
        wait = row.next_attempt_at - clock.now()
        # Half fixed, half random, doubling: [15, 30] s, then [30, 60] s, ...
        assert 15 * 2 ** (attempt - 1) <= wait.total_seconds() <= 30 * 2 ** (attempt - 1)
        waits.append(wait)
        # Not due before its time: nothing is claimed.
        clock.set(row.next_attempt_at - timedelta(seconds=1))
        assert drain(platform, fake_transport).claimed == 0
        clock.set(row.next_attempt_at)
    assert waits == sorted(waits)

    fake_transport.down = False
    drain(platform, fake_transport)

    row = outbox_row(message_id)
    assert (row.state, row.attempts, row.transport) == ("sent", 5, "fake")
    assert fake_transport.sent == [(message_id, "Your line expires in 3 days.")]


def test_after_max_attempts_a_message_is_dead_and_can_be_retried(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    first, second = add_message("one"), add_message("two")
    fake_transport.down = True
    for _ in range(3):
        drain(platform, fake_transport, max_attempts=3)
        clock.advance(hours=2)
    assert outbox_counts(platform.uow()) == {"dead": 2}
    assert drain(platform, fake_transport, max_attempts=3).claimed == 0
    report = outbox_report(platform.uow(), clock=clock)
    assert report.counts == {("dead", "bulk"): 2}
    assert {d["id"]: d["last_error"] for d in report.dead} == {
        first: "ConnectionError: gateway down",
        second: "ConnectionError: gateway down",
    }

    fake_transport.down = False
    assert retry_dead(platform.uow(), [first], clock=clock) == 1
    assert retry_dead(platform.uow(), [first], clock=clock) == 0  # no longer dead
    drain(platform, fake_transport, max_attempts=3)
    assert (outbox_row(first).state, outbox_row(first).attempts) == ("sent", 1)
    assert outbox_row(second).state == "dead"

    assert retry_dead(platform.uow(), None, clock=clock) == 1
    drain(platform, fake_transport, max_attempts=3)
    assert outbox_counts(platform.uow()) == {"sent": 2}


def test_the_report_shows_the_backlog_and_what_is_held_for_later(
    platform: Platform, add_message: AddMessage, clock: FixedClock
) -> None:
    add_message("due an hour ago", lane="bulk")
    clock.advance(minutes=30)
    add_message("due half an hour ago", lane="priority")
    add_message("after the quiet hours", at=clock.now() + timedelta(hours=9))
    clock.advance(minutes=30)

    report = outbox_report(platform.uow(), clock=clock)

    assert report.counts == {("pending", "bulk"): 2, ("pending", "priority"): 1}
    assert (report.oldest_due_seconds, report.held, report.dead) == (3600, 1, [])


def test_a_message_the_gateway_refuses_for_good_is_dead_at_once(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport, outbox_row: Row
) -> None:
    bad, good = add_message("bad"), add_message("good")
    fake_transport.reject = {"bad"}

    result = drain(platform, fake_transport)

    assert (result.sent, result.dead) == (1, 1)
    assert (outbox_row(bad).state, outbox_row(bad).last_error) == (
        "dead",
        "SmsRejected: invalid receiver",
    )
    assert outbox_row(good).state == "sent"


def test_a_gateway_that_is_down_is_not_hammered_with_the_whole_batch(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport, clock: FixedClock
) -> None:
    ids = [add_message(f"m{n}") for n in range(20)]
    fake_transport.down = True

    result = drain(platform, fake_transport)

    assert fake_transport.calls == GIVE_UP_AFTER_FAILURES
    assert (result.retrying, result.released) == (5, 15)
    # The released ones were not attempted: their attempts were given back.
    assert outbox_counts(platform.uow()) == {"pending": 20}
    fake_transport.down = False
    clock.advance(hours=1)
    drain(platform, fake_transport)
    assert sorted(mid for mid, _ in fake_transport.sent) == sorted(ids)


def test_a_worker_that_dies_mid_batch_loses_nothing(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    ids = [add_message(f"m{n}") for n in range(3)]
    # A worker claims the batch, then dies before sending or recording anything.
    assert len(claim_due(platform.uow(), now=clock.now(), limit=10)) == 3
    assert outbox_counts(platform.uow()) == {"sending": 3}
    assert drain(platform, fake_transport).claimed == 0

    clock.advance(seconds=LEASE.total_seconds())
    drain(platform, fake_transport)

    assert sorted(mid for mid, _ in fake_transport.sent) == sorted(ids)
    assert {outbox_row(i).attempts for i in ids} == {2}
    assert outbox_counts(platform.uow()) == {"sent": 3}


def test_a_worker_that_outlived_its_lease_does_not_overwrite_the_newer_claim(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    message_id = add_message()
    other = FakeTransport(name="other")
    slow = FakeTransport(name="slow", down=True)

    def stall_past_the_lease(_message_id: str) -> None:
        # While the slow worker hangs, its lease runs out and another worker sends the row.
        clock.advance(seconds=LEASE.total_seconds() + 1)
        drain(platform, other)

    slow.on_send = stall_past_the_lease

    drain(platform, slow)

    row = outbox_row(message_id)
    assert (row.state, row.transport, row.attempts, row.last_error) == ("sent", "other", 2, None)


def test_delivery_reports_are_recorded_once_and_final_states_stick(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    message_id = add_message()
    drain(platform, fake_transport)
    gateway_id = f"gw-{message_id}"
    assert outbox_row(message_id).external_id == gateway_id
    uow = platform.uow
    later = clock.now() + timedelta(seconds=5)

    assert record_delivery_report(uow(), gateway_id, "accepted", clock.now()) is True
    assert record_delivery_report(uow(), gateway_id, "accepted", clock.now()) is False
    assert record_delivery_report(uow(), gateway_id, "delivered", later) is True
    assert record_delivery_report(uow(), gateway_id, "delivered", later) is False
    # Late or contradicting reports after a final one change nothing.
    assert record_delivery_report(uow(), gateway_id, "buffered", later) is False
    assert record_delivery_report(uow(), message_id, "failed", later) is False  # by our id

    row = outbox_row(message_id)
    assert (row.state, row.delivery_state, row.delivered_at) == ("sent", "delivered", later)
    with pytest.raises(NotFound):
        record_delivery_report(uow(), "no-such-id", "delivered", later)


def test_a_report_for_a_message_whose_send_seemed_to_fail_stops_its_resend(
    platform: Platform,
    add_message: AddMessage,
    fake_transport: FakeTransport,
    clock: FixedClock,
    outbox_row: Row,
) -> None:
    message_id = add_message()
    fake_transport.down = True  # e.g. a timeout after the gateway took the message
    drain(platform, fake_transport)
    assert outbox_row(message_id).state == "pending"

    assert record_delivery_report(platform.uow(), message_id, "delivered", clock.now()) is True

    fake_transport.down = False
    clock.advance(hours=2)
    assert drain(platform, fake_transport).claimed == 0
    assert outbox_row(message_id).state == "sent"
    assert fake_transport.sent == []


def test_the_rate_limit_is_respected_over_every_second(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport
) -> None:
    rate = 20
    for n in range(30):
        add_message(f"m{n}")
    moments: list[float] = []
    fake_transport.on_send = lambda _id: moments.append(time.monotonic())
    limited = RateLimitedTransport(fake_transport, TokenBucket(rate))

    drain_outbox(platform.uow(), limited, clock=platform.clock)

    assert len(moments) == 30
    # In every window of one second starting at a send, at most `rate` sends (less 10 ms for
    # the jitter between the limiter letting a send go and this test noting its time).
    for start in moments:
        assert sum(1 for m in moments if start <= m < start + 0.99) <= rate
    assert moments[-1] - moments[0] >= (30 - 1) / rate * 0.95


def test_a_long_message_takes_a_token_per_part(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport
) -> None:
    add_message("x" * 200)  # two GSM parts
    taken: list[float] = []
    bucket = TokenBucket(1000)
    bucket.take = lambda: taken.append(1)  # type: ignore[method-assign]

    drain_outbox(platform.uow(), RateLimitedTransport(fake_transport, bucket), clock=platform.clock)

    assert len(taken) == 2


def test_the_worker_claims_no_more_than_a_minute_of_sending_at_a_low_rate(
    platform: Platform,
) -> None:
    settings = platform.settings
    assert batch_size(settings) == settings.outbox_batch_size
    slow = settings.model_copy(update={"sms_rate_per_second": 0.5})
    assert batch_size(slow) == 30


def test_the_worker_job_sends_every_due_message(
    platform: Platform, add_message: AddMessage, fake_transport: FakeTransport
) -> None:
    for n in range(7):
        add_message(f"m{n}")
    settings = platform.settings.model_copy(update={"outbox_batch_size": 3})
    platform.settings = settings
    assert send_due_sms(platform, fake_transport) == 7
    assert outbox_counts(platform.uow()) == {"sent": 7}


def test_two_drainers_at_once_never_send_the_same_message_twice(
    platform: Platform, add_message: AddMessage
) -> None:
    ids = {add_message(f"m{n}", lane="bulk" if n % 5 else "priority") for n in range(200)}
    transport = FakeTransport(on_send=lambda _id: time.sleep(0.001))
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while drain(platform, transport, batch=15).claimed:
                pass
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    drainers = [threading.Thread(target=work) for _ in range(2)]
    for thread in drainers:
        thread.start()
    for thread in drainers:
        thread.join(timeout=120)

    assert failures == []
    sent = Counter(mid for mid, _ in transport.sent)
    assert set(sent) == ids
    assert max(sent.values()) == 1
    assert outbox_counts(platform.uow()) == {"sent": 200}


def test_unit_token_bucket_spaces_takes_evenly() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(4, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.take()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    now[0] += 10  # idle time banks at most one token (no burst)
    bucket.take()
    bucket.take()
    assert slept[-1] == 0.25


@pytest.mark.parametrize("keep_codes", [False, True])
def test_a_sent_one_time_code_is_not_kept_in_the_outbox_outside_development(
    platform: Platform, fake_transport: FakeTransport, keep_codes: bool
) -> None:
    with platform.uow() as uow:
        otp = queue_sms(
            uow.session,
            msisdn="+96550001234",
            template="otp",
            language="en",
            params={"code": "482913", "minutes": 5},
            now=platform.clock.now(),
            lane="priority",
        ).id
        uow.commit()

    drain(platform, fake_transport, keep_codes=keep_codes)

    assert fake_transport.sent[0][0] == otp
    assert "482913" in fake_transport.sent[0][1]  # the subscriber got the code
    with platform.uow() as uow:
        row = uow.session.get(OutboxMessage, otp)
        assert row is not None
        kept = (row.state, "482913" in row.body, row.params.get("code"))
    if keep_codes:  # the development SMS viewer shows it
        assert kept == ("sent", True, "482913")
    else:
        assert kept == ("sent", False, None)
