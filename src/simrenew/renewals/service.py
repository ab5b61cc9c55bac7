"""Renewal use cases: quote a package, credit a renewal exactly once, show renewals and receipts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import CatalogSnapshot, PackageOffer, PlanTerms, catalog_for
from simrenew.clock import Clock, to_kuwait
from simrenew.db.base import insert_now
from simrenew.db.session import UnitOfWork, retrying
from simrenew.errors import (
    IdempotencyKeyReused,
    LineRecycled,
    LineSuspended,
    NotAllowed,
    PackageNotAvailable,
    PaymentMethodNotAvailable,
    QuoteExpired,
    UnknownLine,
    UnknownRenewal,
    ValidationFailed,
)
from simrenew.ids import new_id, new_receipt_no
from simrenew.lines import repository as lines_repository
from simrenew.lines.models import Line, LineHistory
from simrenew.lines.rules import LineState, transitions_between
from simrenew.lines.service import current_state, plan_for, read_line
from simrenew.money import format_fils
from simrenew.notify.service import queue_sms
from simrenew.renewals import repository
from simrenew.renewals.ledger import expire_bonus_if_due, post
from simrenew.renewals.models import PromotionUse, Quote, Renewal
from simrenew.renewals.receipts import issue_receipt
from simrenew.renewals.rules import (
    FeeRule,
    Price,
    merge_bonus_expiry,
    price_renewal,
    promotion_applies,
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


def _ensure_renewable(state: LineState) -> None:
    if state is LineState.RECYCLED:
        raise LineRecycled()
    if state is LineState.SUSPENDED:
        raise LineSuspended()


def _channel_for(caller: Caller, requested: str | None) -> str:
    if requested is not None and requested != caller.channel:
        raise ValidationFailed(
            f"channel: this credential acts for the {caller.channel} channel, not {requested}."
        )
    return caller.channel


def _package_for(catalog: CatalogSnapshot, line: Line, code: str) -> PackageOffer:
    package = catalog.packages.get((line.operator_code, line.plan_code, code))
    if package is None:
        raise PackageNotAvailable(f"Package {code!r} is not offered on this line's plan.")
    return package


def _fee_rule_for(catalog: CatalogSnapshot, method: str | None, channel: str) -> FeeRule | None:
    if method is None:
        return None
    terms = catalog.payment_methods.get(method)
    if terms is None or channel not in terms.channels:
        raise PaymentMethodNotAvailable(f"Payment method {method!r} is not accepted on {channel}.")
    return terms.fee


def _price(
    session: Session,
    catalog: CatalogSnapshot,
    line: Line,
    plan: PlanTerms,
    package: PackageOffer,
    *,
    channel: str,
    method: str | None,
    now: datetime,
) -> Price:
    operator = catalog.operators[line.operator_code]
    # Counting a line's promotion uses costs a query: only when a limit could matter.
    limited = any(
        p.per_line_limit is not None
        and promotion_applies(
            p,
            package_code=package.terms.code,
            plan_code=plan.code,
            channel=channel,
            now=now,
            uses=0,
        )
        for p in operator.promotions
    )
    return price_renewal(
        package.terms,
        plan_code=plan.code,
        channel=channel,
        channel_discount_percent=operator.channel_discounts.get(channel, Decimal(0)),
        promotions=operator.promotions,
        promotion_uses=repository.count_promotion_uses(session, line.msisdn) if limited else {},
        fee_rule=_fee_rule_for(catalog, method, channel),
        valid_until=line.valid_until,
        max_validity_days=plan.max_validity_days,
        now=now,
    )


def quote_renewal(
    uow: UnitOfWork,
    caller: Caller,
    *,
    msisdn: str,
    package_code: str,
    channel: str | None = None,
    payment_method: str | None = None,
    clock: Clock,
    ttl_seconds: int = 900,
    language: str = "en",
) -> dict[str, Any]:
    """Price a package for a line on the caller's channel, honoured until the quote expires."""
    if not may_renew_any_line(caller):
        raise NotAllowed()
    channel = _channel_for(caller, channel)
    now = clock.now()
    with uow:
        session = uow.session
        context, catalog = read_line(session, msisdn, lock=False)
        line = context.line
        plan = plan_for(catalog, line)
        _ensure_renewable(current_state(line, plan, now))
        package = _package_for(catalog, line, package_code)
        price = _price(
            session, catalog, line, plan, package, channel=channel, method=payment_method, now=now
        )
        quote = Quote(
            id=new_id(),
            msisdn=msisdn,
            package_code=package.terms.code,
            channel=channel,
            payment_method=payment_method,
            price_fils=price.price_fils,
            discount_fils=price.discount_fils,
            bonus_fils=price.bonus_fils,
            fee_fils=price.fee_fils,
            total_fils=price.total_fils,
            credit_fils=price.credit_fils,
            new_valid_until=price.new_valid_until,
            bonus_expires_at=price.bonus_expires_at,
            promotions=list(price.promotions),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        session.add(quote)
        uow.commit()
        return {
            "quote_id": quote.id,
            "msisdn": msisdn,
            "package_code": package.terms.code,
            "channel": channel,
            "payment_method": payment_method,
            "price_fils": price.price_fils,
            "discount_fils": price.discount_fils,
            "bonus_fils": price.bonus_fils,
            "fee_fils": price.fee_fils,
            "total_fils": price.total_fils,
            "total_display": format_fils(price.total_fils, language),
            "credit_fils": price.credit_fils,
            "new_valid_until": to_kuwait(price.new_valid_until),
            "bonus_expires_at": to_kuwait(price.bonus_expires_at)
            if price.bonus_expires_at
            else None,
            "promotions": list(price.promotions),
            "expires_at": to_kuwait(quote.expires_at),
        }


def _quoted_price(
    session: Session,
    quote_id: str,
    request: RenewalRequest,
    channel: str,
    now: datetime,
    fresh: Price,
) -> Price:
    """The amounts a valid quote promised (validity is always recomputed from the line now)."""
    quote = repository.get_quote(session, quote_id)
    if (
        quote is None
        or quote.msisdn != request.msisdn
        or quote.package_code != request.package_code
        or quote.channel != channel
        or (quote.payment_method is not None and quote.payment_method != request.payment_method)
    ):
        raise QuoteExpired("The quote does not match this line, package, channel and method.")
    if now >= quote.expires_at:
        raise QuoteExpired()
    return Price(
        price_fils=quote.price_fils,
        discount_fils=quote.discount_fils,
        bonus_fils=quote.bonus_fils,
        fee_fils=quote.fee_fils,
        total_fils=quote.total_fils,
        credit_fils=quote.credit_fils,
        new_valid_until=fresh.new_valid_until,
        bonus_expires_at=quote.bonus_expires_at,
        promotions=tuple(quote.promotions),
    )


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
    channel = _channel_for(caller, request.channel)
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
        _ensure_renewable(state)
        package = _package_for(catalog, line, request.package_code)
        price = _price(
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
            price = _quoted_price(session, request.quote_id, request, channel, now, price)
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
            price_fils=price.price_fils,
            discount_fils=price.discount_fils,
            bonus_fils=price.bonus_fils,
            fee_fils=price.fee_fils,
            total_fils=price.total_fils,
            credit_fils=price.credit_fils,
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
