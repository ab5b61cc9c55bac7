"""Quotes: a priced offer for one line and package, honoured until it expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from simrenew.clock import Clock, to_kuwait
from simrenew.db.session import UnitOfWork
from simrenew.errors import (
    NotAllowed,
    QuoteExpired,
)
from simrenew.ids import new_id
from simrenew.lines.rules import LineState
from simrenew.lines.service import current_state, plan_for, read_line
from simrenew.money import format_fils
from simrenew.renewals import repository
from simrenew.renewals.models import Quote
from simrenew.renewals.pricing import channel_for, ensure_renewable, package_for, price_for
from simrenew.renewals.rules import (
    Price,
)
from simrenew.staff.rules import Caller, may_renew_any_line


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
    reactivation: bool = False,
    line_checked: bool = False,
) -> dict[str, Any]:
    """Price a package for a line on the caller's channel, honoured until the quote expires.

    `reactivation` prices the renewal that restores a suspended line (its holder's identity is
    checked when it is paid for); `line_checked`: the caller's room allowed this caller this line.
    """
    if not (line_checked or may_renew_any_line(caller)):
        raise NotAllowed()
    channel = channel_for(caller, channel)
    now = clock.now()
    with uow:
        session = uow.session
        context, catalog = read_line(session, msisdn, lock=False)
        line = context.line
        plan = plan_for(catalog, line)
        state = current_state(line, plan, now)
        if not (reactivation and state is LineState.SUSPENDED):
            ensure_renewable(state)
        package = package_for(catalog, line, package_code)
        price = price_for(
            session, catalog, line, plan, package, channel=channel, method=payment_method, now=now
        )
        quote = Quote(
            id=new_id(),
            msisdn=msisdn,
            package_code=package.terms.code,
            channel=channel,
            payment_method=payment_method,
            **price.amounts(),
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
            **price.amounts(),
            "total_display": format_fils(price.total_fils, language),
            "new_valid_until": to_kuwait(price.new_valid_until),
            "bonus_expires_at": to_kuwait(price.bonus_expires_at)
            if price.bonus_expires_at
            else None,
            "promotions": list(price.promotions),
            "expires_at": to_kuwait(quote.expires_at),
            "reactivation_required": state is LineState.SUSPENDED,
        }


def quoted_price(
    session: Session,
    quote_id: str,
    *,
    msisdn: str,
    package_code: str,
    payment_method: str,
    channel: str,
    now: datetime,
    fresh: Price,
) -> Price:
    """The amounts a valid quote promised (validity is always recomputed from the line now)."""
    quote = repository.get_quote(session, quote_id)
    if (
        quote is None
        or quote.msisdn != msisdn
        or quote.package_code != package_code
        or quote.channel != channel
        or (quote.payment_method is not None and quote.payment_method != payment_method)
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
