"""Outbox use cases: queue an SMS inside the caller's transaction; drain it through a transport.

Delivery is at-least-once. A drain claims due rows in one short transaction (state `sending`,
`next_attempt_at` pushed a lease into the future), sends them with no transaction open, then
records each outcome in another. A worker that dies mid-batch leaves its rows `sending`; when
the lease runs out they are due again and sent again, since nobody can know whether the
gateway took them. Outcomes are recorded every few sends to keep that window small, and a
delivery report that arrives for a row proves the gateway has it (no resend). States:

    pending --claim--> sending --accepted--> sent (delivery_state follows delivery reports)
                          |--failed--> pending (retry after backoff) ... --> dead
                          +--lease ran out: due again (outcome unknown)
    dead --retry_dead--> pending
    pending --a renewal of the line--> cancelled (reminders and expiry notices only)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy import String, Table, bindparam, func, update
from sqlalchemy.orm import Session

from simrenew.clock import Clock
from simrenew.db.base import insert_row
from simrenew.db.deferred import execute_write
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotFound
from simrenew.ids import new_id
from simrenew.notify import repository
from simrenew.notify.models import OutboxMessage
from simrenew.notify.sms.base import DeliveryState, SmsRejected, SmsTransport
from simrenew.notify.templates import render

log = structlog.get_logger(__name__)

LANES = ("priority", "bulk")  # drained in this order: OTPs and confirmations never wait
# A claimed row is due again after this long: a worker that died mid-send loses nothing.
LEASE = timedelta(minutes=5)
BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# Outcomes are written after this many sends, so a crash resends at most this many.
RECORD_EVERY = 50
# After this many failures in a row the gateway is down: the rest of the batch waits unsent.
GIVE_UP_AFTER_FAILURES = 5

_outbox: Table = OutboxMessage.__table__  # type: ignore[assignment]
_jitter = random.Random()  # noqa: S311 - jitter spreads retries, it guards no secret


# What an OTP's outbox row says once the code went out: the code lives on only as a hash.
CODE_WITHHELD = "[one-time code sent; its text is not kept]"


def queue_sms(
    session: Session,
    *,
    msisdn: str,
    template: str,
    language: str,
    params: dict[str, Any],
    now: datetime,
    lane: str = "bulk",
) -> OutboxMessage:
    """Write one SMS into the outbox inside the caller's transaction (sent after commit)."""
    message = OutboxMessage(
        id=new_id(),
        msisdn=msisdn,
        recipient=msisdn,
        lane=lane,
        template=template,
        language=language,
        params=params,
        body=render(template, language, params),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    insert_row(session, message)
    return message


@dataclass(frozen=True)
class ClaimedMessage:
    """A row taken for sending; `attempts` (counting this one) fences late writes."""

    id: str
    recipient: str
    body: str
    language: str
    lane: str
    attempts: int


@dataclass
class DrainResult:
    """What one drain did: claimed rows, and how each claimed row ended."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0  # left unsent, no attempt counted, after the gateway looked down
    by_lane: dict[str, int] = field(default_factory=dict)


Outcome = Literal["sent", "retry", "dead", "release"]


@dataclass(frozen=True)
class _Result:
    message: ClaimedMessage
    outcome: Outcome
    external_id: str | None = None
    error: str | None = None


# Notices a renewal makes untrue: a held reminder or expiry notice must not reach a subscriber
# who has just renewed.
EXPIRY_NOTICES = ("reminder", "grace_started", "suspended", "recycle_warning")
_CANCEL_NOTICES = (
    update(_outbox)
    .where(
        _outbox.c.recipient == bindparam("line_msisdn"),
        _outbox.c.state == "pending",
        _outbox.c.template.in_(EXPIRY_NOTICES),
    )
    .values(state="cancelled", last_error="the line was renewed before it was sent")
)


def cancel_expiry_notices(session: Session, msisdn: str) -> None:
    """Withdraw a line's unsent reminders and expiry notices (inside a renewal's transaction)."""
    execute_write(session, _CANCEL_NOTICES, {"line_msisdn": msisdn})


def retry_delay(attempts: int, *, rng: random.Random = _jitter) -> timedelta:
    """Exponential backoff with jitter after the n-th failed attempt: 30 s, 1 min... 1 h."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0))
    # Half fixed, half random: retries spread out but never come back at once.
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def claim_due(
    uow: UnitOfWork,
    *,
    now: datetime,
    limit: int,
    lease: timedelta = LEASE,
    lanes: Sequence[str] = LANES,
) -> list[ClaimedMessage]:
    """Take up to `limit` due messages of `lanes`, priority first, in one short transaction."""
    with uow:
        rows: list[Any] = []
        for lane in lanes:
            # "sending" rows are due only once their lease ran out: their worker died.
            for state in ("pending", "sending"):
                if len(rows) < limit:
                    rows.extend(
                        repository.lock_due(
                            uow.session, state=state, lane=lane, now=now, limit=limit - len(rows)
                        )
                    )
        if not rows:
            return []
        uow.session.execute(
            update(_outbox)
            .where(_outbox.c.id.in_([row.id for row in rows]))
            .values(state="sending", attempts=_outbox.c.attempts + 1, next_attempt_at=now + lease)
        )
        uow.commit()
    return [
        ClaimedMessage(r.id, r.recipient, r.body, r.language, r.lane, r.attempts + 1) for r in rows
    ]


def drain_outbox(
    uow: UnitOfWork,
    transport: SmsTransport,
    *,
    clock: Clock,
    batch: int = 200,
    max_attempts: int = 8,
    lease: timedelta = LEASE,
    rng: random.Random = _jitter,
    lanes: Sequence[str] = LANES,
    keep_codes: bool = False,
) -> DrainResult:
    """Send one batch of due messages, priority lane first, with no transaction open.

    A one-time code's text is withheld from the outbox once it is sent (the code lives on only
    as a hash); `keep_codes` keeps it, for the development SMS viewer.
    """
    claimed = claim_due(uow, now=clock.now(), limit=batch, lease=lease, lanes=lanes)
    result = DrainResult(claimed=len(claimed))
    pending: list[_Result] = []
    failures_in_a_row = 0
    for position, message in enumerate(claimed):
        if failures_in_a_row >= GIVE_UP_AFTER_FAILURES:
            # The gateway is down: hammering it with the rest of the batch only burns their
            # attempts. They wait one backoff step, uncounted.
            pending.extend(_Result(m, "release") for m in claimed[position:])
            break
        try:
            external_id = transport.send(
                message.recipient, message.body, language=message.language, message_id=message.id
            )
        except SmsRejected as error:
            pending.append(_Result(message, "dead", error=_describe(error)))
        except Exception as error:  # any failure, or an unknown outcome, is retried later
            failures_in_a_row += 1
            last = message.attempts >= max_attempts
            pending.append(_Result(message, "dead" if last else "retry", error=_describe(error)))
        else:
            failures_in_a_row = 0
            pending.append(_Result(message, "sent", external_id=external_id))
        if len(pending) >= RECORD_EVERY:
            _record(uow, pending, transport=transport.name, now=clock.now(), rng=rng,
                    into=result, keep_codes=keep_codes)  # fmt: skip
            pending = []
    _record(uow, pending, transport=transport.name, now=clock.now(), rng=rng, into=result,
            keep_codes=keep_codes)  # fmt: skip
    return result


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _fenced() -> Any:
    """The row is still ours: `sending` with the attempt count our claim gave it.

    A worker that outlived its lease finds the row re-claimed (attempts moved on) and so
    writes nothing over the newer claim.
    """
    return (
        (_outbox.c.id == bindparam("b_id"))
        & (_outbox.c.state == "sending")
        & (_outbox.c.attempts == bindparam("b_attempts"))
    )


def _record(
    uow: UnitOfWork,
    results: list[_Result],
    *,
    transport: str,
    now: datetime,
    rng: random.Random,
    into: DrainResult,
    keep_codes: bool = False,
) -> None:
    """Write the outcomes of sends in one transaction (rows re-claimed meanwhile are left)."""
    if not results:
        return
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        delay = retry_delay(r.message.attempts, rng=rng)
        by_outcome.setdefault(r.outcome, []).append(
            {
                "b_id": r.message.id,
                "b_attempts": r.message.attempts,
                "b_external_id": r.external_id,
                "b_error": r.error,
                "b_next": now + delay,
            }
        )
        if r.outcome == "sent":
            into.by_lane[r.message.lane] = into.by_lane.get(r.message.lane, 0) + 1
    counts = {"sent": 0, "retry": 0, "dead": 0, "release": 0}
    counts.update({outcome: len(params) for outcome, params in by_outcome.items()})
    into.sent += counts["sent"]
    into.retrying += counts["retry"]
    into.dead += counts["dead"]
    into.released += counts["release"]
    accepted = {"state": "sent", "sent_at": now, "transport": transport}
    with uow:
        conn = uow.session.connection()
        if params := by_outcome.get("sent"):
            conn.execute(
                update(_outbox)
                .where(_fenced())
                .values(
                    **accepted,
                    external_id=func.coalesce(
                        bindparam("b_external_id", type_=String), _outbox.c.external_id
                    ),
                ),
                params,
            )
            if not keep_codes:
                conn.execute(
                    update(_outbox)
                    .where(
                        _outbox.c.id.in_([p["b_id"] for p in params]),
                        _outbox.c.template == "otp",
                    )
                    .values(body=CODE_WITHHELD, params={})
                )
        failed = [*by_outcome.get("retry", []), *by_outcome.get("dead", [])]
        if failed:
            # A delivery report already came in: the gateway has the message after all.
            conn.execute(
                update(_outbox)
                .where(_fenced() & _outbox.c.delivery_state.is_not(None))
                .values(**accepted),
                failed,
            )
        for outcome, state in (("retry", "pending"), ("dead", "dead")):
            if params := by_outcome.get(outcome):
                conn.execute(
                    update(_outbox)
                    .where(_fenced() & _outbox.c.delivery_state.is_(None))
                    .values(
                        state=state,
                        transport=transport,
                        last_error=bindparam("b_error"),
                        next_attempt_at=bindparam("b_next"),
                    ),
                    params,
                )
        if params := by_outcome.get("release"):
            conn.execute(
                update(_outbox)
                .where(_fenced())
                .values(
                    state="pending",
                    attempts=_outbox.c.attempts - 1,
                    next_attempt_at=now + timedelta(seconds=BACKOFF_FIRST_SECONDS),
                ),
                params,
            )
        uow.commit()
    if counts["retry"] or counts["dead"]:
        log.warning("outbox.send_failed", transport=transport, **counts)


# ---------------------------------------------------------------------------------------------
# Delivery reports and dead letters

FINAL_DELIVERY_STATES = frozenset({"delivered", "failed", "rejected", "expired"})


def record_delivery_report(
    uow: UnitOfWork, external_id: str, status: DeliveryState, at: datetime
) -> bool:
    """Record what the gateway says became of a message; False when it changed nothing.

    `external_id` is the gateway's id for the message, or the outbox id for gateways that echo
    it back (Kannel's dlr-url). Idempotent and order-proof: a repeated report changes nothing,
    and an intermediate report (accepted, buffered) never overwrites a final one.
    """
    with uow:
        message = repository.lock_by_external_id(uow.session, external_id)
        if message is None:
            raise NotFound("No SMS with this id is in the outbox.")
        changed = False
        if message.state in ("pending", "dead") and message.attempts > 0:
            # Our send saw an error, yet the gateway reports on the message: it took it.
            # Marking it sent is what keeps the retry from sending it twice.
            message.state, message.sent_at = "sent", message.sent_at or at
            changed = True
        current = message.delivery_state
        if current != status and current not in FINAL_DELIVERY_STATES:
            message.delivery_state = status
            if status == "delivered":
                message.delivered_at = at
            changed = True
        if changed:
            uow.commit()
        return changed


def retry_dead(uow: UnitOfWork, ids: Sequence[str] | None, *, clock: Clock) -> int:
    """Put dead letters (these ids, or all when None) back in line; return how many."""
    statement = (
        update(_outbox)
        .where(_outbox.c.state == "dead")
        .values(state="pending", attempts=0, next_attempt_at=clock.now())
    )
    if ids is not None:
        statement = statement.where(_outbox.c.id.in_(list(ids)))
    with uow:
        # last_error stays: it says why the message died, until a new attempt says otherwise.
        count = uow.session.connection().execute(statement).rowcount
        uow.commit()
    return count
