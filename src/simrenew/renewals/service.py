"""Renewal use cases: credit a renewal exactly once, show a renewal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import PlanTerms, catalog_for
from simrenew.clock import Clock, to_kuwait
from simrenew.db.base import insert_now
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    IdempotencyKeyReused,
    NotAllowed,
    PaymentMethodNotAvailable,
    UnknownLine,
    UnknownRenewal,
)
from simrenew.ids import new_id, new_receipt_no
from simrenew.lines import repository as lines_repository
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.rules import LineState, transitions_between
from simrenew.lines.service import current_state, plan_for
from simrenew.money import format_fils
from simrenew.notify.service import cancel_expiry_notices, queue_sms
from simrenew.renewals import repository
from simrenew.renewals.ledger import expire_bonus_if_due, post
from simrenew.renewals.models import PromotionUse, Renewal
from simrenew.renewals.pricing import channel_for, ensure_renewable, package_for, price_for
from simrenew.renewals.quotes import quoted_price
from simrenew.renewals.receipts import issue_receipt
from simrenew.renewals.rules import (
    Price,
    merge_bonus_expiry,
    request_fingerprint,
)
from simrenew.staff.rules import IMMEDIATE_METHODS, Caller, may_read_any_line, may_renew_any_line


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


@dataclass(frozen=True)
class RenewalOutcome:
    """The response to a renewal request, and whether it repeats an earlier one."""

    body: dict[str, Any]
    replayed: bool


def _record_late_transitions(
    session: Session, line: Line, plan: PlanTerms, now: datetime
) -> LineState:
    """Write the time-driven transitions no sweep has recorded yet; return the state now."""
    recorded = LineState(line.state)
    for from_state, to_state, at in transitions_between(
        line.valid_until, plan.periods, recorded, now
    ):
        lines_repository.add_history(
            session,
            LineHistory(
                id=new_id(),
                msisdn=line.msisdn,
                at=at,
                event="expiry",
                from_state=from_state.value,
                to_state=to_state.value,
                renewal_id=None,
                details={},
            ),
        )
        line.state = to_state.value
        line.state_since = at
    return LineState(line.state)


def credit_renewal(
    uow: UnitOfWork, caller: Caller, request: RenewalRequest, *, clock: Clock
) -> RenewalOutcome:
    """Credit a paid renewal exactly once; a repeated key returns the first result."""
    if not may_renew_any_line(caller):
        raise NotAllowed()
    channel = channel_for(caller, request.channel)
    if request.payment_method not in IMMEDIATE_METHODS:
        raise PaymentMethodNotAvailable(
            f"{request.payment_method!r} cannot be credited at once: only "
            f"{', '.join(sorted(IMMEDIATE_METHODS))} can (card, KNET and wallets need a hosted "
            "payment page)."
        )
    fingerprint = request_fingerprint(request.body)
    return retrying(lambda: _credit_once(uow, caller, request, channel, fingerprint, clock))


def _credit_once(
    uow: UnitOfWork,
    caller: Caller,
    request: RenewalRequest,
    channel: str,
    fingerprint: str,
    clock: Clock,
) -> RenewalOutcome:
    with uow:
        session = uow.session
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
        before = _record_late_transitions(session, line, plan, now)
        renewal = Renewal(
            id=new_id(),
            msisdn=line.msisdn,
            idempotency_scope=caller.id,
            idempotency_key=request.idempotency_key,
            request_hash=fingerprint,
            channel=channel,
            operator_code=line.operator_code,
            plan_code=line.plan_code,
            package_code=package.terms.code,
            quote_id=request.quote_id,
            state="credited",
            payment_method=request.payment_method,
            payment_state="captured",
            payment_ref=None,
            **price.amounts(),
            promotions=list(price.promotions),
            valid_until_before=line.valid_until,
            valid_until_after=price.new_valid_until,
            balance_after_fils=None,
            receipt_no=new_receipt_no(),
            created_at=now,
            credited_at=now,
        )
        _apply_credit(session, line, renewal, price, before, now)
        insert_now(session, renewal)
        operator = catalog.operators[line.operator_code]
        issue_receipt(session, line, renewal, package_name=package.name, operator=operator, now=now)
        language = context.language
        queue_sms(
            session,
            msisdn=line.msisdn,
            template="renewal_confirmation",
            language=language,
            params={
                "operator": operator.display_name(language),
                "msisdn": line.msisdn,
                "credit": format_fils(
                    renewal.credit_fils + renewal.bonus_fils, language, latin_digits=True
                ),
                "balance": format_fils(line.balance_fils, language, latin_digits=True),
                "valid_until": to_kuwait(line.valid_until).strftime("%Y-%m-%d %H:%M"),
                "receipt_no": renewal.receipt_no,
            },
            now=now,
            lane="priority",
        )
        cancel_expiry_notices(session, line.msisdn)
        lines_repository.save_line(session, line)
        body = renewal_view(renewal)
        uow.commit()
        return RenewalOutcome(body, replayed=False)


def _apply_credit(
    session: Session, line: Line, renewal: Renewal, price: Price, before: LineState, now: datetime
) -> None:
    expire_bonus_if_due(session, line, now)
    post(
        session,
        line,
        bucket="paid",
        kind="renewal_credit",
        amount_fils=price.credit_fils,
        now=now,
        renewal_id=renewal.id,
    )
    if price.bonus_fils:
        line.bonus_expires_at = merge_bonus_expiry(
            line.bonus_expires_at, line.bonus_fils, price.bonus_expires_at
        )
        post(
            session,
            line,
            bucket="bonus",
            kind="promotion_bonus",
            amount_fils=price.bonus_fils,
            now=now,
            renewal_id=renewal.id,
        )
    for code in price.promotions:
        insert_now(
            session,
            PromotionUse(
                id=new_id(),
                msisdn=line.msisdn,
                operator_code=line.operator_code,
                promotion_code=code,
                renewal_id=renewal.id,
                at=now,
            ),
        )
    line.valid_until = price.new_valid_until
    line.state = LineState.ACTIVE.value
    line.state_since = now if before is not LineState.ACTIVE else line.state_since
    line.version += 1
    renewal.balance_after_fils = line.balance_fils
    lines_repository.add_history(
        session,
        LineHistory(
            id=new_id(),
            msisdn=line.msisdn,
            at=now,
            event="renewal",
            from_state=before.value,
            to_state=LineState.ACTIVE.value,
            renewal_id=renewal.id,
            details={
                "package": renewal.package_code,
                "credit_fils": renewal.credit_fils,
                "bonus_fils": renewal.bonus_fils,
                "receipt_no": renewal.receipt_no,
                "channel": renewal.channel,
            },
        ),
    )


def renewal_view(renewal: Renewal) -> dict[str, Any]:
    """A renewal as the API shows it (the same body for the first answer and every replay)."""
    return {
        "renewal_id": renewal.id,
        "receipt_no": renewal.receipt_no,
        "state": renewal.state,
        "msisdn": renewal.msisdn,
        "operator": renewal.operator_code,
        "package_code": renewal.package_code,
        "channel": renewal.channel,
        "price_fils": renewal.price_fils,
        "discount_fils": renewal.discount_fils,
        "bonus_fils": renewal.bonus_fils,
        "fee_fils": renewal.fee_fils,
        "total_fils": renewal.total_fils,
        "credit_fils": renewal.credit_fils,
        "balance_fils": renewal.balance_after_fils,
        "valid_until": to_kuwait(renewal.valid_until_after).isoformat(),
        "promotions": list(renewal.promotions),
        "payment": {
            "method": renewal.payment_method,
            "state": renewal.payment_state,
            "gateway": None,
        },
        "created_at": to_kuwait(renewal.created_at).isoformat(),
    }


def ensure_may_read(caller: Caller) -> None:
    """Refuse a caller that may not read any line (NotAllowed)."""
    if not may_read_any_line(caller):
        raise NotAllowed()


def get_renewal(uow: UnitOfWork, caller: Caller, renewal_id: str) -> dict[str, Any]:
    """One renewal and its payment state."""
    ensure_may_read(caller)
    with uow:
        renewal = repository.get_renewal(uow.session, renewal_id)
        if renewal is None:
            raise UnknownRenewal()
        return renewal_view(renewal)
