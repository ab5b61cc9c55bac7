"""The lifecycle sweep on a real database: transitions, notices, reminders, recycling, races."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from builders import load_demo_catalog, make_caller, make_line
from simrenew.bootstrap import Platform
from simrenew.clock import KUWAIT, FixedClock, utc
from simrenew.errors import ValidationFailed
from simrenew.lines.models import Line, LineHistory, PooledNumber
from simrenew.lines.pool import add_to_pool, list_pool, pool_row
from simrenew.lines.rules import LifecyclePeriods
from simrenew.lines.sweep import SweepSummary, count_due_lines, sweep_lifecycle
from simrenew.notify.models import OutboxMessage
from simrenew.renewals.audit import audit_ledger
from simrenew.renewals.models import LedgerEntry
from simrenew.renewals.service import RenewalRequest, credit_renewal
from simrenew.workers.sweep import sweep_due_lines

MSISDN = "+96550001234"
ARABIC_CIVIL_ID = "227081660516"
# Zahra Prepaid (demo catalog): grace 7 days, suspension 30, pool quarantine 90, reminders 7/3/1.
GRACE, SUSPENSION, QUARANTINE = timedelta(days=7), timedelta(days=30), timedelta(days=90)


@dataclass(frozen=True)
class Sms:
    template: str
    language: str
    lane: str
    body: str
    dedupe_key: str | None
    next_attempt_at: datetime
    params: dict[str, object]


@pytest.fixture
def catalog(platform: Platform) -> Platform:
    load_demo_catalog(platform)
    return platform


def sweep(platform: Platform, *, quiet_hours: str = "", batch_size: int = 100) -> SweepSummary:
    """Sweep at the clock's instant; quiet hours off unless a test is about them."""
    return sweep_lifecycle(
        platform, now=platform.clock.now(), batch_size=batch_size, quiet_hours=quiet_hours
    )


def messages(platform: Platform, template: str | None = None) -> list[Sms]:
    with platform.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
        if template is not None:
            query = query.where(OutboxMessage.template == template)
        return [
            Sms(
                m.template,
                m.language,
                m.lane,
                m.body,
                m.dedupe_key,
                utc(m.next_attempt_at),
                m.params,
            )
            for m in uow.session.scalars(query)
        ]


def expiries(platform: Platform, msisdn: str = MSISDN) -> list[tuple[str | None, str, datetime]]:
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(LineHistory)
            .where(LineHistory.msisdn == msisdn, LineHistory.event == "expiry")
            .order_by(LineHistory.at)
        )
        return [(row.from_state, row.to_state, utc(row.at)) for row in rows]


def line(platform: Platform, msisdn: str = MSISDN) -> Line:
    with platform.uow() as uow:
        found = uow.session.get(Line, msisdn)
        assert found is not None
        return found


def count(platform: Platform, model: type) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def audit_ok(platform: Platform) -> bool:
    report = audit_ledger(platform.uow())
    return report.ok


# --- transitions -------------------------------------------------------------------------------


def test_each_boundary_records_one_transition_and_queues_one_notice(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=10), paid_fils=1500)
    ends = clock.now() + timedelta(days=10)

    clock.set(ends - timedelta(seconds=1))
    assert sweep(catalog).transitions.total() == 0
    assert line(catalog).state == "active"

    clock.set(ends)
    summary = sweep(catalog)
    assert summary.transitions == {("active", "grace"): 1}
    assert summary.notices == {"grace_started": 1}
    assert expiries(catalog) == [("active", "grace", ends)]
    assert line(catalog).state == "grace"
    assert utc(line(catalog).state_since) == ends
    assert line(catalog).version == 2
    assert utc(line(catalog).updated_at) == ends
    grace = messages(catalog, "grace_started")
    assert len(grace) == 1
    assert grace[0].lane == "bulk"
    assert grace[0].language == "en"
    assert "2026-12-12" in grace[0].body  # grace ends 7 days later, Kuwait date
    assert "*135#" in grace[0].body
    assert "zahra.example" in grace[0].body

    clock.set(ends + GRACE - timedelta(seconds=1))
    assert sweep(catalog).transitions.total() == 0

    clock.set(ends + GRACE)
    assert sweep(catalog).transitions == {("grace", "suspended"): 1}
    suspended = messages(catalog, "suspended")
    assert len(suspended) == 1
    assert "2027-01-11" in suspended[0].body  # recycled on, Kuwait date
    assert "107" in suspended[0].body

    clock.set(ends + GRACE + SUSPENSION - timedelta(days=3, seconds=1))
    assert sweep(catalog).changes == 0
    clock.set(ends + GRACE + SUSPENSION - timedelta(days=3))
    assert sweep(catalog).notices == {"recycle_warning": 1}
    assert "2027-01-11" in messages(catalog, "recycle_warning")[0].body

    clock.set(ends + GRACE + SUSPENSION - timedelta(seconds=1))
    assert sweep(catalog).changes == 0

    clock.set(ends + GRACE + SUSPENSION)
    summary = sweep(catalog)
    assert summary.transitions == {("suspended", "recycled"): 1}
    assert summary.notices == {"recycled": 1}
    assert summary.numbers_pooled == 1
    assert summary.forfeited_fils == 1500
    assert expiries(catalog) == [
        ("active", "grace", ends),
        ("grace", "suspended", ends + GRACE),
        ("suspended", "recycled", ends + GRACE + SUSPENSION),
    ]
    assert [m.template for m in messages(catalog)] == [
        "reminder",  # the 1-day one, queued by the sweep a second before the end
        "grace_started",
        "suspended",
        "recycle_warning",
        "recycled",
    ]
    assert audit_ok(catalog)

    clock.advance(days=400)
    assert sweep(catalog).lines_examined == 0  # recycled is final


def test_a_line_long_past_its_end_gets_every_transition_with_its_own_instant(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=-60))  # recorded active by an old import
    ends = clock.now() - timedelta(days=60)

    summary = sweep(catalog)

    assert summary.transitions.total() == 3
    assert expiries(catalog) == [
        ("active", "grace", ends),
        ("grace", "suspended", ends + GRACE),
        ("suspended", "recycled", ends + GRACE + SUSPENSION),
    ]
    assert sorted(m.template for m in messages(catalog)) == [
        "grace_started",
        "recycled",
        "suspended",
    ]
    recycled = line(catalog)
    assert recycled.state == "recycled"
    assert utc(recycled.state_since) == ends + GRACE + SUSPENSION


def test_an_arabic_subscriber_gets_arabic_notices(catalog: Platform, clock: FixedClock) -> None:
    make_line(catalog, valid_for=timedelta(days=1), language="ar", civil_id=ARABIC_CIVIL_ID)
    clock.advance(days=1)

    sweep(catalog)

    (notice,) = messages(catalog, "grace_started")
    assert notice.language == "ar"
    assert notice.body.startswith("زهرة للاتصالات: ")
    assert "انتهت صلاحية خطك" in notice.body


def test_a_second_run_at_the_same_instant_changes_nothing(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, "+96550001234", valid_for=timedelta(days=-1), paid_fils=700)
    make_line(catalog, "+96550001235", valid_for=timedelta(days=-50), paid_fils=300)
    make_line(catalog, "+96550001236", valid_for=timedelta(days=2))
    make_line(catalog, "+96550001237", valid_for=timedelta(days=-35))  # warning due
    first = sweep(catalog)
    assert first.transitions.total() == 1 + 3 + 2
    assert first.reminders == {3: 1}
    assert first.notices["recycle_warning"] == 1
    before = (count(catalog, LineHistory), count(catalog, OutboxMessage))
    before += (count(catalog, LedgerEntry), count(catalog, PooledNumber))

    second = sweep(catalog)

    assert second.changes == 0
    assert second.lines_examined == 0
    assert count_due_lines(catalog, now=clock.now()) == 0
    after = (count(catalog, LineHistory), count(catalog, OutboxMessage))
    after += (count(catalog, LedgerEntry), count(catalog, PooledNumber))
    assert after == before
    assert audit_ok(catalog)


def test_batches_cover_every_due_line(catalog: Platform, clock: FixedClock) -> None:
    for n in range(25):
        make_line(catalog, f"+965500012{n:02d}", valid_for=timedelta(days=-1))
    assert count_due_lines(catalog, now=clock.now()) == 25
    seen: list[int] = []

    summary = sweep_lifecycle(
        catalog, now=clock.now(), batch_size=10, quiet_hours="", progress=seen.append
    )

    assert summary.lines_examined == 25
    assert summary.batches == 3
    assert seen == [10, 20, 25]
    assert summary.transitions == {("active", "grace"): 25}


# --- recycling -------------------------------------------------------------------------------


def test_recycling_forfeits_both_buckets_and_pools_the_number(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(
        catalog,
        valid_for=timedelta(days=1),
        paid_fils=2500,
        bonus_fils=800,
        bonus_expires_in=timedelta(days=100),
    )
    recycled_at = clock.now() + timedelta(days=1) + GRACE + SUSPENSION
    clock.set(recycled_at + timedelta(hours=5))

    summary = sweep(catalog)

    assert summary.forfeited_fils == 3300
    with catalog.uow() as uow:
        kinds = uow.session.execute(
            select(LedgerEntry.bucket, LedgerEntry.kind, LedgerEntry.amount_fils)
            .where(LedgerEntry.amount_fils < 0)
            .order_by(LedgerEntry.bucket)
        ).all()
        pooled = uow.session.get(PooledNumber, MSISDN)
    assert [tuple(k) for k in kinds] == [
        ("bonus", "recycle_forfeit", -800),
        ("paid", "recycle_forfeit", -2500),
    ]
    stored = line(catalog)
    assert (stored.balance_fils, stored.paid_fils, stored.bonus_fils) == (0, 0, 0)
    assert stored.bonus_expires_at is None
    assert pooled is not None
    assert utc(pooled.recycled_at) == recycled_at
    assert utc(pooled.available_at) == recycled_at + QUARANTINE
    assert pooled.operator_code == "zahra"
    assert audit_ok(catalog)


def test_an_expired_bonus_is_written_off_as_expired_not_forfeited(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=-40), paid_fils=1000, bonus_fils=400)
    clock.advance(days=31)  # the 30-day bonus has expired by now

    sweep(catalog)

    with catalog.uow() as uow:
        kinds = sorted(
            uow.session.execute(
                select(LedgerEntry.kind, LedgerEntry.amount_fils).where(LedgerEntry.amount_fils < 0)
            ).all()
        )
    assert [tuple(k) for k in kinds] == [("bonus_expiry", -400), ("recycle_forfeit", -1000)]
    assert audit_ok(catalog)


def test_the_pool_lists_numbers_and_their_quarantine(catalog: Platform, clock: FixedClock) -> None:
    make_line(catalog, "+96550001234", valid_for=timedelta(days=-40))
    make_line(catalog, "+96550001235", valid_for=timedelta(days=-200))
    sweep(catalog)

    everything = list_pool(catalog.uow(), now=clock.now())
    available = list_pool(catalog.uow(), now=clock.now(), available_only=True)

    assert everything.total == 2
    assert [e.msisdn for e in everything.entries] == ["+96550001235", "+96550001234"]
    assert [e.available for e in everything.entries] == [True, False]
    assert [e.msisdn for e in available.entries] == ["+96550001235"]
    assert list_pool(catalog.uow(), now=clock.now(), operator="najm").total == 0


# --- reminders -------------------------------------------------------------------------------


def test_a_line_past_several_points_gets_only_the_nearest_then_the_next(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=2, hours=12))  # API.md's example
    ends = clock.now() + timedelta(days=2, hours=12)

    assert sweep(catalog).reminders == {3: 1}
    assert sweep(catalog).reminders == {}
    clock.set(ends - timedelta(days=1, seconds=1))
    assert sweep(catalog).reminders == {}
    clock.set(ends - timedelta(days=1))
    assert sweep(catalog).reminders == {1: 1}
    clock.set(ends - timedelta(hours=2))
    assert sweep(catalog).reminders == {}

    reminders = messages(catalog, "reminder")
    assert [m.dedupe_key for m in reminders] == [
        "reminder:+96550001234:2026-11-27T21:00:00Z:3",
        "reminder:+96550001234:2026-11-27T21:00:00Z:1",
    ]
    first = reminders[0]
    assert first.lane == "bulk"
    assert first.params["days_left"] == 3
    assert "expires in 3 days, on 2026-11-28 00:00" in first.body  # Kuwait time
    assert "*135#" in first.body
    assert "zahra.example" in first.body
    assert "expires in 1 day," in reminders[1].body


def test_each_point_once_per_validity_period(catalog: Platform, clock: FixedClock) -> None:
    make_line(catalog, valid_for=timedelta(days=10))
    ends = clock.now() + timedelta(days=10)
    sent: list[int] = []
    for left in (8, 7, 6, 5, 3, 2.5, 1, 0.5):
        clock.set(ends - timedelta(days=left))
        sent += list(sweep(catalog).reminders.elements())
    assert sent == [7, 3, 1]


def test_a_renewal_after_a_reminder_starts_a_new_series(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=10), paid_fils=500)
    caller, _ = make_caller(catalog, "store")
    clock.advance(days=3)  # 7 days left
    assert sweep(catalog).reminders == {7: 1}

    body = {"msisdn": MSISDN, "package_code": "kd5", "payment": {"method": "cash"}}
    credit_renewal(
        catalog.uow(), caller, RenewalRequest(MSISDN, "kd5", "cash", "k-1", body=body), clock=clock
    )
    assert sweep(catalog).reminders == {}  # 37 days left now
    clock.advance(days=30)  # 7 days left in the new period

    assert sweep(catalog).reminders == {7: 1}
    keys = [m.dedupe_key for m in messages(catalog, "reminder")]
    assert len(set(keys)) == 2
    assert audit_ok(catalog)


def test_arabic_reminder(catalog: Platform, clock: FixedClock) -> None:
    make_line(catalog, valid_for=timedelta(days=3), language="ar", civil_id=ARABIC_CIVIL_ID)

    sweep(catalog)

    (reminder,) = messages(catalog, "reminder")
    assert reminder.language == "ar"
    assert "بعد 3 أيام" in reminder.body
    assert "*135#" in reminder.body


def test_lines_without_a_due_reminder_are_not_examined(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=30))
    assert sweep(catalog).lines_examined == 0


# --- quiet hours -------------------------------------------------------------------------------


def test_quiet_hours_hold_bulk_sms_until_nine_in_kuwait(
    catalog: Platform, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 25, 22, 30, tzinfo=KUWAIT))
    make_line(catalog, "+96550001234", valid_for=timedelta(days=7))
    make_line(catalog, "+96550001235", valid_for=timedelta(0))

    summary = sweep(catalog, quiet_hours="21:00-09:00")

    nine = datetime(2026, 11, 26, 9, 0, tzinfo=KUWAIT).astimezone(UTC)
    held = messages(catalog)
    assert summary.sms_queued == 2
    assert {m.template for m in held} == {"reminder", "grace_started"}
    assert all(m.next_attempt_at == nine for m in held)
    with catalog.uow() as uow:
        states = uow.session.scalars(select(OutboxMessage.state)).all()
    assert states == ["pending", "pending"]  # waiting, never dropped


def test_outside_quiet_hours_bulk_sms_are_due_at_once(catalog: Platform, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=KUWAIT))
    make_line(catalog, valid_for=timedelta(days=7))

    sweep_lifecycle(catalog, now=clock.now(), batch_size=10)  # the platform's own setting

    (reminder,) = messages(catalog)
    assert reminder.next_attempt_at == clock.now()


def test_a_bad_quiet_hours_setting_is_refused_before_any_write(
    catalog: Platform, clock: FixedClock
) -> None:
    make_line(catalog, valid_for=timedelta(days=-1))
    with pytest.raises(ValidationFailed, match="SIMRENEW_QUIET_HOURS"):
        sweep(catalog, quiet_hours="late")
    assert line(catalog).state == "active"


# --- the worker job and races -----------------------------------------------------------------


def test_the_worker_job_sweeps_at_the_platform_clock(catalog: Platform, clock: FixedClock) -> None:
    make_line(catalog, valid_for=timedelta(days=-1))
    assert sweep_due_lines(catalog) == 2  # one transition, one SMS
    assert sweep_due_lines(catalog) == 0


def expiries_by_line(platform: Platform) -> dict[str, int]:
    """How many expiry transitions each line's history holds."""
    with platform.uow() as uow:
        rows = uow.session.execute(
            select(LineHistory.msisdn, func.count())
            .where(LineHistory.event == "expiry")
            .group_by(LineHistory.msisdn)
        ).all()
    return {msisdn: count for msisdn, count in rows}


def assert_each_sms_queued_once(platform: Platform, expected: int) -> None:
    """`expected` SMS in the outbox, no two with the same dedupe key."""
    with platform.uow() as uow:
        keys = uow.session.scalars(select(OutboxMessage.dedupe_key)).all()
    assert len(keys) == expected
    assert len(set(keys)) == expected


def test_two_sweepers_at_once_record_each_transition_once(
    catalog: Platform, clock: FixedClock
) -> None:
    lines = [f"+9655001{n:04d}" for n in range(200)]
    for msisdn in lines:
        make_line(catalog, msisdn, valid_for=timedelta(days=-1), paid_fils=100)
    start = threading.Barrier(2)
    results: list[SweepSummary] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(sweep(catalog, batch_size=7))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.transitions.total() for r in results) == 200
    assert sum(r.sms_queued for r in results) == 200
    assert expiries_by_line(catalog) == dict.fromkeys(lines, 1)
    assert_each_sms_queued_once(catalog, 200)
    with catalog.uow() as uow:
        assert set(uow.session.scalars(select(Line.state)).all()) == {"grace"}
    assert audit_ok(catalog)


def test_one_sweep_on_three_connections_handles_each_line_once(
    catalog: Platform, clock: FixedClock
) -> None:
    lines = [f"+9655002{n:04d}" for n in range(300)]
    for n, msisdn in enumerate(lines):
        # A third already ended (grace), a third in the 3-day reminder window, a third idle.
        days = (-1, 2, 30)[n % 3]
        make_line(catalog, msisdn, valid_for=timedelta(days=days), paid_fils=100)
    seen: list[int] = []

    summary = sweep_lifecycle(
        catalog,
        now=clock.now(),
        batch_size=7,
        quiet_hours="",
        connections=3,  # on SQLite, one: it has a single writer
        progress=seen.append,
    )

    assert summary.transitions == {("active", "grace"): 100}
    assert summary.reminders == {3: 100}
    assert summary.lines_examined == 200
    assert seen == sorted(seen)  # the bar only moves forward
    assert seen[-1] == 200
    assert expiries_by_line(catalog) == dict.fromkeys(lines[::3], 1)
    assert_each_sms_queued_once(catalog, 200)
    assert sweep(catalog).changes == 0
    assert audit_ok(catalog)


def test_a_number_recycled_again_starts_a_new_quarantine(
    catalog: Platform, clock: FixedClock
) -> None:
    periods = LifecyclePeriods(grace_days=7, suspension_days=30, recycle_days=90)
    first, again = clock.now() - timedelta(days=100), clock.now()
    with catalog.uow() as uow:
        connection = uow.session.connection()
        add_to_pool(connection, [pool_row(MSISDN, "zahra", first, periods)])
        add_to_pool(connection, [pool_row(MSISDN, "zahra", again, periods)])
        uow.commit()

    listing = list_pool(catalog.uow(), now=clock.now())

    assert [(e.msisdn, e.recycled_at, e.available) for e in listing.entries] == [
        (MSISDN, again, False)
    ]
    assert listing.entries[0].available_at == again + timedelta(days=90)


def test_sub_second_end_dates_are_keyed_alike_in_sql_and_python(
    catalog: Platform, clock: FixedClock
) -> None:
    # A renewal of an expired line ends at now + days: microseconds included.
    make_line(catalog, valid_for=timedelta(days=2, seconds=59, microseconds=999_999))

    assert sweep(catalog).reminders == {3: 1}
    assert sweep(catalog).lines_examined == 0  # the SQL found the key Python wrote
    (reminder,) = messages(catalog, "reminder")
    assert reminder.dedupe_key == "reminder:+96550001234:2026-11-27T09:00:59Z:3"
