"""Pricing a renewal from the cached catalog: checks shared by quotes and credits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from simrenew.catalog.snapshot import CatalogSnapshot, PackageOffer, PlanTerms
from simrenew.errors import (
    LineRecycled,
    LineSuspended,
    PackageNotAvailable,
    PaymentMethodNotAvailable,
    ValidationFailed,
)
from simrenew.lines.models import Line
from simrenew.lines.rules import LineState
from simrenew.renewals import repository
from simrenew.renewals.rules import (
    FeeRule,
    Price,
    price_renewal,
    promotion_applies,
)
from simrenew.staff.rules import Caller


def ensure_renewable(state: LineState) -> None:
    """Refuse a recycled or suspended line with its stable error."""
    if state is LineState.RECYCLED:
        raise LineRecycled()
    if state is LineState.SUSPENDED:
        raise LineSuspended()


def channel_for(caller: Caller, requested: str | None) -> str:
    """The caller's channel; a request naming another one is refused."""
    if requested is not None and requested != caller.channel:
        raise ValidationFailed(
            f"channel: this credential acts for the {caller.channel} channel, not {requested}."
        )
    return caller.channel


def package_for(catalog: CatalogSnapshot, line: Line, code: str) -> PackageOffer:
    """A package on sale on the line's plan (PackageNotAvailable otherwise)."""
    package = catalog.packages.get((line.operator_code, line.plan_code, code))
    if package is None:
        raise PackageNotAvailable(f"Package {code!r} is not offered on this line's plan.")
    return package


def fee_rule_for(catalog: CatalogSnapshot, method: str | None, channel: str) -> FeeRule | None:
    """The fee rule of a payment method accepted on the channel (None: no method given)."""
    if method is None:
        return None
    terms = catalog.payment_methods.get(method)
    if terms is None or channel not in terms.channels:
        raise PaymentMethodNotAvailable(f"Payment method {method!r} is not accepted on {channel}.")
    return terms.fee


def price_for(
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
    """Price a package for a line from the cached catalog at `now`."""
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
        fee_rule=fee_rule_for(catalog, method, channel),
        valid_until=line.valid_until,
        max_validity_days=plan.max_validity_days,
        now=now,
    )
