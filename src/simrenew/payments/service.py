"""Payment use cases: start a renewal paid on a gateway's page, hear the gateway, show the result.

Capture and credit are one step: the transaction that records a capture credits the renewal
(or, when the line can no longer be credited, flags the capture for a refund). Every change of
a payment holds its line's lock, so replayed, reordered and concurrent callbacks, status answers
and browsers serialise there and the credit happens at most once. Nothing calls a gateway while
a transaction is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import current_catalog
from simrenew.clock import Clock, to_kuwait
from simrenew.db.base import insert_now
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    BadSignature,
    LineRecycled,
    LineSuspended,
    NotFound,
    PackageNotAvailable,
    PaymentMethodNotAvailable,
    UnknownRenewal,
)
from simrenew.errors import GatewayUnavailable as GatewayUnavailableError
from simrenew.ids import new_id
from simrenew.lines import repository as lines_repository
from simrenew.payments import repository
from simrenew.payments.gateways.base import (
    CallbackRejected,
    CallbackReply,
    Gateway,
    GatewayEvent,
    GatewayOutcome,
    GatewayUnavailable,
    PaymentOrder,
)
from simrenew.payments.models import Payment, PaymentEvent
from simrenew.payments.rules import (
    CURRENCY,
    OPEN_STATES,
    PaymentState,
    event_problem,
    expiry_state,
    new_payment_ref,
    next_state,
    renewal_state_after,
)
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.models import Renewal
from simrenew.renewals.service import (
    RenewalOutcome,
    RenewalRequest,
    credit_paid_renewal,
    credit_renewal,
    ensure_may_read,
    renewal_view,
)
from simrenew.staff.rules import Caller
from simrenew.staff.service import record_audit

log = structlog.get_logger(__name__)

# Gateways whose protocol wants every callback answered 200 with where the browser goes next
# (KNET's `REDIRECT=` line), even a callback that does not verify.
REDIRECTING_GATEWAYS = frozenset({"knet"})
# Gateways whose capture notice is confirmed by a status inquiry before anything is credited.
CONFIRMED_BY_INQUIRY = frozenset({"knet"})
# Why a capture cannot be credited: the line left the states a renewal may credit.
UNCREDITABLE = (LineRecycled, LineSuspended, PackageNotAvailable, PaymentMethodNotAvailable)


@dataclass(frozen=True)
class PaymentLinks:
    """simrenew's own addresses the payer's browser and the gateways use."""

    public_url: str

    def pay_url(self, payment_ref: str) -> str:
        """Where the payer is sent: simrenew forwards to the gateway's page."""
        return f"{self.public_url}/pay/{payment_ref}"

    def return_url(self, payment_ref: str) -> str:
        """Where the gateway sends the browser back: the result page."""
        return f"{self.public_url}/payments/{payment_ref}/return"

    def callback_url(self, gateway: str) -> str:
        """Where a gateway posts its server-to-server callbacks."""
        return f"{self.public_url}/api/v1/payments/callbacks/{gateway}"


@dataclass(frozen=True)
class PaymentDesk:
    """The gateways and settings the payment use cases work with (built by bootstrap)."""

    gateways: Mapping[str, Gateway]
    links: PaymentLinks
    timeout: timedelta = timedelta(minutes=15)  # a pending payment's deadline
    # A returning browser asks the gateway at most this often while no callback has come.
    inquiry_interval: timedelta = timedelta(seconds=3)

    def gateway(self, code: str) -> Gateway:
        """A configured gateway (NotFound for an unknown code)."""
        found = self.gateways.get(code)
        if found is None:
            raise NotFound(f"No payment gateway {code!r}.")
        return found


# -- starting a payment ------------------------------------------------------------------------


def renew_with_payment(
    uow: UnitOfWork, desk: PaymentDesk, caller: Caller, request: RenewalRequest, *, clock: Clock
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
        insert_now(session, payment)
        add_event(session, payment, source="created", before=PaymentState.CREATED, now=now)
        audit_payment(session, caller.id, "payment.created", payment, now, renewal_id=renewal.id)

    outcome = credit_renewal(uow, caller, request, clock=clock, open_payment=open_payment)
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
                _set_renewal_payment_state(session, stored, PaymentState.PENDING)
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
        _audit_rejection(uow, gateway_code, str(error), clock.now())
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
                _audit_unknown(session, gateway_code, event, now)
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


# -- the payer's browser -----------------------------------------------------------------------


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


def checkout_url(uow: UnitOfWork, payment_ref: str, *, clock: Clock) -> str | None:
    """The gateway page of an open payment (None once it is finished or past its deadline)."""
    with uow:
        payment = repository.get_payment_by_ref(uow.session, payment_ref)
        if payment is None:
            raise NotFound("No such payment.")
        if payment.state != PaymentState.PENDING.value or payment.expires_at <= clock.now():
            return None
        return payment.checkout_url


# -- views -------------------------------------------------------------------------------------


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


# -- shared writes -----------------------------------------------------------------------------


def _set_renewal_payment_state(session: Session, payment: Payment, state: PaymentState) -> None:
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


def _audit_rejection(uow: UnitOfWork, gateway: str, why: str, now: datetime) -> None:
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


def _audit_unknown(session: Session, gateway: str, event: GatewayEvent, now: datetime) -> None:
    record_audit(
        session,
        actor=f"gateway:{gateway}",
        action="payment.unknown_reference",
        subject=event.payment_ref[:100],
        details={"gateway": gateway, "outcome": event.outcome.value, "event_id": event.event_id},
        now=now,
    )
