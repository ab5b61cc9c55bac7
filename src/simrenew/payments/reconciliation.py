"""Reconciliation: money paid always becomes credit or comes back, and the books say so.

`reconcile_payments` (the `simrenew reconcile` command and a worker job) asks the gateway about
every open payment past its deadline, credits captures that were never credited, refunds the
captures that cannot be credited (line recycled or suspended meanwhile, wrong amount) with an SMS,
and finishes refunds a crash or an outage interrupted. `settlement_report` sums a day per
gateway and method.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import current_catalog
from simrenew.clock import KUWAIT, Clock
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import Conflict, NotFound, ValidationFailed
from simrenew.ids import new_id
from simrenew.lines import repository as lines_repository
from simrenew.money import format_fils
from simrenew.notify.service import queue_sms
from simrenew.payments import repository
from simrenew.payments.desk import PaymentDesk
from simrenew.payments.gateways.base import GatewayUnavailable
from simrenew.payments.models import Payment, PaymentRefund
from simrenew.payments.records import add_event, audit_payment
from simrenew.payments.rules import PaymentState
from simrenew.payments.service import UNCREDITABLE, ask_gateway
from simrenew.renewals import repository as renewals_repository
from simrenew.renewals.service import credit_paid_renewal

BATCH = 200


@dataclass
class ReconcileSummary:
    """What one reconciliation pass did."""

    asked: int = 0  # open payments past their deadline asked about at the gateway
    unreachable: int = 0  # ... whose gateway did not answer (asked again next pass)
    credited: int = 0  # captures credited now
    refunds_requested: int = 0
    refunds_done: int = 0
    refunds_failed: int = 0  # the gateway refused: left for a person (audit log)
    flagged: list[str] = field(default_factory=list)  # captures given back
    credited_unpaid: list[str] = field(default_factory=list)  # credit with no capture behind it

    def as_rows(self) -> list[tuple[str, int]]:
        """(what, how many) for a summary table."""
        return [
            ("payments asked at their gateway", self.asked),
            ("gateway did not answer", self.unreachable),
            ("captures credited", self.credited),
            ("refunds asked", self.refunds_requested),
            ("refunds done", self.refunds_done),
            ("refunds refused by the gateway", self.refunds_failed),
            ("credited without a capture", len(self.credited_unpaid)),
        ]


def reconcile_payments(
    uow: UnitOfWork, desk: PaymentDesk, *, clock: Clock, limit: int = BATCH
) -> ReconcileSummary:
    """Settle payments left open, uncredited captures and interrupted refunds."""
    summary = ReconcileSummary()
    with uow:
        overdue = repository.list_overdue_refs(uow.session, clock.now(), limit=limit)
    for ref in overdue:
        payment = _payment(uow, ref)
        summary.asked += 1
        if not ask_gateway(uow, desk, payment, source="reconcile", clock=clock):
            summary.unreachable += 1
    with uow:
        uncredited = repository.list_uncredited_capture_refs(uow.session, limit=limit)
    for ref in uncredited:
        if _credit_capture(uow, ref, clock=clock):
            summary.credited += 1
            continue
        payment = _payment(uow, ref)
        owed = (payment.captured_fils or 0) - payment.refunded_fils - _asked(uow, payment)
        if owed > 0:
            summary.flagged.append(ref)
            refund = request_refund(
                uow,
                ref,
                amount_fils=owed,
                reason=payment.flag or "uncreditable",
                actor="reconcile",
                clock=clock,
            )
            summary.refunds_requested += 1
            _count(summary, finish_refund(uow, desk, refund.refund_ref, clock=clock))
    with uow:
        unfinished = [
            r.refund_ref for r in repository.list_unfinished_refunds(uow.session, limit=limit)
        ]
    for refund_ref in unfinished:
        _count(summary, finish_refund(uow, desk, refund_ref, clock=clock))
    with uow:
        summary.credited_unpaid = repository.list_credited_unpaid_refs(uow.session, limit=limit)
    return summary


def _count(summary: ReconcileSummary, state: str) -> None:
    if state == "done":
        summary.refunds_done += 1
    elif state == "failed":
        summary.refunds_failed += 1


def _payment(uow: UnitOfWork, ref: str) -> Payment:
    with uow:
        payment = repository.get_payment_by_ref(uow.session, ref)
        if payment is None:
            raise NotFound("No such payment.")
        return payment


def _asked(uow: UnitOfWork, payment: Payment) -> int:
    """Fils of refunds asked but not yet confirmed (never asked twice)."""
    with uow:
        pending = repository.list_unfinished_refunds(uow.session, limit=10_000)
        return sum(r.amount_fils for r in pending if r.payment_id == payment.id)


def _credit_capture(uow: UnitOfWork, ref: str, *, clock: Clock) -> bool:
    """Credit a capture left uncredited (not flagged); False when it cannot be credited."""

    def once() -> bool:
        with uow:
            session = uow.session
            found = repository.get_payment_by_ref(session, ref)
            assert found is not None  # noqa: S101 - listed just before
            context = lines_repository.get_line_context(session, found.msisdn, lock=True)
            payment = repository.get_payment_by_ref(session, ref, lock=True)
            assert payment is not None  # noqa: S101 - never deleted
            assert context is not None  # noqa: S101 - never deleted
            renewal = renewals_repository.get_renewal(session, payment.renewal_id)
            assert renewal is not None  # noqa: S101 - written with the payment
            if payment.flag is not None or renewal.state == "credited":
                return renewal.state == "credited" and payment.flag is None
            now = clock.now()
            try:
                credit_paid_renewal(session, context, renewal, now=now)
            except UNCREDITABLE as error:
                payment.flag, payment.reason = "uncreditable", error.code
                renewal.state = "failed"
                audit_payment(
                    session, "reconcile", "payment.uncreditable", payment, now, why=error.code
                )
                uow.commit()
                return False
            audit_payment(session, "reconcile", "payment.credited", payment, now)
            uow.commit()
            return True

    return retrying(once)


def request_refund(
    uow: UnitOfWork,
    payment_ref: str,
    *,
    amount_fils: int,
    reason: str,
    actor: str,
    clock: Clock,
) -> PaymentRefund:
    """Record a refund to ask the gateway for (before asking: a crash retries the same one).

    Only a capture whose renewal was not credited can be refunded here: giving back money that
    became credit needs the credit taken back first, which is a care decision.
    """
    if amount_fils <= 0:
        raise ValidationFailed("amount_fils: a refund is a positive amount of fils.")

    def once() -> PaymentRefund:
        with uow:
            session = uow.session
            found = repository.get_payment_by_ref(session, payment_ref)
            if found is None:
                raise NotFound("No such payment.")
            lines_repository.get_line_context(session, found.msisdn, lock=True)
            payment = repository.get_payment_by_ref(session, payment_ref, lock=True)
            assert payment is not None  # noqa: S101 - read above
            renewal = renewals_repository.get_renewal(session, payment.renewal_id)
            if payment.state not in (PaymentState.CAPTURED.value, PaymentState.REFUNDED.value):
                raise Conflict(f"Payment {payment_ref} is {payment.state}: nothing was taken.")
            if renewal is not None and renewal.state == "credited":
                raise Conflict(f"Payment {payment_ref} became credit on the line: not refundable.")
            asked = sum(
                r.amount_fils
                for r in repository.list_unfinished_refunds(session, limit=10_000)
                if r.payment_id == payment.id
            )
            left = (payment.captured_fils or 0) - payment.refunded_fils - asked
            if amount_fils > left:
                raise Conflict(f"Only {left} fils of payment {payment_ref} can still be refunded.")
            now = clock.now()
            number = repository.count_refunds(session, payment.id) + 1
            refund = PaymentRefund(
                id=new_id(),
                payment_id=payment.id,
                msisdn=payment.msisdn,
                refund_ref=f"{payment.payment_ref}-r{number}",
                amount_fils=amount_fils,
                reason=reason,
                state="requested",
                gateway_refund_id=None,
                requested_by=actor,
                requested_at=now,
                done_at=None,
            )
            session.add(refund)
            audit_payment(
                session,
                actor,
                "payment.refund_requested",
                payment,
                now,
                refund_ref=refund.refund_ref,
                refund_fils=amount_fils,
                reason=reason,
            )
            uow.commit()
            return refund

    return retrying(once)


def finish_refund(uow: UnitOfWork, desk: PaymentDesk, refund_ref: str, *, clock: Clock) -> str:
    """Ask the gateway for a recorded refund and record its answer; the refund's state after.

    The refund reference makes the gateway refund once however often it is asked.
    """
    with uow:
        refund = repository.get_refund(uow.session, refund_ref)
        if refund is None:
            raise NotFound("No such refund.")
        payment = uow.session.get(Payment, refund.payment_id)
        assert payment is not None  # noqa: S101 - written together
    if refund.state != "requested":
        return refund.state
    try:
        answer = desk.gateway(payment.gateway).refund(
            payment.payment_ref,
            gateway_payment_id=payment.gateway_payment_id,
            amount_fils=refund.amount_fils,
            refund_ref=refund.refund_ref,
        )
    except GatewayUnavailable:
        return "requested"  # asked again on the next pass

    def record() -> str:
        with uow:
            session = uow.session
            context = lines_repository.get_line_context(session, payment.msisdn, lock=True)
            stored = repository.get_refund(session, refund_ref)
            locked = repository.get_payment_by_ref(session, payment.payment_ref, lock=True)
            assert stored is not None  # noqa: S101 - read above
            assert locked is not None  # noqa: S101 - read above
            if stored.state != "requested":
                return stored.state
            now = clock.now()
            stored.state = "done" if answer.succeeded else "failed"
            stored.gateway_refund_id = answer.refund_id
            stored.done_at = now
            before = PaymentState(locked.state)
            if answer.succeeded:
                locked.refunded_fils += refund.amount_fils
                locked.updated_at = now
                if locked.refunded_fils >= (locked.captured_fils or 0):
                    locked.state = PaymentState.REFUNDED.value
                    renewal = renewals_repository.get_renewal(session, locked.renewal_id)
                    if renewal is not None:
                        renewal.state, renewal.payment_state = "refunded", "refunded"
                if context is not None:
                    _tell_refunded(session, context, locked, refund.amount_fils, now)
            add_event(
                session,
                locked,
                source="refund",
                before=before,
                now=now,
                details={
                    "refund_ref": refund_ref,
                    "refund_fils": refund.amount_fils,
                    "succeeded": answer.succeeded,
                    "reason": answer.reason or "",
                },
            )
            audit_payment(
                session,
                stored.requested_by,
                f"payment.refund_{stored.state}",
                locked,
                now,
                refund_ref=refund_ref,
                refund_fils=refund.amount_fils,
            )
            uow.commit()
            return stored.state

    return retrying(record)


def _tell_refunded(
    session: Session,
    context: lines_repository.LineContext,
    payment: Payment,
    amount_fils: int,
    now: datetime,
) -> None:
    """The payer's SMS: the payment could not become credit and the money is on its way back."""
    language = context.language
    operator = current_catalog(session).operators.get(context.line.operator_code)
    queue_sms(
        session,
        msisdn=payment.msisdn,
        template="payment_refunded",
        language=language,
        params={
            "operator": operator.display_name(language) if operator else "",
            "msisdn": payment.msisdn,
            "amount": format_fils(amount_fils, language, latin_digits=True),
            "payment_ref": payment.payment_ref[:8].upper(),
        },
        now=now,
        lane="priority",
    )


# -- settlement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementRow:
    """One gateway and method's day: what was captured, its fees, what was given back."""

    day: date
    gateway: str
    method: str
    captures: int
    gross_fils: int
    fees_fils: int
    refunds: int
    refunded_fils: int

    @property
    def net_fils(self) -> int:
        """What the gateway owes the operator for the day, before its own charges."""
        return self.gross_fils - self.refunded_fils


def settlement_report(uow: UnitOfWork, day: date) -> list[SettlementRow]:
    """Captures and refunds of one Kuwait day, per gateway and method."""
    start = datetime.combine(day, time(), tzinfo=KUWAIT)
    end = start + timedelta(days=1)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    with uow:
        for gateway, method, captured, fee in repository.list_captures_between(
            uow.session, start, end
        ):
            row = sums[(gateway, method)]
            row[0] += 1
            row[1] += captured
            row[2] += fee
        for gateway, method, refunded in repository.list_refunds_between(uow.session, start, end):
            row = sums[(gateway, method)]
            row[3] += 1
            row[4] += refunded
    return [
        SettlementRow(day, gateway, method, *values)
        for (gateway, method), values in sorted(sums.items())
    ]
