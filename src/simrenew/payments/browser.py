"""What the payer's browser sees around the gateway: the way to its page and the result.

A browser back before any callback makes simrenew ask the gateway (at most every few seconds),
so the result page never waits for a callback that may never come.
"""

from __future__ import annotations

from typing import Any

from simrenew.clock import Clock
from simrenew.db.session import UnitOfWork
from simrenew.errors import NotFound
from simrenew.payments import repository
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.rules import PaymentState
from simrenew.payments.service import ask_gateway
from simrenew.payments.views import payment_summary
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.views import renewal_view


def payment_status(
    uow: UnitOfWork, desk: PaymentDesk, payment_ref: str, *, browser_returned: bool, clock: Clock
) -> dict[str, Any]:
    """A payment's state for its result page; a browser back before any callback makes
    simrenew ask the gateway (at most every few seconds), so the page never waits for one."""
    with uow:
        session = uow.session
        payment = repository.get_payment_by_ref(session, payment_ref)
        if payment is None:
            raise NotFound("No such payment.")
        now = clock.now()
        if browser_returned and payment.browser_returned_at is None:
            payment.browser_returned_at = now
            uow.commit()
        ask = (
            payment.state == PaymentState.PENDING.value
            and payment.browser_returned_at is not None
            and (payment.checked_at is None or now - payment.checked_at >= desk.inquiry_interval)
        )
    if ask:
        ask_gateway(uow, desk, payment, source="inquiry", clock=clock)
    with uow:
        payment = repository.get_payment_by_ref(uow.session, payment_ref)
        assert payment is not None  # noqa: S101 - read above
        renewal = renewals_repository.get_renewal(uow.session, payment.renewal_id)
        assert renewal is not None  # noqa: S101 - written with the payment
        return {**payment_summary(payment, desk.links), "renewal": renewal_view(renewal)}


def checkout_url(uow: UnitOfWork, payment_ref: str, *, clock: Clock) -> str | None:
    """The gateway page of an open payment (None once it is finished or past its deadline)."""
    with uow:
        payment = repository.get_payment_by_ref(uow.session, payment_ref)
        if payment is None:
            raise NotFound("No such payment.")
        if payment.state != PaymentState.PENDING.value or payment.expires_at <= clock.now():
            return None
        return payment.checkout_url
