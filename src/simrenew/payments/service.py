"""Payment use cases: start a renewal paid on a gateway's page, hear the gateway, show the result.

Capture and credit are one step: the transaction that records a capture credits the renewal
(or, when the line can no longer be credited, flags the capture for a refund). Every change of
a payment holds its line's lock, so replayed, reordered and concurrent callbacks, status answers
and browsers serialise there and the credit happens at most once. Nothing calls a gateway while
a transaction is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import current_catalog
from simrenew.clock import Clock
from simrenew.db.base import insert_row
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    BadSignature,
    LineRecycled,
    LineSuspended,
    PackageNotAvailable,
    PaymentMethodNotAvailable,
)
from simrenew.errors import GatewayUnavailable as GatewayUnavailableError
from simrenew.ids import new_id
from simrenew.lines import repository as lines_repository
from simrenew.payments import repository
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.gateways.base import (
    CallbackRejected,
    CallbackReply,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.models import Payment
from simrenew.payments.records import (
    add_event,
    audit_payment,
    audit_rejection,
    audit_unknown,
    set_renewal_payment_state,
)
from simrenew.payments.rules import (
    CURRENCY,
    PaymentState,
    event_problem,
    expiry_state,
    new_payment_ref,
    next_state,
    renewal_state_after,
)
from simrenew.payments.views import with_payment
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.models import Renewal
from simrenew.renewals.service import (
    RenewalOutcome,
    RenewalRequest,
    credit_paid_renewal,
    credit_renewal,
)
from simrenew.staff.rules import Caller

log = structlog.get_logger(__name__)

# Gateways whose protocol wants every callback answered 200 with where the browser goes next
# (KNET's `REDIRECT=` line), even a callback that does not verify.
REDIRECTING_GATEWAYS = frozenset({"knet"})
# Gateways whose capture notice is confirmed by a status inquiry before anything is credited.
CONFIRMED_BY_INQUIRY = frozenset({"knet"})
# Why a capture cannot be credited: the line left the states a renewal may credit.
UNCREDITABLE = (LineRecycled, LineSuspended, PackageNotAvailable, PaymentMethodNotAvailable)


# -- starting a payment ------------------------------------------------------------------------


def renew_with_payment(
    uow: UnitOfWork,
    desk: PaymentDesk,
    caller: Caller,
    request: RenewalRequest,
    *,
    clock: Clock,
    line_checked: bool = False,
) -> RenewalOutcome:
    """Store a renewal awaiting payment and get the gateway's page for it (idempotent by key)."""

    def open_payment(session: Session, renewal: Renewal, language: str, now: datetime) -> None:
        if renewal.total_fils <= 0:
            # Gateways take no zero payment (Tap's minimum is 0.100 KWD; KNET refuses 0).
            raise PaymentMethodNotAvailable(
                "This renewal costs nothing: there is nothing to pay online. Use cash or till."
            )
        terms = current_catalog(session).payment_methods.get(renewal.payment_method)
        if terms is None or terms.gateway not in desk.gateways:
            raise PaymentMethodNotAvailable(
                f"No payment gateway takes {renewal.payment_method!r} at the moment."
            )
        renewal.payment_ref = new_payment_ref()
        payment = Payment(
            id=new_id(),
            payment_ref=renewal.payment_ref,
            msisdn=renewal.msisdn,
            renewal_id=renewal.id,
            gateway=terms.gateway,
            method=renewal.payment_method,
            amount_fils=renewal.total_fils,
            fee_fils=renewal.fee_fils,
            currency=CURRENCY,
            state=PaymentState.CREATED.value,
            reason=None,
            flag=None,
            language=language,
            gateway_payment_id=None,
            checkout_url=None,
            captured_fils=None,
            refunded_fils=0,
            created_at=now,
            updated_at=now,
            expires_at=now + desk.timeout,
            captured_at=None,
            browser_returned_at=None,
            checked_at=None,
        )
        insert_row(session, payment)
        add_event(session, payment, source="created", before=PaymentState.CREATED, now=now)
        audit_payment(session, caller.id, "payment.created", payment, now, renewal_id=renewal.id)

    outcome = credit_renewal(
        uow, caller, request, clock=clock, open_payment=open_payment, line_checked=line_checked
    )
    payment = _payment_of(uow, outcome.body["renewal_id"])
    if payment is not None and payment.state == PaymentState.CREATED.value:
        payment = _start_checkout(uow, desk, payment, clock=clock)
    return RenewalOutcome(with_payment(outcome.body, payment, desk.links), outcome.replayed)


def _payment_of(uow: UnitOfWork, renewal_id: str) -> Payment | None:
    with uow:
        return repository.get_payment_of_renewal(uow.session, renewal_id)


def _start_checkout(
    uow: UnitOfWork, desk: PaymentDesk, payment: Payment, *, clock: Clock
) -> Payment:
    """Ask the gateway for its page (no transaction open), then record it."""
    order = PaymentOrder(
        payment_ref=payment.payment_ref,
        amount_fils=payment.amount_fils,
        currency=payment.currency,
        method=payment.method,
        language=payment.language,
        return_url=desk.links.return_url(payment.payment_ref),
        callback_url=desk.links.callback_url(payment.gateway),
        description=f"Line renewal {payment.msisdn}",
        msisdn=payment.msisdn,
    )
    try:
        checkout = desk.gateway(payment.gateway).start_payment(order)
    except GatewayUnavailable as error:
        log.warning(
            "payment_gateway_unavailable",
            gateway=payment.gateway,
            payment_ref=payment.payment_ref,
            error=str(error),
        )
        raise GatewayUnavailableError(
            "Try again with the same Idempotency-Key: the same payment will be started."
        ) from error

    def record() -> Payment:
        with uow:
            session = uow.session
            stored = repository.get_payment_by_ref(session, payment.payment_ref, lock=True)
            assert stored is not None  # noqa: S101 - payments are never deleted
            if stored.state == PaymentState.CREATED.value:
                now = clock.now()
                stored.state = PaymentState.PENDING.value
                stored.checkout_url = checkout.redirect_url
                stored.gateway_payment_id = checkout.gateway_payment_id
                stored.updated_at = now
                set_renewal_payment_state(session, stored, PaymentState.PENDING)
                add_event(
                    session,
                    stored,
                    source="checkout",
                    before=PaymentState.CREATED,
                    now=now,
                    details={"gateway_payment_id": checkout.gateway_payment_id or ""},
                )
                uow.commit()
            return stored

    return retrying(record)


# -- hearing the gateway -----------------------------------------------------------------------


def record_callback(
    uow: UnitOfWork,
    desk: PaymentDesk,
    gateway_code: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    clock: Clock,
) -> CallbackReply:
    """Verify a gateway's callback and apply it once; the answer its protocol expects.

    A callback that does not verify (signature, timestamp, amount) changes no payment: it is
    answered 401 `bad_signature`, or for KNET-like gateways a redirect to the failure page.
    """
    gateway = desk.gateway(gateway_code)
    try:
        event = gateway.read_callback(body, headers, now=clock.now())
        if gateway_code in CONFIRMED_BY_INQUIRY and event.outcome is GatewayOutcome.CAPTURED:
            _confirm_capture(uow, desk, gateway_code, event, clock=clock)
        else:
            apply_gateway_event(uow, desk, gateway_code, event, source="callback", clock=clock)
    except CallbackRejected as error:
        audit_rejection(uow, gateway_code, str(error), clock.now())
        if gateway_code in REDIRECTING_GATEWAYS:
            return gateway.reply_to_callback(
                None, redirect_url=f"{desk.links.public_url}/payments/failed"
            )
        raise BadSignature(f"The callback does not verify: {error}.") from error
    return gateway.reply_to_callback(event, redirect_url=desk.links.return_url(event.payment_ref))


def _confirm_capture(
    uow: UnitOfWork, desk: PaymentDesk, gateway_code: str, event: GatewayEvent, *, clock: Clock
) -> None:
    """Credit a KNET capture on the gateway's own answer to an inquiry, as KNET's merchant
    manual asks: its notice is encrypted but not signed, so it only says "ask me now"."""
    with uow:
        payment = repository.get_payment_by_ref(uow.session, event.payment_ref)
    if payment is None or payment.gateway != gateway_code:
        apply_gateway_event(uow, desk, gateway_code, event, source="callback", clock=clock)
        return  # recorded as an unknown reference
    if not ask_gateway(uow, desk, payment, source="inquiry", clock=clock):
        log.warning("capture_not_confirmed", gateway=gateway_code, payment_ref=payment.payment_ref)
        # Left open: the result page and reconciliation ask again.


def apply_gateway_event(
    uow: UnitOfWork,
    desk: PaymentDesk,
    gateway_code: str,
    event: GatewayEvent,
    *,
    source: str,
    clock: Clock,
) -> None:
    """Apply what a gateway said about a payment, at most once per event id.

    `source` is `callback`, `inquiry` (a status answer while the payer waits) or `reconcile` (a
    status answer past the deadline, where a payment still open expires). A callback whose
    amount or currency differs from the payment's raises CallbackRejected after flagging it.
    """
    mismatch: list[str] = []

    def once() -> None:
        with uow:
            session = uow.session
            now = clock.now()
            found = repository.get_payment_by_ref(session, event.payment_ref)
            if found is None or found.gateway != gateway_code:
                audit_unknown(session, gateway_code, event, now)
                uow.commit()
                return
            context = lines_repository.get_line_context(session, found.msisdn, lock=True)
            payment = repository.get_payment_by_ref(session, event.payment_ref, lock=True)
            assert payment is not None  # noqa: S101 - never deleted
            assert context is not None  # noqa: S101 - never deleted
            if source != "callback":
                payment.checked_at = now  # asked: the result page waits before asking again
            if event.event_id and repository.event_seen(session, gateway_code, event.event_id):
                uow.commit()
                return  # a replay: already acted on
            before = PaymentState(payment.state)
            problem = event_problem(
                event,
                amount_fils=payment.amount_fils,
                gateway_payment_id=payment.gateway_payment_id,
            )
            if problem is not None and source == "callback":
                # Never credited; the payment stays open, so reconciliation asks the gateway and
                # gives back whatever it says it took.
                payment.flag = problem
                add_event(
                    session,
                    payment,
                    source=source,
                    before=before,
                    now=now,
                    event=event,
                    keep_event_id=False,
                    details={"problem": problem},
                )
                audit_payment(
                    session,
                    f"gateway:{gateway_code}",
                    "payment.flagged",
                    payment,
                    now,
                    problem=problem,
                    stated_fils=event.amount_fils,
                )
                uow.commit()
                mismatch.append(problem)
                return
            rule = expiry_state if source == "reconcile" else next_state
            target = rule(before, event.outcome)
            if target is not None:
                _move(session, context, payment, target, event, problem, now)
            add_event(session, payment, source=source, before=before, now=now, event=event)
            if target is not None:
                audit_payment(
                    session,
                    f"gateway:{gateway_code}",
                    f"payment.{target.value}",
                    payment,
                    now,
                    source=source,
                )
            uow.commit()

    retrying(once)
    if mismatch:
        raise CallbackRejected(f"{mismatch[0]}: the event does not match the payment")


def _move(
    session: Session,
    context: lines_repository.LineContext,
    payment: Payment,
    target: PaymentState,
    event: GatewayEvent,
    problem: str | None,
    now: datetime,
) -> None:
    """Move a payment to `target`; a capture credits its renewal in the same transaction."""
    payment.state = target.value
    payment.updated_at = now
    payment.reason = event.reason
    payment.gateway_payment_id = event.gateway_payment_id or payment.gateway_payment_id
    renewal = renewals_repository.get_renewal(session, payment.renewal_id)
    assert renewal is not None  # noqa: S101 - written with the payment
    if target is not PaymentState.CAPTURED:
        renewal.payment_state = target.value
        renewal.state = renewal_state_after(target) or renewal.state
        return
    payment.captured_at = now
    payment.captured_fils = (
        event.amount_fils if event.amount_fils is not None else payment.amount_fils
    )
    renewal.payment_state = target.value
    if problem is not None:
        payment.flag = problem  # taken, but not what was asked: given back, never credited
        renewal.state = "failed"
        return
    if renewal.state == "credited":
        return
    try:
        credit_paid_renewal(session, context, renewal, now=now)
    except UNCREDITABLE as error:
        payment.flag = "uncreditable"
        payment.reason = error.code
        renewal.state = "failed"


def ask_gateway(
    uow: UnitOfWork, desk: PaymentDesk, payment: Payment, *, source: str, clock: Clock
) -> bool:
    """Ask the gateway about a payment and apply the answer; False when it did not answer."""
    gateway = desk.gateway(payment.gateway)
    try:
        event = gateway.query_payment(
            payment.payment_ref,
            gateway_payment_id=payment.gateway_payment_id,
            amount_fils=payment.amount_fils,
        )
    except GatewayUnavailable:
        return False
    apply_gateway_event(uow, desk, payment.gateway, event, source=source, clock=clock)
    return True
