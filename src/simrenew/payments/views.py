"""Payments as the API and the result page show them."""

from __future__ import annotations

from typing import Any

from simrenew.clock import to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotFound, UnknownRenewal
from simrenew.payments import repository
from simrenew.payments.desk import PaymentDesk, PaymentLinks
from simrenew.payments.models import Payment
from simrenew.payments.rules import OPEN_STATES
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.views import ensure_may_read, renewal_view
from simrenew.staff.rules import Caller


def payment_summary(payment: Payment, links: PaymentLinks) -> dict[str, Any]:
    """A payment as the API shows it (no card data exists to show)."""
    return {
        "payment_ref": payment.payment_ref,
        "method": payment.method,
        "gateway": payment.gateway,
        "state": payment.state,
        "reason": payment.reason,
        "flag": payment.flag,
        "amount_fils": payment.amount_fils,
        "fee_fils": payment.fee_fils,
        "currency": payment.currency,
        "language": payment.language,
        "captured_fils": payment.captured_fils,
        "refunded_fils": payment.refunded_fils,
        "redirect_url": links.pay_url(payment.payment_ref),
        "expires_at": to_kuwait(payment.expires_at).isoformat(),
    }


def with_payment(
    body: dict[str, Any], payment: Payment | None, links: PaymentLinks
) -> dict[str, Any]:
    """A renewal's view with its hosted payment's fields under `payment`."""
    if payment is None:
        return body
    summary = payment_summary(payment, links)
    if payment.state not in {s.value for s in OPEN_STATES}:
        summary.pop("redirect_url")  # nothing left to pay
    return {**body, "payment": {**body["payment"], **summary}}


def get_renewal_with_payment(
    uow: UnitOfWork, desk: PaymentDesk, caller: Caller, renewal_id: str
) -> dict[str, Any]:
    """One renewal and its payment state."""
    ensure_may_read(caller)
    with uow:
        renewal = renewals_repository.get_renewal(uow.session, renewal_id)
        if renewal is None:
            raise UnknownRenewal()
        payment = repository.get_payment_of_renewal(uow.session, renewal_id)
        return with_payment(renewal_view(renewal), payment, desk.links)


def get_payment(
    uow: UnitOfWork, desk: PaymentDesk, caller: Caller, payment_ref: str
) -> dict[str, Any]:
    """A payment with every event stored for it (staff and partners)."""
    ensure_may_read(caller)
    with uow:
        payment = repository.get_payment_by_ref(uow.session, payment_ref)
        if payment is None:
            raise NotFound("No such payment.")
        events = repository.list_events(uow.session, payment.id)
        return {
            **payment_summary(payment, desk.links),
            "msisdn": payment.msisdn,
            "renewal_id": payment.renewal_id,
            "events": [
                {
                    "at": to_kuwait(e.at).isoformat(),
                    "source": e.source,
                    "outcome": e.outcome,
                    "state_before": e.state_before,
                    "state_after": e.state_after,
                    "amount_fils": e.amount_fils,
                    "event_id": e.event_id,
                    "details": e.details,
                }
                for e in events
            ],
        }
