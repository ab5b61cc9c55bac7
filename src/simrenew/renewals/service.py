"""Renewal use cases: credit a renewal exactly once, at once or when its payment is captured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import catalog_for
from simrenew.clock import Clock
from simrenew.db.base import insert_row
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    IdempotencyKeyReused,
    NotAllowed,
    PaymentMethodNotAvailable,
    UnknownLine,
)
from simrenew.ids import new_id, new_receipt_no
from simrenew.lines.models import Line
from simrenew.lines.repository import LineContext
from simrenew.lines.rules import LineState
from simrenew.lines.service import (
    current_state,
    ensure_holder,
    plan_for,
    record_late_transitions,
)
from simrenew.renewals import repository
from simrenew.renewals.crediting import apply_credit, confirm_credit
from simrenew.renewals.models import Renewal
from simrenew.renewals.pricing import channel_for, ensure_renewable, package_for, price_for
from simrenew.renewals.quotes import quoted_price
from simrenew.renewals.rules import (
    AMOUNT_FIELDS,
    BONUS_VALIDITY_DAYS,
    Price,
    request_fingerprint,
)
from simrenew.renewals.views import renewal_view
from simrenew.staff.rules import IMMEDIATE_METHODS, Caller, may_renew_any_line


@dataclass(frozen=True)
class RenewalRequest:
    """What a channel asks for; `body` is the request as sent, to recognise retries."""

    msisdn: str
    package_code: str
    payment_method: str
    idempotency_key: str
    body: dict[str, Any] = field(default_factory=dict)
    quote_id: str | None = None
    channel: str | None = None
    # A suspended line is renewed only as a reactivation: the holder's identity as presented
    # (id_type, id_number), checked against the line's registration.
    reactivation: tuple[str, str] | None = None


@dataclass(frozen=True)
class RenewalOutcome:
    """The response to a renewal request, and whether it repeats an earlier one."""

    body: dict[str, Any]
    replayed: bool


# Opens the payment of a renewal paid on a gateway's page, in the renewal's transaction: given
# the new renewal (not yet inserted) and the subscriber's language, it stores the payment and
# sets renewal.payment_ref. Passed in by the payments room, which this room does not import.
OpenPayment = Callable[[Session, Renewal, str, datetime], None]


def credit_renewal(
    uow: UnitOfWork,
    caller: Caller,
    request: RenewalRequest,
    *,
    clock: Clock,
    open_payment: OpenPayment | None = None,
    line_checked: bool = False,
) -> RenewalOutcome:
    """Credit a paid renewal exactly once; a repeated key returns the first result.

    Cash, till and card-terminal money is in hand: the line is credited at once. Any other method
    needs `open_payment`: the renewal is stored `awaiting_payment` and credited at capture.
    `line_checked` says the caller's own room allowed this caller this line (a subscriber's
    bound line); otherwise only channels that may renew any line are served.
    """
    if not (line_checked or may_renew_any_line(caller)):
        raise NotAllowed()
    channel = channel_for(caller, request.channel)
    if request.payment_method not in IMMEDIATE_METHODS and open_payment is None:
        raise PaymentMethodNotAvailable(
            f"{request.payment_method!r} cannot be credited at once: only "
            f"{', '.join(sorted(IMMEDIATE_METHODS))} can (card, KNET and wallets need a hosted "
            "payment page)."
        )
    fingerprint = request_fingerprint(request.body)
    return retrying(
        lambda: _credit_once(uow, caller, request, channel, fingerprint, clock, open_payment)
    )


def _credit_once(
    uow: UnitOfWork,
    caller: Caller,
    request: RenewalRequest,
    channel: str,
    fingerprint: str,
    clock: Clock,
    open_payment: OpenPayment | None,
) -> RenewalOutcome:
    with uow:
        session = uow.session
        # Nothing below reads back what it writes: every row goes at commit (one statement on
        # PostgreSQL).
        uow.defer_writes()
        # Lock the line first: retries of one key and renewals of one line queue here.
        context, done = repository.lock_line_for_renewal(
            session, request.msisdn, caller.id, request.idempotency_key
        )
        if done is not None:
            done_id, done_hash = done
            if done_hash != fingerprint:
                raise IdempotencyKeyReused()
            earlier = repository.get_renewal(session, done_id)
            assert earlier is not None  # noqa: S101 - found by the same transaction
            return RenewalOutcome(renewal_view(earlier), replayed=True)
        if context is None:
            raise UnknownLine()
        line = context.line
        catalog = catalog_for(session, context.catalog_version)
        now = clock.now()
        plan = plan_for(catalog, line)
        state = current_state(line, plan, now)
        kind = "renewal"
        if request.reactivation is not None and state is LineState.SUSPENDED:
            ensure_holder(session, line, request.reactivation)
            kind = "reactivation"
        else:
            ensure_renewable(state)
        package = package_for(catalog, line, request.package_code)
        price = price_for(
            session,
            catalog,
            line,
            plan,
            package,
            channel=channel,
            method=request.payment_method,
            now=now,
        )
        if request.quote_id:
            price = quoted_price(
                session,
                request.quote_id,
                msisdn=request.msisdn,
                package_code=request.package_code,
                payment_method=request.payment_method,
                channel=channel,
                now=now,
                fresh=price,
            )
        if request.payment_method not in IMMEDIATE_METHODS:
            assert open_payment is not None  # noqa: S101 - checked by credit_renewal
            awaiting = _new_renewal(
                request, caller, channel, fingerprint, line, price, now, kind=kind, paid=False
            )
            open_payment(session, awaiting, context.language, now)
            insert_row(session, awaiting)
            body = renewal_view(awaiting)
            uow.commit()
            return RenewalOutcome(body, replayed=False)
        before = record_late_transitions(session, line, plan, now)
        renewal = _new_renewal(
            request, caller, channel, fingerprint, line, price, now, kind=kind, paid=True
        )
        apply_credit(session, line, renewal, price, before, now)
        insert_row(session, renewal)
        confirm_credit(session, context, catalog, renewal, package, now)
        body = renewal_view(renewal)
        uow.commit()
        return RenewalOutcome(body, replayed=False)


def _new_renewal(
    request: RenewalRequest,
    caller: Caller,
    channel: str,
    fingerprint: str,
    line: Line,
    price: Price,
    now: datetime,
    *,
    kind: str,
    paid: bool,
) -> Renewal:
    """A renewal priced now: credited at once when `paid` (money in hand), else waiting for its
    payment (credited, and given a receipt, at capture)."""
    return Renewal(
        id=new_id(),
        msisdn=line.msisdn,
        idempotency_scope=caller.id,
        idempotency_key=request.idempotency_key,
        request_hash=fingerprint,
        channel=channel,
        operator_code=line.operator_code,
        plan_code=line.plan_code,
        package_code=request.package_code,
        quote_id=request.quote_id,
        kind=kind,
        state="credited" if paid else "awaiting_payment",
        payment_method=request.payment_method,
        payment_state="captured" if paid else "created",
        payment_ref=None,
        **price.amounts(),
        promotions=list(price.promotions),
        valid_until_before=line.valid_until,
        valid_until_after=price.new_valid_until,
        balance_after_fils=None,
        receipt_no=new_receipt_no() if paid else None,
        created_at=now,
        credited_at=now if paid else None,
    )


def credit_paid_renewal(
    session: Session, context: LineContext, renewal: Renewal, *, now: datetime
) -> None:
    """Credit a renewal paid on a gateway's page, inside the caller's transaction.

    The caller holds the line's lock. The money is what the payer was quoted and paid; the new
    validity and the bonus expiry are worked out now, from the line as it is at capture.
    Raises LineRecycled or LineSuspended (or PackageNotAvailable) when it can no longer be
    credited: the capture is then refunded.
    """
    line = context.line
    catalog = catalog_for(session, context.catalog_version)
    plan = plan_for(catalog, line)
    state = current_state(line, plan, now)
    if not (renewal.kind == "reactivation" and state is LineState.SUSPENDED):
        ensure_renewable(state)
    package = package_for(catalog, line, renewal.package_code)
    fresh = price_for(
        session,
        catalog,
        line,
        plan,
        package,
        channel=renewal.channel,
        method=renewal.payment_method,
        now=now,
    )
    bonus_expires_at = None
    if renewal.bonus_fils:
        # The promotion the payer was shown may have closed since: its bonus still lasts.
        bonus_expires_at = fresh.bonus_expires_at or now + timedelta(days=BONUS_VALIDITY_DAYS)
    price = replace(
        fresh,
        **{name: getattr(renewal, name) for name in AMOUNT_FIELDS},
        promotions=tuple(renewal.promotions),
        bonus_expires_at=bonus_expires_at,
    )
    before = record_late_transitions(session, line, plan, now)
    renewal.state = "credited"
    renewal.payment_state = "captured"
    renewal.valid_until_before = line.valid_until
    renewal.valid_until_after = price.new_valid_until
    renewal.receipt_no = new_receipt_no()
    renewal.credited_at = now
    apply_credit(session, line, renewal, price, before, now)
    confirm_credit(session, context, catalog, renewal, package, now)
