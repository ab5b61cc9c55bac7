"""Every query of the payments room, as plain functions taking a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simrenew.payments.models import Payment, PaymentEvent, PaymentRefund
from simrenew.payments.rules import OPEN_STATES, PaymentState
from simrenew.renewals.models import Renewal


def get_payment_by_ref(session: Session, payment_ref: str, *, lock: bool = False) -> Payment | None:
    """One payment by its reference (locked for update when asked)."""
    query = select(Payment).where(Payment.payment_ref == payment_ref)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def get_payment_of_renewal(session: Session, renewal_id: str) -> Payment | None:
    """The payment of a renewal, if it is paid on a gateway's page."""
    return session.scalars(select(Payment).where(Payment.renewal_id == renewal_id)).one_or_none()


def event_seen(session: Session, gateway: str, event_id: str) -> bool:
    """Whether a gateway's event was already stored (a replayed callback)."""
    found = session.scalar(
        select(PaymentEvent.id).where(
            PaymentEvent.gateway == gateway, PaymentEvent.event_id == event_id
        )
    )
    return found is not None


def list_events(session: Session, payment_id: str) -> Sequence[PaymentEvent]:
    """A payment's events, oldest first."""
    return session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
    ).all()


def list_overdue_refs(session: Session, now: datetime, *, limit: int) -> list[str]:
    """Open payments past their deadline: to be asked about at the gateway."""
    return list(
        session.scalars(
            select(Payment.payment_ref)
            .where(Payment.state.in_([s.value for s in OPEN_STATES]), Payment.expires_at <= now)
            .order_by(Payment.expires_at)
            .limit(limit)
        )
    )


def list_uncredited_capture_refs(session: Session, *, limit: int) -> list[str]:
    """Captured payments not refunded in full whose renewal is not credited."""
    return list(
        session.scalars(
            select(Payment.payment_ref)
            .join(Renewal, Renewal.id == Payment.renewal_id)
            .where(Payment.state == PaymentState.CAPTURED.value, Renewal.state != "credited")
            .order_by(Payment.captured_at)
            .limit(limit)
        )
    )


def list_unfinished_refunds(session: Session, *, limit: int) -> Sequence[PaymentRefund]:
    """Refunds asked but not confirmed by the gateway (a crash or a gateway outage between)."""
    return session.scalars(
        select(PaymentRefund)
        .where(PaymentRefund.state == "requested")
        .order_by(PaymentRefund.requested_at)
        .limit(limit)
    ).all()


def get_refund(session: Session, refund_ref: str) -> PaymentRefund | None:
    """One refund by its reference."""
    return session.scalars(
        select(PaymentRefund).where(PaymentRefund.refund_ref == refund_ref)
    ).one_or_none()


def count_refunds(session: Session, payment_id: str) -> int:
    """How many refunds a payment has (to number the next one)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(PaymentRefund)
            .where(PaymentRefund.payment_id == payment_id)
        )
        or 0
    )


def list_captures_between(
    session: Session, start: datetime, end: datetime
) -> Sequence[tuple[str, str, int, int]]:
    """(gateway, method, captured fils, fee fils) of every capture in [start, end)."""
    rows = session.execute(
        select(Payment.gateway, Payment.method, Payment.captured_fils, Payment.fee_fils).where(
            Payment.captured_at >= start, Payment.captured_at < end
        )
    ).all()
    return [(g, m, c or 0, f) for g, m, c, f in rows]


def list_refunds_between(
    session: Session, start: datetime, end: datetime
) -> Sequence[tuple[str, str, int]]:
    """(gateway, method, refunded fils) of every refund the gateway confirmed in [start, end)."""
    rows = session.execute(
        select(Payment.gateway, Payment.method, PaymentRefund.amount_fils)
        .join(Payment, Payment.id == PaymentRefund.payment_id)
        .where(
            PaymentRefund.state == "done",
            PaymentRefund.done_at >= start,
            PaymentRefund.done_at < end,
        )
    ).all()
    return [(g, m, a) for g, m, a in rows]


def list_credited_unpaid_refs(session: Session, *, limit: int) -> list[str]:
    """Payments whose renewal was credited though the payment was never captured (a bug or a
    hand edit): reconciliation reports them, a person decides."""
    return list(
        session.scalars(
            select(Payment.payment_ref)
            .join(Renewal, Renewal.id == Payment.renewal_id)
            .where(
                Renewal.state == "credited",
                Payment.state.not_in([PaymentState.CAPTURED.value, PaymentState.REFUNDED.value]),
            )
            .limit(limit)
        )
    )
