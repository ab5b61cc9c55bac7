"""What a payment leaves behind besides its state: its events and its audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.db.session import UnitOfWork
from simrenew.ids import new_id
from simrenew.payments.gateways.base import GatewayEvent
from simrenew.payments.models import Payment, PaymentEvent
from simrenew.payments.rules import PaymentState
from simrenew.renewals import repository as renewals_repository
from simrenew.staff.service import record_audit


def set_renewal_payment_state(session: Session, payment: Payment, state: PaymentState) -> None:
    renewal = renewals_repository.get_renewal(session, payment.renewal_id)
    if renewal is not None:
        renewal.payment_state = state.value


def add_event(
    session: Session,
    payment: Payment,
    *,
    source: str,
    before: PaymentState,
    now: datetime,
    event: GatewayEvent | None = None,
    keep_event_id: bool = True,
    details: dict[str, Any] | None = None,
) -> None:
    """Store one event of a payment (the gateway's event id makes a replay a no-op)."""
    stated = dict(event.details) if event is not None else {}
    if event is not None:
        stated.update(event_id=event.event_id, reason=event.reason or "")
    session.add(
        PaymentEvent(
            id=new_id(),
            payment_id=payment.id,
            msisdn=payment.msisdn,
            gateway=payment.gateway,
            event_id=event.event_id if event is not None and keep_event_id else None,
            source=source,
            outcome=event.outcome.value if event is not None else None,
            state_before=before.value,
            state_after=payment.state,
            amount_fils=event.amount_fils if event is not None else payment.amount_fils,
            details={**stated, **(details or {})},
            at=now,
        )
    )


def audit_payment(
    session: Session, actor: str, action: str, payment: Payment, now: datetime, **details: Any
) -> None:
    record_audit(
        session,
        actor=actor,
        action=action,
        subject=payment.payment_ref,
        details={
            "gateway": payment.gateway,
            "method": payment.method,
            "amount_fils": payment.amount_fils,
            "state": payment.state,
            **details,
        },
        now=now,
    )


def audit_rejection(uow: UnitOfWork, gateway: str, why: str, now: datetime) -> None:
    with uow:
        record_audit(
            uow.session,
            actor=f"gateway:{gateway}",
            action="payment.callback_rejected",
            subject=None,
            details={"gateway": gateway, "why": why[:200]},
            now=now,
        )
        uow.commit()


def audit_unknown(session: Session, gateway: str, event: GatewayEvent, now: datetime) -> None:
    record_audit(
        session,
        actor=f"gateway:{gateway}",
        action="payment.unknown_reference",
        subject=event.payment_ref[:100],
        details={"gateway": gateway, "outcome": event.outcome.value, "event_id": event.event_id},
        now=now,
    )
